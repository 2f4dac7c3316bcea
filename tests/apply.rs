//! `berth apply` end to end on a copy of fixtures/demo: writes, is idempotent byte for byte,
//! refuses to write anything when the catalogue has errors.

use std::process::{Command, Output};

mod support;

use support::{demo_copy, text};

fn berth(args: &[&str], now: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env("BERTH_NOW", now)
        .output()
        .unwrap()
}

#[test]
fn apply_writes_then_is_a_byte_identical_no_op() {
    let (_tmp, cat) = demo_copy();
    let c = cat.to_str().unwrap();
    let before = std::fs::read_to_string(cat.join("index.json")).unwrap();
    let o = berth(
        &["apply", "--offline", "--skip-verify", "--catalogue", c],
        "2026-11-26T12:00:00Z",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let after = std::fs::read_to_string(cat.join("index.json")).unwrap();
    assert_ne!(before, after);
    let idx: serde_json::Value = serde_json::from_str(&after).unwrap();
    let ci = &idx["images"]["ci-base"];
    let v120 = ci["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == "1.2.0")
        .unwrap();
    assert_eq!(v120["status"], "testing");
    assert_eq!(v120["verification"]["state"], "skipped");
    assert_eq!(v120["recordedAt"], "2026-11-26T12:00:00Z");
    assert_eq!(ci["channels"]["latest"]["version"], "1.1.0");
    assert_eq!(ci["testingChannels"]["latest"]["version"], "1.2.0");
    assert_eq!(
        idx["images"]["python-lint"]["channels"]["latest"]["version"],
        "1.0.1"
    );
    assert_eq!(
        idx["images"]["go-toolchain"]["versions"][0]["version"],
        "1.0.0"
    );

    // Second run, later: nothing to do, same bytes, file not rewritten.
    let mtime = std::fs::metadata(cat.join("index.json"))
        .unwrap()
        .modified()
        .unwrap();
    let o = berth(
        &["apply", "--offline", "--skip-verify", "--catalogue", c],
        "2026-12-31T00:00:00Z",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.starts_with("No changes. The index is up to date.\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(&format!(
            "{} unchanged.\n",
            cat.join("index.json").display()
        )),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(cat.join("index.json")).unwrap(),
        after
    );
    assert_eq!(
        std::fs::metadata(cat.join("index.json"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );

    // The debug project now resolves the testing version; everyone else the released one.
    let o = berth(
        &[
            "resolve",
            "--catalogue",
            c,
            "ci-base@latest",
            "--project",
            "ci-debug",
        ],
        "x",
    );
    // Recorded with --skip-verify: resolvable by tag only, and said so.
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "registry.acme.example/platform/ci-base:2026.11.3\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "warning: ci-base@1.2.0 was recorded without verification: not pinned by digest\n"
    );
    let o = berth(&["resolve", "--catalogue", c, "ci-base@1.latest"], "x");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{}\n", ci["channels"]["1.latest"]["pull"].as_str().unwrap())
    );
    assert_eq!(ci["channels"]["1.latest"]["version"], "1.1.0");
    assert_eq!(
        ci["channels"]["1.latest"]["pull"],
        ci["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["version"] == "1.1.0")
            .unwrap()["pull"]
    );
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

#[test]
fn apply_with_errors_writes_nothing() {
    let (_tmp, cat) = demo_copy();
    let c = cat.to_str().unwrap();
    let listing = cat.join("images/ci-base.yaml");
    let broken = std::fs::read_to_string(&listing)
        .unwrap()
        .replace("type: feature", "type: feature\n  version: 7.0.0");
    std::fs::write(&listing, broken).unwrap();
    let before = std::fs::read(cat.join("index.json")).unwrap();
    let o = berth(
        &["apply", "--offline", "--skip-verify", "--catalogue", c],
        "2026-11-26T12:00:00Z",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.lines().any(|l| l
            == "images/ci-base.yaml:20:12: error[E0114]: release.version `7.0.0` does not match the computed version 1.2.0"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("Nothing written: fix the errors above first.\n"),
        "{stdout}"
    );
    assert_eq!(std::fs::read(cat.join("index.json")).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(&cat)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".berth"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn apply_out_leaves_the_catalogue_untouched() {
    let (tmp, cat) = demo_copy();
    let out = tmp.path().join("out/index.json");
    let before = std::fs::read(cat.join("index.json")).unwrap();
    let o = berth(
        &[
            "apply",
            "--offline",
            "--skip-verify",
            "--catalogue",
            cat.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "2026-11-26T12:00:00Z",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read(cat.join("index.json")).unwrap(), before);
    assert!(std::fs::read_to_string(out).unwrap().contains("\"1.2.0\""));
}

#[test]
fn plan_text_diff_is_capped_json_has_all() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let n = 600;
    for i in 0..n {
        let long = "x".repeat(300);
        std::fs::write(
            images.join(format!("img{i:04}.yaml")),
            format!(
                "code: img{i:04}\nname: Image {i}\nsummary: \"{long}\"\npublisher: p\nimage:\n  registry: reg.example.com\n  repository: team/img{i}\n  tag: \"1\"\nrelease:\n  type: new\n  stage: released\n"
            ),
        )
        .unwrap();
    }
    let c = tmp.path().to_str().unwrap();
    let o = berth(
        &["plan", "--offline", "--catalogue", c],
        "2026-11-26T12:00:00Z",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("more changed image(s) not shown"),
        "no truncation note"
    );
    assert!(out.len() < 400 * 1024, "text plan is {} bytes", out.len());
    assert!(out.contains("img0000@1.0.0: new version 1.0.0"));
    assert!(
        out.contains(&format!("img{:04}@1.0.0: new version 1.0.0", n - 1)),
        "summary lists every change"
    );
    let o = berth(
        &["plan", "--offline", "--catalogue", c, "--format", "json"],
        "2026-11-26T12:00:00Z",
    );
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diff = plan["indexDiff"].as_str().unwrap();
    assert!(!diff.contains("not shown"));
    assert_eq!(diff.matches("+++ b/index.json images.").count(), n);
}

#[test]
fn plan_json_out_matches_format_json() {
    let (tmp, cat) = demo_copy();
    let c = cat.to_str().unwrap();
    let file = tmp.path().join("plan.json");
    let o = berth(
        &[
            "plan",
            "--offline",
            "--catalogue",
            c,
            "--format",
            "markdown",
            "--detailed-exitcode",
            "--json-out",
            file.to_str().unwrap(),
        ],
        "2026-11-26T12:00:00Z",
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("### berth plan"));
    let j = berth(
        &["plan", "--offline", "--catalogue", c, "--format", "json"],
        "2026-11-26T12:00:00Z",
    );
    assert_eq!(j.status.code(), Some(0), "{}", text(&j));
    assert_eq!(std::fs::read(&file).unwrap(), j.stdout);
}

/// A catalogue with one listing and no index yet, in a temp dir.
fn fresh() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("images")).unwrap();
    std::fs::write(
        tmp.path().join("images/a.yaml"),
        "code: a\nname: A\nsummary: s\npublisher: p\nimage:\n  registry: reg.example.com\n  repository: acme/a\n  tag: \"1\"\nrelease:\n  type: new\n  stage: testing\n",
    )
    .unwrap();
    tmp
}

/// The first plan of a catalogue starts from an empty index of the current schema: its diff
/// is the new images, nothing at the top level.
#[test]
fn the_first_plan_diffs_only_the_new_images() {
    let tmp = fresh();
    let c = tmp.path().to_str().unwrap();
    let o = berth(
        &["plan", "--offline", "--catalogue", c, "--format", "json"],
        "2026-11-26T12:00:00Z",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diff = plan["indexDiff"].as_str().unwrap();
    assert!(diff.starts_with("--- a/index.json images.a\n"), "{diff}");
    assert_eq!(diff.matches("--- a/index.json").count(), 1, "{diff}");
}

/// An index.json that cannot be read is E0007 with the reason, never taken for a missing one
/// (which would start the catalogue afresh): validate and apply fail, nothing is written.
#[test]
fn an_unreadable_index_is_e0007_never_a_missing_one() {
    let tmp = fresh();
    let c = tmp.path().to_str().unwrap();
    std::fs::create_dir(tmp.path().join("index.json")).unwrap();
    for cmd in [
        vec!["validate", "--catalogue", c],
        vec!["apply", "--offline", "--skip-verify", "--catalogue", c],
    ] {
        let o = berth(&cmd, "2026-11-26T12:00:00Z");
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let want = format!(
            "index.json:1:1: error[E0007]: cannot read {c}/index.json: Is a directory (os error 21)"
        );
        assert!(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == want),
            "{cmd:?}: {}",
            text(&o)
        );
        assert!(tmp.path().join("index.json").is_dir());
    }
    // Not JSON of an index: the parser's message at its line and column (without serde's
    // own " at line … column …" suffix).
    std::fs::remove_dir(tmp.path().join("index.json")).unwrap();
    std::fs::write(
        tmp.path().join("index.json"),
        "{\n  \"schemaVersion\": 1,\n  \"images\": {\n    \"ok\": 3\n  }\n}\n",
    )
    .unwrap();
    let o = berth(&["validate", "--catalogue", c], "x");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with(
            "index.json:4:11: error[E0007]: the index is not valid: invalid type: integer `3`, expected struct ImageEntry\n"
        ),
        "{}",
        text(&o)
    );
}
