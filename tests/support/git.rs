//! Git fixtures shared by the git, gitops and apply tests: the `git` CLI with an isolated
//! configuration, clones of real bare remotes, and copies of the fixture catalogues. Nothing
//! is mocked: remotes are bare repositories on disk.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const GIT_HINT: &str = "the `git` CLI is required by these tests: apt-get install git";

/// Run `git` in `dir` with an isolated configuration (no global or system config, identity
/// `Fixture <fixture@example.com>`, default branch `main`, no signing); panics with stderr on
/// failure. Returns stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Fixture",
            "-c",
            "user.email=fixture@example.com",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run git ({e}); {GIT_HINT}"));
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Clone the bare repository `bare` into `parent/name`; returns the clone's path.
pub fn clone(bare: &Path, parent: &Path, name: &str) -> PathBuf {
    git(parent, &["clone", "-q", bare.to_str().unwrap(), name]);
    parent.join(name)
}

/// Write `content` to `path`, creating its parent directories.
pub fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Copy the directory tree `from` to `to` (files and directories only).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// `fixtures/NAME` in the source tree.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A copy of fixtures/demo in a temp dir: (temp dir, catalogue root `TMP/demo`).
pub fn demo_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path().join("demo");
    copy_dir(&fixture("demo"), &cat);
    (tmp, cat)
}
