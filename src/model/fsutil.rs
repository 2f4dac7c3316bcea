//! The one atomic file write of berth (index.json, listings edited by `berth mark`).
//!
//! Input: a path and the bytes it must hold. Output: the file replaced through a temporary
//! file in the same directory (write, fsync, rename), so a reader or a crash never sees a
//! half-written file. Invariants: the file keeps the mode of the file it replaces (or gets
//! 0644: index.json is read by pipelines, temp files are created 0600); a symlink is written
//! through to its target, not replaced; unchanged bytes are not rewritten (the mtime stays).
//!
//! Also here: [`FileLock`], the advisory lock that lets one `apply` at a time work on a
//! working copy, and [`remove_leftovers`], which removes the temporary files of a killed run.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    let (target, mut tmp) = temp_beside(path)?;
    tmp.write_all(bytes)?;
    replace_with(tmp, &target)?;
    Ok(true)
}

/// The file `path` names (through a symlink, so the link stays and its target is replaced)
/// and a new temporary file in the same directory (created if missing), so the final rename
/// never crosses file systems.
fn temp_beside(path: &Path) -> std::io::Result<(PathBuf, tempfile::NamedTempFile)> {
    let target = match std::fs::canonicalize(path) {
        Ok(t) => t,
        Err(_) => path.to_path_buf(),
    };
    let dir: PathBuf = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(&dir)?;
    Ok((target, tmp))
}

/// Give the written temporary file the permissions of the file it replaces (or the default
/// ones), flush it to disk and rename it over `target`.
fn replace_with(tmp: tempfile::NamedTempFile, target: &Path) -> std::io::Result<()> {
    let perms = match std::fs::metadata(target) {
        Ok(m) => m.permissions(),
        Err(_) => default_permissions(),
    };
    tmp.as_file().set_permissions(perms)?;
    tmp.as_file().sync_all()?;
    test_pause();
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

/// [`write_atomic`] for content too large to hold twice: `write` streams it into the temporary
/// file. Returns `Ok(false)` (and leaves `path` untouched) when the file already held exactly
/// these bytes, found by comparing the two files chunk by chunk.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<bool> {
    let (target, tmp) = temp_beside(path)?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file());
        write(&mut w)?;
        w.flush()?;
    }
    if same_content(tmp.path(), &target)? {
        return Ok(false);
    }
    replace_with(tmp, &target)?;
    Ok(true)
}

/// Do the files `a` and `b` hold the same bytes? (`false` when `b` does not exist.)
fn same_content(a: &Path, b: &Path) -> std::io::Result<bool> {
    let mut fb = match std::fs::File::open(b) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut fa = std::fs::File::open(a)?;
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(fb.read(&mut bb[..1])? == 0);
        }
        if fb.read_exact(&mut bb[..n]).is_err() || ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
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

/// Test hook: milliseconds to sleep between writing a temporary file and renaming it over its
/// target, so that tests can kill berth mid-write or hold its lock. Never set in production.
pub const TEST_PAUSE_ENV: &str = "BERTH_TEST_PAUSE_BEFORE_RENAME_MS";

fn test_pause() {
    if let Some(ms) = std::env::var(TEST_PAUSE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Remove berth's temporary files ([`TEMP_PREFIX`]) left in `dir` by a killed run. Call it only
/// while holding the working copy's [`FileLock`], so no live write is removed. Returns how many.
pub fn remove_leftovers(dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for e in entries {
        let e = e?;
        if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) && e.file_type()?.is_file() {
            std::fs::remove_file(e.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// An exclusive advisory lock on a file (`flock`/`LockFileEx` through std), released when
/// dropped or when the process dies — a killed holder never leaves a stale lock. The holder
/// writes a line about itself into the file so that a waiter can name it.
#[derive(Debug)]
pub struct FileLock {
    file: std::fs::File,
    path: PathBuf,
}

/// Why [`FileLock::acquire`] failed.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "another berth run holds the lock {path} ({holder}); gave up after waiting {waited_s} s"
    )]
    Timeout {
        path: PathBuf,
        holder: String,
        waited_s: u64,
    },
}

impl FileLock {
    /// Take the lock at `path` (created if missing), waiting up to `timeout` for its holder to
    /// finish; `holder` describes this process to later waiters.
    // std's file locks are stable since 1.89; `rust-version` still says 1.85, though the
    // let-chains used across the crate already need 1.88.
    pub fn acquire(path: &Path, timeout: Duration, holder: &str) -> Result<FileLock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
        };
        let mut file = open().map_err(io)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                // The holder removes the file when it is done: a lock on a file that is no
                // longer at `path` locks nothing; open the new one and try again.
                Ok(()) if !same_file(&file, path) => {
                    file = open().map_err(io)?;
                }
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if start.elapsed() >= timeout {
                        let mut who = String::new();
                        let _ = file.rewind();
                        let _ = (&file).read_to_string(&mut who);
                        let who = who.trim();
                        return Err(LockError::Timeout {
                            path: path.to_path_buf(),
                            holder: if who.is_empty() {
                                "holder unknown".to_string()
                            } else {
                                format!("held by {who}")
                            },
                            waited_s: timeout.as_secs(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50).min(timeout));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(format!("{holder}\n").as_bytes())
            .map_err(io)?;
        file.flush().map_err(io)?;
        Ok(FileLock {
            file,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Removed while still held (waiters then find it gone and reopen), so nothing is
        // left behind; where an open file cannot be removed it is only emptied.
        #[cfg(unix)]
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Is the open `file` the one at `path` now?
#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &std::fs::File, _path: &Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_times_out_naming_the_holder_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.lock");
        let first = FileLock::acquire(&p, Duration::ZERO, "pid 1 (test)").unwrap();
        let t = Instant::now();
        let err = FileLock::acquire(&p, Duration::from_millis(300), "pid 2").unwrap_err();
        assert!(t.elapsed() >= Duration::from_millis(300));
        assert!(err.to_string().contains("held by pid 1 (test)"), "{err}");
        drop(first);
        assert!(!p.exists(), "the lock file is removed on release");
        let again = FileLock::acquire(&p, Duration::ZERO, "pid 2").unwrap();
        assert_eq!(again.path(), p);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "pid 2\n");
    }

    #[test]
    fn leftovers_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("{TEMP_PREFIX}abc")), "x").unwrap();
        std::fs::write(dir.path().join("index.json"), "x").unwrap();
        assert_eq!(remove_leftovers(dir.path()).unwrap(), 1);
        assert_eq!(remove_leftovers(dir.path()).unwrap(), 0);
        assert!(dir.path().join("index.json").exists());
    }
}
