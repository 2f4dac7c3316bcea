//! GitOps end to end with real repositories and a real bare remote: PR plan against the base
//! revision, merge, `apply --commit --push`, racing appliers, `resolve` on the result.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;

use support::{clone, copy_dir, fixture, git, text};

fn berth(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .current_dir(dir)
        .env("BERTH_NOW", "2026-11-26T12:00:00Z")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("BERTH_GIT_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap()
}

fn edit(path: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, s.replacen(from, to, 1)).unwrap();
}

/// A bare remote holding the demo catalogue (applied once), and a clone of it.
fn setup(tmp: &Path) -> (PathBuf, PathBuf) {
    let remote = tmp.join("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    git(&remote, &["init", "-q", "--bare", "-b", "main"]);
    let work = tmp.join("work");
    git(tmp, &["clone", "-q", remote.to_str().unwrap(), "work"]);
    git(&work, &["checkout", "-q", "-b", "main"]);
    copy_dir(&fixture("demo"), &work);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "catalogue"]);
    git(&work, &["push", "-q", "-u", "origin", "main"]);
    let o = berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit", "--push"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    (remote, work)
}

fn remote_index(remote: &Path) -> serde_json::Value {
    let s = git(remote, &["show", "main:index.json"]);
    serde_json::from_str(&s).unwrap()
}

fn version<'a>(idx: &'a serde_json::Value, code: &str, v: &str) -> Option<&'a serde_json::Value> {
    idx["images"][code]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["version"] == v)
}

#[test]
fn pr_plan_merge_apply_push_resolve() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, work) = setup(tmp.path());
    // The first apply committed exactly index.json, authored by berth, and pushed it.
    assert_eq!(
        git(&remote, &["log", "-1", "--format=%an <%ae>", "main"]),
        "berth <berth@localhost>"
    );
    assert_eq!(
        git(&remote, &["show", "--name-only", "--format=", "main"]),
        "index.json"
    );
    let subject = git(&remote, &["log", "-1", "--format=%s", "main"]);
    // Everything the commit changes: two new versions and a release.
    assert_eq!(
        subject,
        "berth: update index (ci-base@1.2.0, go-toolchain@1.0.0, python-lint@1.0.1 released)"
    );
    let head_before = git(&remote, &["rev-parse", "main"]);

    // A pull request upgrades node-build.
    git(&work, &["checkout", "-q", "-b", "upgrade"]);
    edit(
        &work.join("images/node-build.yaml"),
        "tag: \"22.11-2\"",
        "tag: \"22.12-1\"",
    );
    edit(
        &work.join("images/node-build.yaml"),
        "type: incompatible\n  stage: released",
        "type: fix\n  stage: testing",
    );
    git(&work, &["commit", "-q", "-am", "node-build 22.12"]);

    let o = berth(
        &work,
        &[
            "plan",
            "--offline",
            "--base",
            "origin/main",
            "--format",
            "markdown",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.contains("| `node-build` | 2.0.1 | new version 2.0.1 (fix) registry.acme.example/web/node-build:22.12-1 → testing |"), "{md}");
    assert!(md.contains("```diff"), "{md}");
    let o = berth(
        &work,
        &[
            "plan",
            "--offline",
            "--base",
            "origin/main",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["changed"], true);
    assert_eq!(plan["changes"][0]["code"], "node-build");
    assert_eq!(plan["changes"][0]["kind"], "new-version");

    // A PR that reuses a released number is caught in the plan.
    edit(
        &work.join("images/node-build.yaml"),
        "  notes:",
        "  version: 2.0.0\n  notes:",
    );
    let o = berth(&work, &["plan", "--offline", "--base", "origin/main"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.contains("error["))
            .collect::<Vec<_>>(),
        vec![
            "images/node-build.yaml:18:12: error[E0114]: release.version `2.0.0` does not match the computed version 2.0.1"
        ],
        "{}",
        text(&o)
    );
    git(&work, &["checkout", "-q", "--", "images/node-build.yaml"]);

    // Merge, then the merge job applies, commits and pushes.
    git(&work, &["checkout", "-q", "main"]);
    git(&work, &["merge", "-q", "--ff-only", "upgrade"]);
    git(&work, &["push", "-q", "origin", "main"]);
    let o = berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit", "--push"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let tip = git(&remote, &["rev-parse", "main"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).ends_with(&format!(
            "Wrote ./index.json.\nCommitted {short}: berth: update index (node-build@2.0.1)\nPushed {short} to origin/main (attempt 1).\n",
            short = &tip[..12]
        )),
        "{}",
        text(&o)
    );
    let idx = remote_index(&remote);
    assert_eq!(
        version(&idx, "node-build", "2.0.1").unwrap()["status"],
        "testing"
    );
    assert_eq!(
        git(&remote, &["log", "-1", "--format=%s", "main"]),
        "berth: update index (node-build@2.0.1)"
    );
    // History is linear on top of what was there: merge commit, then the index commit.
    assert_eq!(
        git(
            &remote,
            &["rev-list", "--count", &format!("{head_before}..main")]
        ),
        "2"
    );

    // Running again changes nothing and creates no commit.
    let tip = git(&remote, &["rev-parse", "main"]);
    let o = berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit", "--push"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).ends_with(&format!(
            "./index.json unchanged.\nNothing to commit.\nPushed {} to origin/main (attempt 1).\n",
            &tip[..12]
        )),
        "{}",
        text(&o)
    );
    assert_eq!(git(&remote, &["rev-parse", "main"]), tip);

    // Pipelines resolve from the pushed result.
    let fresh = clone(&remote, tmp.path(), "reader");
    let o = berth(
        &fresh,
        &["resolve", "node-build@latest", "--project", "web-debug"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "registry.acme.example/web/node-build:22.12-1\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "warning: node-build@2.0.1 was recorded without verification: not pinned by digest\n"
    );
    let o = berth(&fresh, &["resolve", "node-build@latest"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!(
            "{}\n",
            version(&idx, "node-build", "2.0.0").unwrap()["pull"]
                .as_str()
                .unwrap()
        )
    );
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

#[test]
fn racing_appliers_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, work) = setup(tmp.path());
    // Merge job 1 starts on a commit that changes python-lint...
    let a = clone(&remote, tmp.path(), "a");
    edit(
        &a.join("images/python-lint.yaml"),
        "tag: \"2026.10.2\"\nrelease:\n  type: fix\n  stage: released",
        "tag: \"2026.11.1\"\nrelease:\n  type: feature\n  stage: testing",
    );
    git(&a, &["commit", "-q", "-am", "python-lint 2026.11.1"]);
    git(&a, &["push", "-q", "origin", "main"]);
    // ...and merge job 2 on the next merge, which changes go-toolchain.
    let b = clone(&remote, tmp.path(), "b");
    edit(
        &b.join("images/go-toolchain.yaml"),
        "tag: \"1.23.3-1\"",
        "tag: \"1.23.4-1\"",
    );
    git(&b, &["commit", "-q", "-am", "go-toolchain 1.23.4"]);
    git(&b, &["push", "-q", "origin", "main"]);
    drop(work);

    // Job 1 finishes last but pushes first: rejected (the branch moved), regenerates, pushes.
    let o = berth(
        &a,
        &["apply", "--offline", "--skip-verify", "--commit", "--push"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let tip = git(&remote, &["rev-parse", "main"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.ends_with(&format!(
            "Pushed {} to origin/main (attempt 2).\n",
            &tip[..12]
        )),
        "{}",
        text(&o)
    );
    assert_eq!(
        git(&remote, &["log", "-1", "--format=%s", "main"]),
        "berth: update index (go-toolchain@1.0.0 updated, python-lint@1.1.0)"
    );
    // Job 2: its branch moved too; after regenerating there is nothing left to add.
    let o = berth(
        &b,
        &["apply", "--offline", "--skip-verify", "--commit", "--push"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Same content on the same parent at the same time: the very commit job 1 pushed.
    assert_eq!(git(&remote, &["rev-parse", "main"]), tip);

    let idx = remote_index(&remote);
    assert_eq!(
        version(&idx, "python-lint", "1.1.0").unwrap()["status"],
        "testing"
    );
    assert_eq!(
        version(&idx, "go-toolchain", "1.0.0").unwrap()["reference"],
        "registry.acme.example/platform/go-toolchain:1.23.4-1"
    );
    // Both listing commits are in the history; no merge commits (nothing was forced or merged).
    let log = git(&remote, &["log", "--format=%s", "main"]);
    assert_eq!(
        log.lines().take(4).collect::<Vec<_>>(),
        vec![
            "berth: update index (go-toolchain@1.0.0 updated, python-lint@1.1.0)",
            "go-toolchain 1.23.4",
            "python-lint 2026.11.1",
            "berth: update index (ci-base@1.2.0, go-toolchain@1.0.0, python-lint@1.0.1 released)",
        ],
        "{log}"
    );
    assert_eq!(
        git(&remote, &["rev-list", "--merges", "--count", "main"]),
        "0"
    );
}

/// A catalogue whose repository cannot be opened (a malformed `.git` file) is a git error
/// (exit 2, the reason named), never taken for a catalogue outside git.
#[test]
fn a_broken_repository_is_a_git_error_not_no_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    copy_dir(&fixture("demo"), &work);
    std::fs::write(work.join(".git"), "garbage\n").unwrap();
    let o = berth(&work, &["apply", "--offline", "--skip-verify", "--commit"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "error: git open failed: the `.git` file at '{}' is malformed\n",
            work.join(".git").display()
        )
    );
}
