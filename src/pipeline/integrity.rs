//! The integrity of the state of record, as validate, plan and apply see it.
//!
//! - [`check_start`]: is the index a run starts from the one berth wrote? The index at `HEAD`
//!   must be vouched for by berth's commit trailer ([`crate::gitops::history`]), and the work
//!   tree's index must equal it or be bytes berth itself wrote there (`apply` without
//!   `--commit`, `promote`). Where no berth commit exists yet (first adoption, a fixture, no
//!   git) the index is checked for content only and a warning says so.
//! - [`check_against_base`]: `plan --base REV` — the work tree's index must be the one at
//!   `REV`: a change never edits the generated file.
//! - [`lock`]: one apply at a time per working copy, through a lock file in the git dir (or
//!   the catalogue directory outside git), never a tracked file; taking it also ignores
//!   berth's temporary files in `git status` (`info/exclude`).
//!
//! Output: diagnostics (E0502 edited, E0503 unchecked) or, for the lock, an error that exits 2.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::gitops::history::{self, Provenance};
use crate::model::diag::{Code, Diagnostic, Diagnostics, rel};
use crate::model::fsutil::{FileLock, TEMP_PREFIX};
use crate::model::span::Pos;

/// Default time a second apply waits for the lock.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The lock timeout from `BERTH_LOCK_TIMEOUT` (seconds), else [`DEFAULT_LOCK_TIMEOUT`]; `apply`
/// also takes it as `--lock-timeout`.
pub fn lock_timeout_from_env() -> Duration {
    std::env::var("BERTH_LOCK_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_LOCK_TIMEOUT)
}

/// Absolute form of a path given relative to the current directory.
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn shown(root: &Path, index: &Path) -> String {
    crate::model::diag::display_path(&rel(root, index))
}

fn unchecked(root: &Path, index: &Path) -> Diagnostic {
    let name = shown(root, index);
    Diagnostic::warning(
        Code::IndexUnchecked,
        &name,
        Pos::UNKNOWN,
        format!(
            "{name} is checked for content only: the edit check starts with berth's first commit of it"
        ),
    )
    .with_hint(
        "berth's commits carry a `Berth-Index-Sha256` trailer; a shallow clone may not reach them (actions/checkout: `fetch-depth: 0`)",
    )
}

fn edited(root: &Path, index: &Path, message: String, hint: String) -> Diagnostic {
    Diagnostic::error(Code::IndexEdited, shown(root, index), Pos::UNKNOWN, message).with_hint(hint)
}

/// Check the index a run starts from: the committed one by berth's trailer, the work tree's
/// against it. `working` is the work tree's index text (`None`: no file).
pub fn check_start(
    catalogue: &Path,
    root: &Path,
    index: &Path,
    working: Option<&str>,
) -> Diagnostics {
    let mut d = Diagnostics::new();
    let abs = absolute(index);
    let name = shown(root, index);
    let provenance = match history::head_provenance(catalogue, &abs) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!("cannot read the index's history: {e}");
            Provenance::NoHistory
        }
    };
    let berth_wrote =
        |text: &str| history::written_by_berth(catalogue, &abs, text.as_bytes()).unwrap_or(false);
    match provenance {
        Provenance::NoHistory | Provenance::NoBerthCommit { .. } => {
            if let Some(text) = working
                && !berth_wrote(text)
            {
                d.push(unchecked(root, index));
            }
            return d;
        }
        Provenance::Edited {
            last,
            berth,
            deleted,
        } => {
            let what = if deleted { "deleted" } else { "changed" };
            d.push(edited(
                root,
                index,
                format!(
                    "{name} at HEAD was {what} by commit {} (\"{}\", {}) after berth last wrote it in {}: only berth writes the index",
                    last.short(),
                    last.subject,
                    last.author,
                    berth.short()
                ),
                format!(
                    "restore what berth wrote (`git checkout {} -- {name}`, then commit) or revert {}; recorded versions change only through listings (release, cancel, QA marks, delist)",
                    berth.short(),
                    last.short()
                ),
            ));
            return d;
        }
        Provenance::Berth { .. } => {}
    }
    let committed = crate::gitops::read_file_at(catalogue, "HEAD", &abs).unwrap_or(None);
    match (working, committed) {
        (Some(w), Some(c)) if w.as_bytes() == c.as_slice() => {}
        (Some(w), _) if berth_wrote(w) => {}
        (Some(_), _) => d.push(edited(
            root,
            index,
            format!("{name} has uncommitted changes that berth did not write"),
            format!("`git checkout -- {name}` restores the committed index; change listings instead and let `berth apply` write it"),
        )),
        (None, Some(_)) => d.push(edited(
            root,
            index,
            format!("{name} is missing from the work tree but committed at HEAD"),
            format!("`git checkout -- {name}` restores it"),
        )),
        (None, None) => {}
    }
    d
}

/// `plan --base REV`: the work tree's index must be the one committed at `rev`
/// (`base`: its text there, `None` when it did not exist).
pub fn check_against_base(
    root: &Path,
    index: &Path,
    working: Option<&[u8]>,
    base: Option<&str>,
    rev: &str,
) -> Diagnostics {
    let mut d = Diagnostics::new();
    let name = shown(root, index);
    let hint = format!(
        "the index is generated: restore it (`git checkout {rev} -- {name}`), change listings instead and let `berth apply` write it after the merge"
    );
    match (working, base) {
        (Some(w), Some(b)) if w == b.as_bytes() => {}
        (Some(_), Some(_)) => d.push(edited(
            root,
            index,
            format!("{name} is edited in this change: it differs from the index at {rev}"),
            hint,
        )),
        (None, Some(_)) => d.push(edited(
            root,
            index,
            format!("{name} is deleted in this change: it exists at {rev}"),
            hint,
        )),
        (Some(_), None) => d.push(unchecked(root, index)),
        (None, None) => {}
    }
    d
}

/// Record that berth wrote the bytes with hex sha256 `sha256` to `index`, so a later run
/// trusts the uncommitted file.
pub fn record_written(catalogue: &Path, index: &Path, sha256: &str) -> anyhow::Result<()> {
    history::record_written_sha256(catalogue, &absolute(index), sha256)?;
    Ok(())
}

/// Take the working copy's apply lock, waiting up to `timeout`. Exits 2 (an `Err`) when the
/// holder does not finish in time. In git, also adds berth's temporary files to
/// `info/exclude`, so a run killed mid-write leaves nothing `git status` shows.
pub fn lock(catalogue: &Path, timeout: Duration, what: &str) -> anyhow::Result<FileLock> {
    let git_dir = crate::gitops::history::git_dir(catalogue)?;
    let path = match &git_dir {
        Some(g) => g.join("berth.lock"),
        None => catalogue.join(".berth.lock"),
    };
    let holder = format!(
        "pid {} ({what}, since {})",
        std::process::id(),
        crate::model::time::format(&chrono::Utc::now())
    );
    let lock = FileLock::acquire(&path, timeout, &holder).map_err(|e| match e {
        crate::model::fsutil::LockError::Timeout { .. } => anyhow::anyhow!(
            "{e}: one apply at a time per working copy; try again when it has finished (or wait longer: --lock-timeout SECONDS, BERTH_LOCK_TIMEOUT)"
        ),
        other => other.into(),
    })?;
    if git_dir.is_some() {
        crate::gitops::history::ensure_excluded(catalogue, &format!("{TEMP_PREFIX}*"))?;
    }
    Ok(lock)
}

/// Remove the temporary files a killed run left next to the index (call under [`lock`]).
pub fn remove_leftovers(index: &Path) -> anyhow::Result<()> {
    let dir = match absolute(index).parent() {
        Some(d) => d.to_path_buf(),
        None => return Ok(()),
    };
    let n = crate::model::fsutil::remove_leftovers(&dir)?;
    if n > 0 {
        tracing::info!(removed = n, dir = %dir.display(), "removed temporary files of a killed run");
    }
    Ok(())
}
