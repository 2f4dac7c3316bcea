//! `berth resolve`: read the recorded index and resolve a selector against it.
//!
//! Input: catalogue directory (for the index path in berth.yaml), an optional index path, the
//! selector and the asking project. Output: the [`Resolved`] reference or why not. An index
//! berth did not write (an edit after berth's last commit) is refused, never resolved from.

use std::path::Path;

use crate::lifecycle::resolve::{ResolveError, Resolved, resolve as resolve_in};

/// Read the index and resolve `target`. `Err` when there is no readable index or the selector
/// is malformed (usage errors); `Ok(Err(_))` when the index has no such version.
pub fn resolve(
    catalogue: &Path,
    index: Option<&Path>,
    target: &str,
    project: Option<&str>,
) -> anyhow::Result<Result<Resolved, ResolveError>> {
    let (cat, _) = crate::catalogue::load::load(catalogue);
    let path = index
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cat.index_path());
    let Some((index, text)) = crate::index::read(&path)? else {
        anyhow::bail!("no index at {}; run `berth apply` first", path.display());
    };
    let checked = crate::pipeline::integrity::check_start(catalogue, &cat.root, &path, Some(&text));
    if let Some(d) = checked.iter().find(|d| d.is_error()) {
        anyhow::bail!("{d}");
    }
    match resolve_in(&index, target, project) {
        Err(ResolveError::Syntax(s)) => anyhow::bail!(ResolveError::Syntax(s)),
        other => Ok(other),
    }
}
