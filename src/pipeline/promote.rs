//! `berth promote SOURCE TARGET`: a manual promotion, copied by digest and recorded in the
//! index with `initiatedBy: manual`.
//!
//! Input: catalogue directory (for berth.yaml registries and credentials), index path, source
//! and target references. Output: what was done, and the index rewritten atomically with the
//! new record; nothing is written when the copy failed.

use std::path::{Path, PathBuf};

use crate::promote::{BadReference, Manual};

/// A manual promotion that was made and recorded.
#[derive(Debug)]
pub struct Recorded {
    pub manual: Manual,
    pub index_path: PathBuf,
}

/// Promote and record, the copy reported to `progress`. `Err` for usage or internal errors;
/// `Ok(Err(message))` when the registries refused (nothing recorded).
pub fn promote(
    catalogue: &Path,
    index: Option<&Path>,
    source: &str,
    target: &str,
    progress: &crate::model::progress::Handle,
) -> anyhow::Result<Result<Recorded, String>> {
    let (cat, _diags) = crate::catalogue::load::load(catalogue);
    let done = match crate::promote::manual(&cat, source, target, progress) {
        Ok(r) => r,
        Err(BadReference(m)) => return Err(anyhow::anyhow!(m)),
    };
    let manual = match done {
        Ok(m) => m,
        Err(m) => return Ok(Err(m)),
    };
    let index_path = index
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cat.index_path());
    // The index is written: the same lock as apply, so neither overwrites the other.
    let _lock = crate::pipeline::integrity::lock(
        catalogue,
        crate::pipeline::integrity::lock_timeout_from_env(),
        "berth promote",
    )?;
    let (mut idx, _) =
        crate::index::read(&index_path)?.unwrap_or_else(|| (crate::index::empty(), String::new()));
    idx.promotions.push(manual.record.clone());
    let wrote = crate::index::write::write_atomic(&index_path, &idx)?;
    // Written by berth, not yet committed: the next `apply --commit` commits it as berth's.
    crate::pipeline::integrity::record_written(catalogue, &index_path, &wrote.sha256)?;
    Ok(Ok(Recorded { manual, index_path }))
}
