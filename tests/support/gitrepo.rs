//! Harness for catalogues in real git repositories: a bare remote holding the demo catalogue,
//! clones of it, the `git` CLI with an isolated configuration, and `berth` run as a process
//! (so that it can be paused, raced and killed).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `git` in `dir` with a fixed identity and no user/system configuration; panics with stderr
/// on failure. Returns trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let o = git_output(dir, args);
    assert!(
        o.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `git` without asserting success.
pub fn git_output(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
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
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git is installed (apt-get install -y git)")
}

fn berth_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.args(args)
        .current_dir(dir)
        .env("BERTH_NOW", "2026-11-26T12:00:00Z")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("BERTH_GIT_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("BERTH_LOCK_TIMEOUT")
        .env_remove("BERTH_TEST_PAUSE_BEFORE_RENAME_MS");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Run `berth` in `dir` to completion.
pub fn berth(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    berth_command(dir, args, env).output().unwrap()
}

/// Start `berth` in `dir` without waiting (stdout and stderr piped).
pub fn spawn_berth(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    berth_command(dir, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// stdout and stderr together.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

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

/// Replace the first `from` in the file at `path` with `to` (which must be there).
pub fn edit(path: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, s.replacen(from, to, 1)).unwrap();
}

pub fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

/// A bare `remote.git` under `tmp` holding the demo catalogue as one commit by `dev`, and a
/// clone `work` of it on `main`. Nothing applied yet.
pub fn demo_remote(tmp: &Path) -> (PathBuf, PathBuf) {
    let remote = tmp.join("remote.git");
    git(tmp, &["init", "-q", "--bare", "-b", "main", "remote.git"]);
    git(tmp, &["clone", "-q", remote.to_str().unwrap(), "work"]);
    let work = tmp.join("work");
    git(&work, &["checkout", "-q", "-b", "main"]);
    copy_dir(&demo_dir(), &work);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "catalogue"]);
    git(&work, &["push", "-q", "-u", "origin", "main"]);
    (remote, work)
}

/// [`demo_remote`], then `berth apply --commit --push` once (berth's first commit).
pub fn demo_applied(tmp: &Path) -> (PathBuf, PathBuf) {
    let (remote, work) = demo_remote(tmp);
    let o = berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit", "--push"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    (remote, work)
}

pub fn clone(tmp: &Path, remote: &Path, name: &str) -> PathBuf {
    git(tmp, &["clone", "-q", remote.to_str().unwrap(), name]);
    tmp.join(name)
}

/// The parsed index.json in `dir`.
pub fn index(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap()
}

/// Write `v` as index.json in `dir` (pretty, trailing newline, like berth).
pub fn write_index(dir: &Path, v: &serde_json::Value) {
    let mut s = serde_json::to_string_pretty(v).unwrap();
    s.push('\n');
    std::fs::write(dir.join("index.json"), s).unwrap();
}

/// Version entry `v` of image `code` in an index.
pub fn version<'a>(idx: &'a serde_json::Value, code: &str, v: &str) -> &'a serde_json::Value {
    idx["images"][code]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["version"] == v)
        .unwrap_or_else(|| panic!("{code}@{v} not in the index"))
}

/// Names in `dir` starting with berth's temp-file prefix.
pub fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".berth-tmp-"))
        .collect()
}

/// Wait until `cond` holds (panics after `limit`).
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The value of berth's trailer in the message of `rev`.
pub fn trailer(dir: &Path, rev: &str) -> String {
    git(
        dir,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Berth-Index-Sha256,valueonly)",
            rev,
        ],
    )
}

/// Hex sha256 of a file.
pub fn sha256_file(path: &Path) -> String {
    super::sha256(&std::fs::read(path).unwrap())
        .trim_start_matches("sha256:")
        .to_string()
}
