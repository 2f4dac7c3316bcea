//! The one atomic file write of berth (index.json, listings edited by `berth mark`).
//!
//! Input: a path and the bytes it must hold. Output: the file replaced through a temporary
//! file in the same directory (write, fsync, rename), so a reader or a crash never sees a
//! half-written file. Invariants: the file keeps the mode of the file it replaces (or gets
//! 0644: index.json is read by pipelines, temp files are created 0600); a symlink is written
//! through to its target, not replaced; unchanged bytes are not rewritten (the mtime stays).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefix of berth's temporary files, so a later run can recognise and remove leftovers of a
/// killed one.
pub const TEMP_PREFIX: &str = ".berth-tmp-";

/// Write `bytes` to `path` atomically. Returns `Ok(false)` when the file already held them.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if let Ok(existing) = std::fs::read(path)
        && existing == bytes
    {
        return Ok(false);
    }
    let target = match std::fs::canonicalize(path) {
        Ok(t) => t,
        Err(_) => path.to_path_buf(),
    };
    let dir: PathBuf = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    let perms = match std::fs::metadata(&target) {
        Ok(m) => m.permissions(),
        Err(_) => default_permissions(),
    };
    tmp.as_file().set_permissions(perms)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(true)
}

#[cfg(unix)]
fn default_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

#[cfg(not(unix))]
fn default_permissions() -> std::fs::Permissions {
    tempfile::tempfile()
        .and_then(|f| f.metadata())
        .map(|m| m.permissions())
        .expect("temp file")
}
