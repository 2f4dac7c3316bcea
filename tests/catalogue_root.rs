//! "A catalogue is a directory with `berth.yaml` or `images/`. Anything else is refused by every
//! command (exit 2, `not a berth catalogue: …`), so a mistyped path never passes CI."
//!
//! - CLI snapshots (trycmd, `tests/cmd/catalogue/*.trycmd`, each run in a sandbox copied from
//!   its `.in/`): a path that does not exist, an empty directory, a directory with only a
//!   README, and a file; every command that takes `--catalogue` prints the exact message and
//!   exits 2. Regenerate with `TRYCMD=overwrite cargo test --test catalogue_root`, then review.
//! - The same paths through the real binary with the directory tree compared before and
//!   after: nothing is written (apply used to write an index.json into any directory).
//! - `berth init` still starts from an empty directory, and what it creates is accepted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[test]
fn cli_snapshots() {
    trycmd::TestCases::new()
        .register_bin("berth", PathBuf::from(env!("CARGO_BIN_EXE_berth")))
        .case("tests/cmd/catalogue/*.trycmd");
}

/// Every file and directory below `dir` (symlinks not followed) with its content.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
        let content = e
            .file_type()
            .is_file()
            .then(|| std::fs::read(e.path()).unwrap());
        out.insert(rel, content);
    }
    out
}

fn berth(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .current_dir(cwd)
        .args(args)
        .env("BERTH_NOW", "2026-11-20T10:00:00Z")
        .env("HOME", cwd)
        .env_remove("BERTH_GIT_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap()
}

/// Every command that takes `--catalogue`, with arguments that would otherwise run.
const COMMANDS: &[&[&str]] = &[
    &["validate"],
    &["validate", "--format", "json"],
    &["plan", "--offline"],
    &["plan", "--offline", "--json-out", "plan.json"],
    &["apply", "--offline", "--skip-verify"],
    &["apply", "--offline", "--skip-verify", "--commit"],
    &["resolve", "app@latest"],
    &["mark", "app@1.0.0", "--delist"],
    &["mark", "app@1.0.0", "--qa-failed", "--reason", "broken"],
    &["promote", "127.0.0.1:1/a/app:1", "127.0.0.1:1/b/app:1"],
];

fn assert_refused(cwd: &Path, catalogue: &str, expected_message: &str) {
    let before = tree(cwd);
    for cmd in COMMANDS {
        let mut args = cmd.to_vec();
        args.extend(["--catalogue", catalogue]);
        let o = berth(cwd, &args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr, format!("error: {expected_message}\n"), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?} printed a report");
        assert_eq!(tree(cwd), before, "{args:?} wrote into {}", cwd.display());
    }
}

const EXPECTED: &str = "expected a directory with berth.yaml or images/";

#[test]
fn a_missing_directory_is_refused_and_not_created() {
    let tmp = tempfile::tempdir().unwrap();
    assert_refused(
        tmp.path(),
        "nope",
        &format!("not a berth catalogue: `nope` does not exist ({EXPECTED})"),
    );
    assert!(!tmp.path().join("nope").exists());
}

#[test]
fn an_empty_directory_is_refused_and_stays_empty() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("cat")).unwrap();
    assert_refused(
        tmp.path(),
        "cat",
        &format!(
            "not a berth catalogue: `cat` has neither berth.yaml nor images/ ({EXPECTED}; `berth init` creates one)"
        ),
    );
    assert_eq!(
        std::fs::read_dir(tmp.path().join("cat")).unwrap().count(),
        0
    );
}

#[test]
fn a_directory_of_other_files_is_refused_untouched() {
    // A mistyped path that lands on a real directory (`docs` instead of `catalogue`), even
    // one holding YAML and an index.json of its own.
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    std::fs::create_dir_all(docs.join("policies")).unwrap();
    std::fs::write(docs.join("README.md"), "# docs\n").unwrap();
    std::fs::write(docs.join("config.yaml"), "a: 1\n").unwrap();
    std::fs::write(docs.join("index.json"), "{\"not\": \"berth\"}\n").unwrap();
    assert_refused(
        tmp.path(),
        "docs",
        &format!(
            "not a berth catalogue: `docs` has neither berth.yaml nor images/ ({EXPECTED}; `berth init` creates one)"
        ),
    );
}

#[test]
fn a_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("berth.yaml"), "{}\n").unwrap();
    assert_refused(
        tmp.path(),
        "berth.yaml",
        &format!("not a berth catalogue: `berth.yaml` is not a directory ({EXPECTED})"),
    );
}

#[test]
fn either_berth_yaml_or_images_makes_a_catalogue() {
    let tmp = tempfile::tempdir().unwrap();
    let only_config = tmp.path().join("only-config");
    std::fs::create_dir_all(&only_config).unwrap();
    std::fs::write(only_config.join("berth.yaml"), "{}\n").unwrap();
    let only_images = tmp.path().join("only-images");
    std::fs::create_dir_all(only_images.join("images")).unwrap();
    for dir in ["only-config", "only-images"] {
        let o = berth(tmp.path(), &["validate", "--catalogue", dir]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "0 error(s), 0 warning(s)\n",
            "{dir}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.status.code(), Some(0), "{dir}");
    }
}

#[test]
fn init_starts_from_an_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("new")).unwrap();
    let o = berth(tmp.path(), &["init", "new"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = berth(tmp.path(), &["validate", "--catalogue", "new"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

/// `berth ci` (what the Action runs) refuses a path that is not a catalogue like every other
/// command: exit 2 with an `::error` annotation naming it, no output set, no plan written —
/// it used to plan an empty catalogue and pass ("no changes").
#[test]
fn ci_refuses_a_path_that_is_not_a_catalogue() {
    let tmp = tempfile::tempdir().unwrap();
    let runner = tmp.path().join("runner");
    std::fs::create_dir(&runner).unwrap();
    let outputs = runner.join("github-output");
    for (catalogue, why) in [
        ("missing", "`missing` does not exist"),
        ("runner", "`runner` has neither berth.yaml nor images/"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_berth"))
            .current_dir(tmp.path())
            .args(["ci", "--catalogue", catalogue])
            .env("RUNNER_TEMP", &runner)
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("HOME", tmp.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(2), "{catalogue}: {stdout}");
        assert!(
            stdout.starts_with(&format!(
                "::error title=berth::not a berth catalogue: {why}"
            )),
            "{catalogue}: {stdout}"
        );
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        let written: Vec<_> = std::fs::read_dir(&runner).unwrap().collect();
        assert!(written.is_empty(), "{catalogue}: {written:?}");
    }
}
