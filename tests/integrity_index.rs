//! index.json can be trusted: edit detection through berth's commit trailer, read validation
//! with JSON pointers, the apply lock, killed runs, complete commit messages and the commit
//! message template. Real repositories with a real bare remote; berth runs as a process.

mod support;

use std::path::Path;
use std::time::Duration;

use support::gitrepo::*;

const EDITED: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const CI_BASE_110: &str = "392c78e7d549f47c4dfc143cfef0ce429d4bd35a212f588443404adf5bca78e8";

fn apply_commit_push(dir: &Path) -> std::process::Output {
    berth(
        dir,
        &["apply", "--offline", "--skip-verify", "--commit", "--push"],
        &[],
    )
}

/// Re-point released ci-base 1.1.0 (digest, pull and the channels that pull it) to another
/// well-formed digest, the way a PR could.
fn repoint_ci_base(dir: &Path) {
    let text = std::fs::read_to_string(dir.join("index.json")).unwrap();
    assert!(text.contains(CI_BASE_110));
    std::fs::write(dir.join("index.json"), text.replace(CI_BASE_110, EDITED)).unwrap();
}

#[test]
fn every_berth_commit_carries_the_sha256_of_the_index_it_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, work) = demo_applied(tmp.path());
    assert_eq!(
        trailer(&remote, "main"),
        sha256_file(&work.join("index.json"))
    );
    // And the edit check is on from then on: nothing to say about a clean repository.
    let o = berth(&work, &["validate"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "0 error(s), 0 warning(s)\n"
    );
}

#[test]
fn before_berth_first_commit_the_index_is_checked_for_content_only_and_the_report_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let (_remote, work) = demo_remote(tmp.path());
    let o = berth(&work, &["validate"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("index.json:1:1: warning[E0503]: index.json is checked for content only: the edit check starts with berth's first commit of it"),
        "{}",
        text(&o)
    );
}

#[test]
fn an_index_edited_in_a_pull_request_is_refused_by_plan_validate_apply_and_resolve() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, work) = demo_applied(tmp.path());
    let berth_tip = git(&remote, &["rev-parse", "main"]);

    git(&work, &["checkout", "-q", "-b", "tweak"]);
    repoint_ci_base(&work);
    git(&work, &["commit", "-q", "-am", "pin ci-base"]);
    let edit = git(&work, &["rev-parse", "HEAD"]);

    // The PR plan against its base says so (and is not "No changes" with exit 0).
    let o = berth(&work, &["plan", "--offline", "--base", "origin/main"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("index.json:1:1: error[E0502]: index.json is edited in this change: it differs from the index at origin/main"),
        "{}",
        text(&o)
    );
    // validate names the commit that changed it and the berth commit it departs from.
    let o = berth(&work, &["validate"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let want = format!(
        "error[E0502]: index.json at HEAD was changed by commit {} (\"pin ci-base\", dev) after berth last wrote it in {}",
        &edit[..12],
        &berth_tip[..12]
    );
    assert!(text(&o).contains(&want), "{}", text(&o));

    // Merged anyway: apply stops, writes nothing, commits nothing, pushes nothing.
    git(&work, &["checkout", "-q", "main"]);
    git(&work, &["merge", "-q", "--ff-only", "tweak"]);
    git(&work, &["push", "-q", "origin", "main"]);
    let before = std::fs::read(work.join("index.json")).unwrap();
    let o = apply_commit_push(&work);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(&want), "{}", text(&o));
    assert!(text(&o).contains("Nothing written"), "{}", text(&o));
    assert_eq!(std::fs::read(work.join("index.json")).unwrap(), before);
    assert_eq!(git(&remote, &["rev-parse", "main"]), edit);
    // Pipelines never resolve to the unverified digest.
    let o = berth(&work, &["resolve", "ci-base@latest"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains(EDITED));
    assert!(text(&o).contains("error[E0502]"), "{}", text(&o));

    // Reverting the edit restores exactly what berth wrote: trusted again.
    git(&work, &["revert", "--no-edit", "HEAD"]);
    let o = berth(&work, &["resolve", "ci-base@latest"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("registry.acme.example/platform/ci-base@sha256:{CI_BASE_110}")
    );
    let o = apply_commit_push(&work);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn uncommitted_edits_are_refused_but_what_berth_wrote_is_trusted_and_committed_as_berth() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, work) = demo_applied(tmp.path());
    repoint_ci_base(&work);
    let o = berth(&work, &["validate"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o)
            .contains("error[E0502]: index.json has uncommitted changes that berth did not write"),
        "{}",
        text(&o)
    );
    let o = apply_commit_push(&work);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    git(&work, &["checkout", "--", "index.json"]);

    // berth's own uncommitted write (apply without --commit) is trusted, then committed.
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
    let o = berth(&work, &["apply", "--offline", "--skip-verify"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = berth(&work, &["validate"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = apply_commit_push(&work);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The commit describes what it changes against its parent, though this run itself
    // found nothing new to do.
    assert_eq!(
        git(&remote, &["log", "-1", "--format=%s", "main"]),
        "berth: update index (node-build@2.0.1)"
    );
    assert_eq!(
        trailer(&remote, "main"),
        sha256_file(&work.join("index.json"))
    );
}

#[test]
fn the_recorded_commit_is_the_catalogue_commit_never_berth_own() {
    let tmp = tempfile::tempdir().unwrap();
    let (_remote, work) = demo_applied(tmp.path());
    let listing_commit = git(&work, &["rev-parse", "HEAD~1"]);
    // A listing change not committed yet: the catalogue's commit is still the listing
    // commit below berth's, not berth's index commit at HEAD.
    edit(
        &work.join("images/go-toolchain.yaml"),
        "tag: \"1.23.3-1\"",
        "tag: \"1.23.4-1\"",
    );
    let o = berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let idx = index(&work);
    assert_eq!(idx["sourceCommit"], listing_commit.as_str());
    assert_eq!(
        version(&idx, "go-toolchain", "1.0.0")["catalogueCommit"],
        listing_commit.as_str()
    );
}

#[test]
fn a_second_apply_waits_for_the_lock_then_exits_2_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let (_remote, work) = demo_remote(tmp.path());
    let mut first = spawn_berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit"],
        &[("BERTH_TEST_PAUSE_BEFORE_RENAME_MS", "4000")],
    );
    wait_until(Duration::from_secs(20), "the first apply to write", || {
        !temp_files(&work).is_empty()
    });
    let start = std::time::Instant::now();
    let o = berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit"],
        &[("BERTH_LOCK_TIMEOUT", "1")],
    );
    assert!(start.elapsed() >= Duration::from_secs(1), "it waited");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("another berth run holds the lock")
            && err.contains(&format!("held by pid {} (berth apply", first.id())),
        "{err}"
    );
    assert!(first.wait().unwrap().success());
    // One commit by berth, on top of the catalogue.
    assert_eq!(git(&work, &["rev-list", "--count", "HEAD"]), "2");
    // The lock is not a file git shows.
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
}

#[test]
fn concurrent_applies_run_one_after_the_other_and_make_one_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let (_remote, work) = demo_remote(tmp.path());
    let listing_commit = git(&work, &["rev-parse", "HEAD"]);
    let first = spawn_berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit"],
        &[("BERTH_TEST_PAUSE_BEFORE_RENAME_MS", "1500")],
    );
    wait_until(Duration::from_secs(20), "the first apply to write", || {
        !temp_files(&work).is_empty()
    });
    let second = berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit"],
        &[],
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(
        text(&second).contains("Nothing to commit"),
        "{}",
        text(&second)
    );
    assert_eq!(git(&work, &["rev-list", "--count", "HEAD"]), "2");
    let idx = index(&work);
    assert_eq!(idx["sourceCommit"], listing_commit.as_str());
    assert_eq!(
        version(&idx, "ci-base", "1.2.0")["catalogueCommit"],
        listing_commit.as_str()
    );
}

#[test]
fn a_killed_run_leaves_nothing_git_status_shows() {
    let tmp = tempfile::tempdir().unwrap();
    let (_remote, work) = demo_applied(tmp.path());
    edit(
        &work.join("images/go-toolchain.yaml"),
        "tag: \"1.23.3-1\"",
        "tag: \"1.23.4-1\"",
    );
    git(&work, &["commit", "-q", "-am", "go-toolchain 1.23.4"]);
    let before = std::fs::read(work.join("index.json")).unwrap();
    let mut run = spawn_berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit"],
        &[("BERTH_TEST_PAUSE_BEFORE_RENAME_MS", "60000")],
    );
    wait_until(Duration::from_secs(20), "the apply to write", || {
        !temp_files(&work).is_empty()
    });
    run.kill().unwrap(); // SIGKILL
    run.wait().unwrap();
    assert_eq!(temp_files(&work).len(), 1, "the killed run's leftover");
    assert_eq!(std::fs::read(work.join("index.json")).unwrap(), before);
    assert_eq!(
        git(&work, &["status", "--porcelain"]),
        "",
        "before the next run"
    );
    let o = berth(
        &work,
        &["apply", "--offline", "--skip-verify", "--commit"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        temp_files(&work),
        Vec::<String>::new(),
        "removed by the next run"
    );
    assert_eq!(
        git(&work, &["status", "--porcelain"]),
        "",
        "after the next run"
    );
}

#[test]
fn leftover_temp_files_are_never_shown_and_removed_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (_remote, work) = demo_applied(tmp.path());
    // What a run killed between writing its temporary file and renaming it leaves behind.
    std::fs::write(work.join(".berth-tmp-Xk3v9q"), "{").unwrap();
    assert_eq!(git(&work, &["status", "--porcelain"]), "");
    let o = berth(&work, &["apply", "--offline", "--skip-verify"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(temp_files(&work), Vec::<String>::new());
}

#[test]
fn after_a_push_retry_the_message_describes_everything_the_commit_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, _work) = demo_applied(tmp.path());
    let a = clone(tmp.path(), &remote, "a");
    edit(
        &a.join("images/python-lint.yaml"),
        "tag: \"2026.10.2\"\nrelease:\n  type: fix\n  stage: released",
        "tag: \"2026.11.1\"\nrelease:\n  type: feature\n  stage: testing",
    );
    git(&a, &["commit", "-q", "-am", "python-lint 2026.11.1"]);
    git(&a, &["push", "-q", "origin", "main"]);
    let b = clone(tmp.path(), &remote, "b");
    edit(
        &b.join("images/go-toolchain.yaml"),
        "tag: \"1.23.3-1\"",
        "tag: \"1.23.4-1\"",
    );
    git(&b, &["commit", "-q", "-am", "go-toolchain 1.23.4"]);
    git(&b, &["push", "-q", "origin", "main"]);
    // a's first commit covers python-lint only; its push is rejected, it regenerates on b's
    // commit, and the new commit carries go-toolchain's change too.
    let o = apply_commit_push(&a);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("(attempt 2)"), "{}", text(&o));
    assert_eq!(
        git(&remote, &["log", "-1", "--format=%s", "main"]),
        "berth: update index (go-toolchain@1.0.0 updated, python-lint@1.1.0)"
    );
    let body = git(&remote, &["log", "-1", "--format=%b", "main"]);
    assert!(
        body.contains("- go-toolchain@1.0.0: 1.0.0 retagged")
            && body.contains("- python-lint@1.1.0: new version 1.1.0 (feature)"),
        "{body}"
    );
    let pushed = tmp.path().join("check");
    git(
        tmp.path(),
        &["clone", "-q", remote.to_str().unwrap(), "check"],
    );
    assert_eq!(
        trailer(&remote, "main"),
        sha256_file(&pushed.join("index.json"))
    );
}

#[test]
fn commit_message_template_is_minijinja_and_the_old_form_is_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, work) = demo_remote(tmp.path());
    let cfg = work.join("berth.yaml");
    let base = std::fs::read_to_string(&cfg).unwrap();

    // A misspelt variable is a validation error at its place in berth.yaml.
    std::fs::write(
        &cfg,
        format!("{base}commit:\n  message: \"x {{{{ sumary }}}}\"\n"),
    )
    .unwrap();
    let o = berth(&work, &["validate"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(
            "berth.yaml:15:18: error[E0303]: commit message template uses unknown variable sumary"
        ),
        "{}",
        text(&o)
    );

    // The old form: read, with a warning that shows the new spelling.
    std::fs::write(
        &cfg,
        format!("{base}commit:\n  message: \"old ({{summary}})\"\n"),
    )
    .unwrap();
    let o = berth(&work, &["validate"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(
            "warning[E0303]: commit.message uses the old `{name}` placeholders (still read)"
        ) && text(&o).contains("hint: write it as minijinja: \"old ({{ summary }})\""),
        "{}",
        text(&o)
    );

    std::fs::write(
        &cfg,
        format!(
            "{base}commit:\n  message: \"catalogue: {{{{ summary }}}} [{{{{ changed }}}} image(s)]\"\n"
        ),
    )
    .unwrap();
    git(&work, &["commit", "-q", "-am", "commit template"]);
    let o = apply_commit_push(&work);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        git(&remote, &["log", "-1", "--format=%s", "main"]),
        "catalogue: ci-base@1.2.0, go-toolchain@1.0.0, python-lint@1.0.1 released [3 image(s)]"
    );
}

/// The demo catalogue outside git, with its index changed by `change`.
fn demo_with_index(
    change: impl FnOnce(&mut serde_json::Value),
) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path().join("demo");
    copy_dir(&demo_dir(), &cat);
    let mut idx = index(&cat);
    change(&mut idx);
    write_index(&cat, &idx);
    (tmp, cat)
}

/// The text at `index.json:LINE:COL` of the first diagnostic line containing `needle`.
fn value_at_diagnostic(cat: &Path, out: &str, needle: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no diagnostic with {needle:?} in:\n{out}"));
    let mut parts = line.splitn(4, ':');
    assert_eq!(parts.next(), Some("index.json"), "{line}");
    let l: usize = parts.next().unwrap().parse().unwrap();
    let c: usize = parts.next().unwrap().parse().unwrap();
    let text = std::fs::read_to_string(cat.join("index.json")).unwrap();
    text.lines()
        .nth(l - 1)
        .unwrap()
        .chars()
        .skip(c - 1)
        .collect()
}

#[test]
fn the_index_is_validated_on_read_with_json_pointers() {
    type Change = fn(&mut serde_json::Value);
    let cases: [(Change, &str, &str); 5] = [
        (
            |i| i["images"]["ci-base"]["versions"][2]["digest"] = "sha256:nothex".into(),
            "error[E0501]: /images/ci-base/versions/2/digest: `sha256:nothex` is not a digest (`sha256:` and 64 lowercase hex digits)",
            "\"sha256:nothex\"",
        ),
        (
            |i| i["images"]["ci-base"]["versions"][0]["version"] = "not-a-version".into(),
            "error[E0501]: /images/ci-base/versions/0/version: `not-a-version` is not a semver version (e.g. 1.2.0)",
            "\"not-a-version\"",
        ),
        (
            |i| {
                let v = i["images"]["ci-base"]["versions"][2].clone();
                i["images"]["ci-base"]["versions"]
                    .as_array_mut()
                    .unwrap()
                    .push(v);
            },
            "error[E0501]: /images/ci-base/versions/3/version: version 1.1.0 is recorded more than once",
            "\"1.1.0\"",
        ),
        (
            |i| i["images"]["ci-base"]["channels"]["latest"]["version"] = "9.9.9".into(),
            "error[E0501]: /images/ci-base/channels/latest/version: channel `latest` points at 9.9.9, which is not a recorded version",
            "\"9.9.9\"",
        ),
        (
            |i| i["schemaVersion"] = 0.into(),
            "error[E0501]: /schemaVersion: schema version 0 is not a schema version (this berth writes 1)",
            "0",
        ),
    ];
    for (change, want, value) in cases {
        let (_tmp, cat) = demo_with_index(change);
        let before = std::fs::read(cat.join("index.json")).unwrap();
        let o = berth(&cat, &["validate"], &[]);
        assert_eq!(o.status.code(), Some(1), "{want}\n{}", text(&o));
        assert!(text(&o).contains(want), "{want}\n{}", text(&o));
        assert!(
            value_at_diagnostic(&cat, &text(&o), want).starts_with(value),
            "{want}: the position points at the value\n{}",
            text(&o)
        );
        let o = berth(&cat, &["apply", "--offline", "--skip-verify"], &[]);
        assert_eq!(o.status.code(), Some(1), "{want}\n{}", text(&o));
        assert_eq!(std::fs::read(cat.join("index.json")).unwrap(), before);
        // Nothing propagates into resolution either.
        let o = berth(&cat, &["resolve", "ci-base@latest"], &[]);
        assert_eq!(o.status.code(), Some(2), "{want}\n{}", text(&o));
        let pointer = want.split(": ").nth(1).unwrap();
        assert!(text(&o).contains(pointer), "{want}\n{}", text(&o));
    }
}

/// Holds `index::same` (whether a run changed the state of record: a run with nothing to do
/// leaves index.json and its sourceCommit as they were): two indexes are the same exactly when
/// they hold the same images with equal entries, whether an entry is shared (`Arc`) or an
/// equal copy. (Killed mutants: `&&`/`||` swapped in the length, key and entry comparisons,
/// and `ea == eb` negated.)
#[test]
fn two_indexes_are_the_same_exactly_when_their_images_are_equal() {
    use berth::index::same;
    use berth::model::{ImageEntry, Index};
    use std::sync::Arc;
    let entry = |code: &str, summary: &str| {
        Arc::new(ImageEntry {
            code: code.into(),
            summary: summary.into(),
            ..ImageEntry::default()
        })
    };
    let index = |images: &[(&str, &Arc<ImageEntry>)]| Index {
        schema_version: 1,
        images: images
            .iter()
            .map(|(k, e)| (k.to_string(), Arc::clone(e)))
            .collect(),
        ..Index::default()
    };
    let a = entry("a", "s");
    let b = entry("b", "s");
    let base = index(&[("a", &a)]);
    // Shared entry, and an equal copy of it.
    assert!(same(&base, &index(&[("a", &a)])));
    assert!(same(&base, &index(&[("a", &entry("a", "s"))])));
    // An entry that differs, under the same key.
    assert!(!same(&base, &index(&[("a", &entry("a", "other"))])));
    // Another key for the same entry.
    assert!(!same(&base, &index(&[("b", &a)])));
    // One image more, the first ones shared.
    assert!(!same(&base, &index(&[("a", &a), ("b", &b)])));
    assert!(!same(&index(&[("a", &a), ("b", &b)]), &base));
}
