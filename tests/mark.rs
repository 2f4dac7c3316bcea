//! `berth mark`: exact text of edited listings (library), file handling and the binary.

use std::path::Path;

use berth::catalogue::mark::{Action, EditError, MarkError, Request, edit_text, mark};
use berth::model::{
    ImageEntry, Index, Listing, QaStatus, ReleaseType, Status, VerificationEntry, VerifyState,
    VersionEntry,
};
use semver::Version;

/// Everything above `versions:` in most cases: comments, quoting styles and a block scalar
/// whose content looks like a comment, all of which must survive byte-for-byte.
const HEAD: &str = r#"# yaml-language-server: $schema=../../../schema/listing.schema.json
# The base image most pipeline jobs start from.
code: ci-base
name: CI Base   # shown in the store
summary: 'Ubuntu with build tools'
description: |
  Ubuntu 24.04.

  # not a comment: part of the description
publisher: platform-team
labels: [ubuntu, build]
image:
  registry: registry.acme.example
  repository: platform/ci-base
  tag: "2026.11.3"   # bumped by the release bot
release:
  type: feature
  stage: testing
"#;

struct Case {
    name: &'static str,
    input: String,
    version: &'static str,
    action: Action,
    reason: Option<&'static str>,
    expected: String,
}

fn case(
    name: &'static str,
    input: &str,
    version: &'static str,
    action: Action,
    reason: Option<&'static str>,
    expected: &str,
) -> Case {
    Case {
        name,
        input: input.to_string(),
        version,
        action,
        reason,
        expected: expected.to_string(),
    }
}

fn h(rest: &str) -> String {
    format!("{HEAD}{rest}")
}

fn cases() -> Vec<Case> {
    use Action::*;
    vec![
        case(
            "no versions key: block appended",
            &h(""),
            "1.0.1",
            QaFailed,
            Some("acceptance run 4411 failed"),
            &h("versions:\n  \"1.0.1\": { qa: failed, reason: \"acceptance run 4411 failed\" }\n"),
        ),
        case(
            "no versions key and no final newline",
            HEAD.trim_end_matches('\n'),
            "0.9.0",
            Delist,
            None,
            &h("versions:\n  \"0.9.0\": { delisted: true }\n"),
        ),
        case(
            "no versions key, file ends with a comment",
            &h("# end of listing\n"),
            "1.0.0",
            QaPassed,
            None,
            &h("# end of listing\nversions:\n  \"1.0.0\": { qa: passed }\n"),
        ),
        case(
            "versions: {} becomes a block",
            &h("versions: {}\n"),
            "1.0.1",
            QaFailed,
            Some("broken"),
            &h("versions:\n  \"1.0.1\": { qa: failed, reason: \"broken\" }\n"),
        ),
        case(
            "versions: {} keeps its comment",
            &h("versions: { }   # marks by QA\n"),
            "1.0.1",
            Delist,
            Some("CVE-2026-1"),
            &h(
                "versions:   # marks by QA\n  \"1.0.1\": { reason: \"CVE-2026-1\", delisted: true }\n",
            ),
        ),
        case(
            "new entry appended after existing ones, comments kept",
            &h(
                "versions:   # per-version marks\n  # flaky on arm\n  \"1.0.0\": { qa: passed }   # run 4000\n",
            ),
            "1.0.1",
            QaFailed,
            Some("acceptance run 4411 failed"),
            &h(
                "versions:   # per-version marks\n  # flaky on arm\n  \"1.0.0\": { qa: passed }   # run 4000\n  \"1.0.1\": { qa: failed, reason: \"acceptance run 4411 failed\" }\n",
            ),
        ),
        case(
            "new entry keeps a descending list sorted",
            &h(
                "versions:\n  \"1.2.0\": { qa: passed }\n  # old ones\n  \"0.9.0\": { delisted: true }\n",
            ),
            "1.0.1",
            QaFailed,
            Some("x"),
            &h(
                "versions:\n  \"1.2.0\": { qa: passed }\n  \"1.0.1\": { qa: failed, reason: \"x\" }\n  # old ones\n  \"0.9.0\": { delisted: true }\n",
            ),
        ),
        case(
            "new entry keeps an ascending list sorted",
            &h("versions:\n    '0.9.0': { delisted: true }\n    '1.2.0': { qa: passed }\n"),
            "2.0.0-rc.1",
            Delist,
            None,
            &h(
                "versions:\n    '0.9.0': { delisted: true }\n    '1.2.0': { qa: passed }\n    \"2.0.0-rc.1\": { delisted: true }\n",
            ),
        ),
        case(
            "new newest entry goes first in a descending list",
            &h("versions:\n  \"1.2.0\": { qa: passed }\n  \"0.9.0\": { delisted: true }\n"),
            "2.0.0",
            QaPassed,
            None,
            &h(
                "versions:\n  \"2.0.0\": { qa: passed }\n  \"1.2.0\": { qa: passed }\n  \"0.9.0\": { delisted: true }\n",
            ),
        ),
        case(
            "versions in the middle of the file, followed by blank line and comment",
            "code: ci-base\nname: CI Base\nsummary: s\npublisher: p\nversions:\n  \"1.0.0\": { qa: passed }\n\n# the image\nimage:\n  repository: a/b\n  tag: \"1\"\nrelease: { type: new, stage: testing }\n",
            "1.0.1",
            Delist,
            None,
            "code: ci-base\nname: CI Base\nsummary: s\npublisher: p\nversions:\n  \"1.0.0\": { qa: passed }\n  \"1.0.1\": { delisted: true }\n\n# the image\nimage:\n  repository: a/b\n  tag: \"1\"\nrelease: { type: new, stage: testing }\n",
        ),
        case(
            "flow entry: qa-passed drops the failed reason, keeps the trailing comment",
            &h(
                "versions:\n  \"1.0.1\": { qa: failed, reason: \"acceptance run 4411 failed\" }  # see #4411\n  \"0.9.0\": { delisted: true } # old\n",
            ),
            "1.0.1",
            QaPassed,
            None,
            &h(
                "versions:\n  \"1.0.1\": { qa: passed }  # see #4411\n  \"0.9.0\": { delisted: true } # old\n",
            ),
        ),
        case(
            "flow entry: qa-passed with a reason",
            &h("versions:\n  \"1.0.1\": { qa: failed, reason: \"flaky\" }\n"),
            "1.0.1",
            QaPassed,
            Some("rerun 4412 passed"),
            &h("versions:\n  \"1.0.1\": { qa: passed, reason: \"rerun 4412 passed\" }\n"),
        ),
        case(
            "flow entry: delist keeps the qa mark",
            &h("versions:\n  \"1.0.1\": {qa: failed, reason: 'acceptance run 4411 failed'}\n"),
            "1.0.1",
            Delist,
            None,
            &h(
                "versions:\n  \"1.0.1\": { qa: failed, reason: \"acceptance run 4411 failed\", delisted: true }\n",
            ),
        ),
        case(
            "flow entry: qa-failed on a delisted version",
            &h("versions:\n  \"0.9.0\": { delisted: true }\n"),
            "0.9.0",
            QaFailed,
            Some("late finding"),
            &h(
                "versions:\n  \"0.9.0\": { qa: failed, reason: \"late finding\", delisted: true }\n",
            ),
        ),
        case(
            "flow entry: unquoted key, replaced failure reason",
            &h("versions:\n  1.0.1: {qa: failed, reason: old}\n"),
            "1.0.1",
            QaFailed,
            Some("new"),
            &h("versions:\n  1.0.1: { qa: failed, reason: \"new\" }\n"),
        ),
        case(
            "flow entry: empty mapping",
            &h("versions:\n  \"1.0.1\": {}\n"),
            "1.0.1",
            QaPassed,
            None,
            &h("versions:\n  \"1.0.1\": { qa: passed }\n"),
        ),
        case(
            "flow entry spanning lines becomes one line",
            &h(
                "versions:\n  \"1.0.1\": {\n      qa: failed,\n      reason: \"x }\"\n    } # why\n  \"1.0.0\": { qa: passed }\n",
            ),
            "1.0.1",
            Delist,
            None,
            &h(
                "versions:\n  \"1.0.1\": { qa: failed, reason: \"x }\", delisted: true } # why\n  \"1.0.0\": { qa: passed }\n",
            ),
        ),
        case(
            "flow entry on the line after its key",
            &h("versions:\n  \"1.0.1\":\n    { qa: passed }\n"),
            "1.0.1",
            QaFailed,
            Some("r"),
            &h("versions:\n  \"1.0.1\":\n    { qa: failed, reason: \"r\" }\n"),
        ),
        case(
            "block entry: qa-passed replaces qa in place and removes the reason",
            &h(
                "versions:\n  \"1.0.1\":\n    # QA verdict\n    qa: failed   # by the bot\n    reason: acceptance run 4411 failed\n  # older\n  \"1.0.0\":\n    qa: passed\n",
            ),
            "1.0.1",
            QaPassed,
            None,
            &h(
                "versions:\n  \"1.0.1\":\n    # QA verdict\n    qa: passed   # by the bot\n  # older\n  \"1.0.0\":\n    qa: passed\n",
            ),
        ),
        case(
            "block entry: delist adds a line",
            &h(
                "versions:\n  \"1.0.1\":\n    qa: failed\n    reason: \"x\"   # ticket 7\n\n  \"1.0.0\":\n    qa: passed\n",
            ),
            "1.0.1",
            Delist,
            None,
            &h(
                "versions:\n  \"1.0.1\":\n    qa: failed\n    reason: \"x\"   # ticket 7\n    delisted: true\n\n  \"1.0.0\":\n    qa: passed\n",
            ),
        ),
        case(
            "block entry: multi-line block scalar reason replaced",
            &h(
                "versions:\n  '1.0.1':\n    reason: |\n      first line\n      # still the reason\n    qa: failed\n",
            ),
            "1.0.1",
            QaFailed,
            Some("one line now"),
            &h("versions:\n  '1.0.1':\n    reason: \"one line now\"\n    qa: failed\n"),
        ),
        case(
            "block entry: last field is a block scalar, new field goes after it",
            &h(
                "versions:\n  \"1.0.1\":\n    qa: failed\n    reason: >-\n      folded\n      text\n# trailing comment\n",
            ),
            "1.0.1",
            Delist,
            None,
            &h(
                "versions:\n  \"1.0.1\":\n    qa: failed\n    reason: >-\n      folded\n      text\n    delisted: true\n# trailing comment\n",
            ),
        ),
        case(
            "block entry: delisted false flipped",
            &h("versions:\n  \"1.0.0\":\n    delisted: false  # keep for now\n"),
            "1.0.0",
            Delist,
            None,
            &h("versions:\n  \"1.0.0\":\n    delisted: true  # keep for now\n"),
        ),
        case(
            "comment lines at column 0 between entries",
            &h(
                "versions:\n  \"1.0.0\": { qa: passed }\n# --- retired ---\n  \"0.9.0\": { delisted: true }\n",
            ),
            "0.9.0",
            QaFailed,
            Some("r"),
            &h(
                "versions:\n  \"1.0.0\": { qa: passed }\n# --- retired ---\n  \"0.9.0\": { qa: failed, reason: \"r\", delisted: true }\n",
            ),
        ),
        case(
            "CRLF line endings are kept",
            "code: ci-base\r\nname: CI Base\r\nsummary: s\r\npublisher: p\r\nimage: { repository: a/b, tag: \"1\" }\r\nrelease: { type: new, stage: testing }\r\n",
            "1.0.0",
            QaPassed,
            None,
            "code: ci-base\r\nname: CI Base\r\nsummary: s\r\npublisher: p\r\nimage: { repository: a/b, tag: \"1\" }\r\nrelease: { type: new, stage: testing }\r\nversions:\r\n  \"1.0.0\": { qa: passed }\r\n",
        ),
        case(
            "semver with build metadata is matched as written",
            &h("versions:\n  1.0.0+build.5: { qa: passed }\n"),
            "1.0.0+build.5",
            Delist,
            None,
            &h("versions:\n  1.0.0+build.5: { qa: passed, delisted: true }\n"),
        ),
        case(
            "versions: inside a block scalar is not the top-level key",
            "code: ci-base\nname: CI Base\nsummary: s\ndescription: |\n  versions:\n    \"1.0.0\": { qa: passed }\npublisher: p\nimage: { repository: a/b, tag: \"1\" }\nrelease: { type: new, stage: testing }\n",
            "1.0.0",
            Delist,
            None,
            "code: ci-base\nname: CI Base\nsummary: s\ndescription: |\n  versions:\n    \"1.0.0\": { qa: passed }\npublisher: p\nimage: { repository: a/b, tag: \"1\" }\nrelease: { type: new, stage: testing }\nversions:\n  \"1.0.0\": { delisted: true }\n",
        ),
        case(
            "quoted top-level key and an indented document",
            "  code: ci-base\n  name: CI Base\n  summary: s\n  publisher: p\n  image: { repository: a/b, tag: \"1\" }\n  release: { type: new, stage: testing }\n  \"versions\":\n      \"1.0.0\": { qa: passed }\n",
            "1.0.0",
            QaFailed,
            Some("r"),
            "  code: ci-base\n  name: CI Base\n  summary: s\n  publisher: p\n  image: { repository: a/b, tag: \"1\" }\n  release: { type: new, stage: testing }\n  \"versions\":\n      \"1.0.0\": { qa: failed, reason: \"r\" }\n",
        ),
        case(
            "indented document without versions",
            "  code: ci-base\n  name: CI Base\n  summary: s\n  publisher: p\n  image: { repository: a/b, tag: \"1\" }\n  release: { type: new, stage: testing }\n",
            "1.0.0",
            QaPassed,
            None,
            "  code: ci-base\n  name: CI Base\n  summary: s\n  publisher: p\n  image: { repository: a/b, tag: \"1\" }\n  release: { type: new, stage: testing }\n  versions:\n    \"1.0.0\": { qa: passed }\n",
        ),
        case(
            "reason escaping",
            &h(""),
            "1.0.1",
            QaFailed,
            Some("say \"hi\" \\ back: # x\nline2\ttab é ✓ \u{7}"),
            &h(
                "versions:\n  \"1.0.1\": { qa: failed, reason: \"say \\\"hi\\\" \\\\ back: # x\\nline2\\ttab é ✓ \\x07\" }\n",
            ),
        ),
    ]
}

fn run_case(c: &Case) {
    let version = Version::parse(c.version).unwrap();
    let edit = edit_text(&c.input, &version, c.action, c.reason)
        .unwrap_or_else(|e| panic!("{}: {e}", c.name));
    assert!(edit.changed, "{}: expected a change", c.name);
    assert_eq!(edit.text, c.expected, "{}", c.name);
    // Idempotent: the same mark again leaves the text byte-identical.
    let again = edit_text(&edit.text, &version, c.action, c.reason).unwrap();
    assert!(!again.changed, "{}: second run changed the text", c.name);
    assert_eq!(again.text, edit.text, "{}", c.name);
    // The mark reads back as intended.
    let listing: Listing = berth::catalogue::load::parse_yaml(&edit.text).unwrap();
    let m = berth::catalogue::mark::Mark::from(&listing.versions[&edit.key].value);
    assert_eq!(m.qa, edit.mark.qa, "{}", c.name);
    assert_eq!(m.reason, edit.mark.reason, "{}", c.name);
    assert_eq!(m.delisted, edit.mark.delisted, "{}", c.name);
}

#[test]
fn edit_table() {
    for c in cases() {
        run_case(&c);
    }
}

#[test]
fn merge_results() {
    let v = Version::parse("1.0.1").unwrap();
    let text = h("versions:\n  \"1.0.1\": { qa: failed, reason: \"flaky\" }\n");
    let e = edit_text(&text, &v, Action::Delist, None).unwrap();
    assert_eq!(e.mark.qa, Some(QaStatus::Failed));
    assert_eq!(e.mark.reason.as_deref(), Some("flaky"));
    assert!(e.mark.delisted);
    let e = edit_text(&text, &v, Action::QaPassed, None).unwrap();
    assert_eq!(e.mark.qa, Some(QaStatus::Passed));
    assert_eq!(e.mark.reason, None);
}

#[test]
fn reasons_round_trip() {
    let reasons = [
        "plain",
        "with \"double\" and 'single' quotes",
        "back\\slash \\n not a newline",
        "key: value # not a comment",
        "line one\nline two\n",
        "  leading and trailing spaces  ",
        "tab\there, carriage\rreturn, nul\0, bell\u{7}, del\u{7f}, c1\u{85}",
        "unicode: é ✓ 日本 🚢 \u{2028}\u{2029}\u{feff}",
        "{ looks: [like, yaml] }",
        "- a list item?",
        "%directive & *alias !tag |block >fold",
        "",
    ];
    let v = Version::parse("1.0.1").unwrap();
    for r in reasons {
        for base in [
            h(""),
            h("versions:\n  \"1.0.1\": { qa: passed }\n"),
            h("versions:\n  \"1.0.1\":\n    qa: passed\n    reason: old\n"),
        ] {
            let e = edit_text(&base, &v, Action::QaFailed, Some(r))
                .unwrap_or_else(|err| panic!("{r:?}: {err}"));
            let listing: Listing = berth::catalogue::load::parse_yaml(&e.text).unwrap();
            assert_eq!(
                listing.versions["1.0.1"]
                    .value
                    .reason
                    .as_deref()
                    .map(String::as_str),
                Some(r),
                "{:?}",
                e.text
            );
            assert!(e.text.starts_with(HEAD), "head changed for {r:?}");
        }
    }
}

#[test]
fn marking_again_the_same_way_changes_nothing() {
    let v = Version::parse("1.0.1").unwrap();
    // Written in a style berth would not produce: must still be left alone.
    let text = h("versions:\n  1.0.1:   {reason: 'acceptance run 4411 failed', qa: failed}  # x\n");
    let e = edit_text(
        &text,
        &v,
        Action::QaFailed,
        Some("acceptance run 4411 failed"),
    )
    .unwrap();
    assert!(!e.changed);
    assert_eq!(e.text, text);
}

#[test]
fn non_empty_flow_versions_is_refused() {
    let v = Version::parse("1.0.1").unwrap();
    let text = h("versions: { \"1.0.0\": { qa: passed } }\n");
    let err = edit_text(&text, &v, Action::Delist, None).unwrap_err();
    assert!(matches!(err, EditError::Layout(_)), "{err}");
    assert!(err.to_string().contains("flow mapping"), "{err}");
}

#[test]
fn anchors_on_entries_are_refused() {
    let v = Version::parse("1.0.0").unwrap();
    let text = h("versions:\n  \"1.0.0\": &ok { qa: passed }\n");
    let err = edit_text(&text, &v, Action::Delist, None).unwrap_err();
    assert!(matches!(err, EditError::Layout(_)), "{err}");
}

#[test]
fn unparsable_listing_is_refused() {
    let v = Version::parse("1.0.1").unwrap();
    let err = edit_text("code: [\n", &v, Action::Delist, None).unwrap_err();
    assert!(matches!(err, EditError::Parse(_)), "{err}");
}

#[test]
fn request_validation() {
    let bad = Request::new("ci-base@1.0", Action::Delist, None).unwrap_err();
    assert!(matches!(bad, MarkError::BadVersion { .. }), "{bad}");
    assert!(
        bad.to_string().contains("`1.0` is not a semver version"),
        "{bad}"
    );
    for t in ["ci-base", "@1.0.0", "ci-base@"] {
        let e = Request::new(t, Action::Delist, None).unwrap_err();
        assert!(matches!(e, MarkError::BadTarget(_)), "{t}: {e}");
    }
    for r in [None, Some(""), Some("  ")] {
        let e = Request::new("ci-base@1.0.0", Action::QaFailed, r).unwrap_err();
        assert!(matches!(e, MarkError::MissingReason), "{r:?}: {e}");
    }
    let ok = Request::new("ci-base@1.0.0-rc.1", Action::QaPassed, None).unwrap();
    assert_eq!(ok.code, "ci-base");
    assert_eq!(ok.version, Version::parse("1.0.0-rc.1").unwrap());
}

// ---------------------------------------------------------------------------------------------
// Files

const LISTING: &str = r#"# yaml-language-server: $schema=../../../schema/listing.schema.json
code: ci-base
name: CI Base
summary: Ubuntu with build tools
publisher: platform-team
image:
  repository: acme/ci-base
  tag: "2026.11.3"   # bumped by the release bot
release:
  type: feature
  stage: testing
versions:
  # QA results
  "1.0.0": { qa: passed }
"#;

fn version_entry(v: &str) -> VersionEntry {
    VersionEntry {
        version: v.to_string(),
        release_type: ReleaseType::Fix,
        status: Status::Released,
        qa: None,
        reference: format!("docker.io/acme/ci-base:{v}"),
        digest: None,
        pull: None,
        platforms: vec![],
        size: None,
        config_labels: Default::default(),
        notes: None,
        recorded_at: "2026-01-01T00:00:00Z".to_string(),
        updated_at: "2026-01-01T00:00:00Z".to_string(),
        catalogue_commit: None,
        verification: VerificationEntry {
            state: VerifyState::Skipped,
            level: None,
            reason: None,
        },
        drift: None,
        attempts: Vec::new(),
        release_refused: None,
        supply_chain: None,
    }
}

/// A catalogue with `images/base/ci-base.yaml` and, when `versions` is given, an index.
fn catalogue(versions: Option<&[&str]>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("images/base")).unwrap();
    std::fs::write(dir.path().join("images/base/ci-base.yaml"), LISTING).unwrap();
    if let Some(vs) = versions {
        let mut index = Index {
            schema_version: 1,
            ..Index::default()
        };
        index.images.insert(
            "ci-base".to_string(),
            std::sync::Arc::new(ImageEntry {
                code: "ci-base".to_string(),
                versions: vs.iter().map(|v| version_entry(v)).collect(),
                ..ImageEntry::default()
            }),
        );
        std::fs::write(
            dir.path().join("index.json"),
            serde_json::to_string_pretty(&index).unwrap(),
        )
        .unwrap();
    }
    dir
}

fn listing_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("images/base/ci-base.yaml")).unwrap()
}

#[test]
fn mark_edits_the_file_and_keeps_permissions() {
    let dir = catalogue(Some(&["1.0.0", "1.0.1"]));
    let path = dir.path().join("images/base/ci-base.yaml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let req = Request::new(
        "ci-base@1.0.1",
        Action::QaFailed,
        Some("acceptance run 4411 failed"),
    )
    .unwrap();
    let out = mark(dir.path(), &req).unwrap();
    assert!(out.changed);
    assert_eq!(
        out.summary(),
        "marked ci-base@1.0.1: qa failed (acceptance run 4411 failed)"
    );
    assert_eq!(out.path, Path::new("images/base/ci-base.yaml"));
    let expected =
        format!("{LISTING}  \"1.0.1\": {{ qa: failed, reason: \"acceptance run 4411 failed\" }}\n");
    assert_eq!(listing_text(dir.path()), expected);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }
    // Again: unchanged, said so, file byte-identical, no temp files left behind.
    let again = mark(dir.path(), &req).unwrap();
    assert!(!again.changed);
    assert_eq!(
        again.summary(),
        "ci-base@1.0.1 is already marked qa failed (acceptance run 4411 failed); images/base/ci-base.yaml unchanged"
    );
    assert_eq!(listing_text(dir.path()), expected);
    let names: Vec<_> = std::fs::read_dir(dir.path().join("images/base"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["ci-base.yaml"]);
}

#[test]
fn without_an_index_any_version_can_be_marked() {
    let dir = catalogue(None);
    let req = Request::new("ci-base@1.0.0", Action::Delist, None).unwrap();
    let out = mark(dir.path(), &req).unwrap();
    assert_eq!(out.summary(), "marked ci-base@1.0.0: qa passed, delisted");
    assert_eq!(
        listing_text(dir.path()),
        LISTING.replace("{ qa: passed }", "{ qa: passed, delisted: true }")
    );
}

#[test]
fn unknown_code_suggests_close_matches() {
    let dir = catalogue(None);
    let req = Request::new("ci-bse@1.0.0", Action::Delist, None).unwrap();
    let err = mark(dir.path(), &req).unwrap_err();
    assert!(matches!(err, MarkError::UnknownCode { .. }), "{err}");
    assert_eq!(berth::cli::mark::exit_code(&err), 1);
    assert!(
        err.to_string().contains("no listing has code `ci-bse`")
            && err.to_string().contains("did you mean `ci-base`?"),
        "{err}"
    );
    let req = Request::new("zzzzzz@1.0.0", Action::Delist, None).unwrap();
    let err = mark(dir.path(), &req).unwrap_err();
    assert!(!err.to_string().contains("did you mean"), "{err}");
    assert_eq!(listing_text(dir.path()), LISTING);
}

#[test]
fn unknown_version_in_the_index_is_refused() {
    let dir = catalogue(Some(&["1.0.0"]));
    let req = Request::new("ci-base@1.0.1", Action::QaFailed, Some("x")).unwrap();
    let err = mark(dir.path(), &req).unwrap_err();
    assert!(matches!(err, MarkError::UnknownVersion { .. }), "{err}");
    assert_eq!(berth::cli::mark::exit_code(&err), 1);
    assert!(
        err.to_string().contains("ci-base has no version 1.0.1")
            && err.to_string().contains("known versions: 1.0.0"),
        "{err}"
    );
    assert_eq!(listing_text(dir.path()), LISTING);
}

#[test]
fn image_missing_from_the_index_is_refused() {
    let dir = catalogue(Some(&[]));
    let index = std::fs::read_to_string(dir.path().join("index.json")).unwrap();
    std::fs::write(
        dir.path().join("index.json"),
        index.replace("\"ci-base\"", "\"other\""),
    )
    .unwrap();
    let req = Request::new("ci-base@1.0.0", Action::Delist, None).unwrap();
    let err = mark(dir.path(), &req).unwrap_err();
    assert!(err.to_string().contains("not in the index yet"), "{err}");
}

#[test]
fn unreadable_index_is_reported() {
    let dir = catalogue(None);
    std::fs::write(dir.path().join("index.json"), "{ not json").unwrap();
    let req = Request::new("ci-base@1.0.0", Action::Delist, None).unwrap();
    let err = mark(dir.path(), &req).unwrap_err();
    assert!(matches!(err, MarkError::Index { .. }), "{err}");
    assert_eq!(listing_text(dir.path()), LISTING);
}

#[test]
fn index_path_from_berth_yaml_is_used() {
    let dir = catalogue(Some(&["1.0.0"]));
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    std::fs::rename(
        dir.path().join("index.json"),
        dir.path().join("state/index.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("berth.yaml"), "index: state/index.json\n").unwrap();
    let req = Request::new("ci-base@2.0.0", Action::Delist, None).unwrap();
    let err = mark(dir.path(), &req).unwrap_err();
    assert!(err.to_string().contains("state/index.json"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The binary

fn berth() -> snapbox::cmd::Command {
    snapbox::cmd::Command::new(snapbox::cmd::cargo_bin!("berth"))
}

#[test]
fn binary_marks_and_reports() {
    let dir = catalogue(Some(&["1.0.0", "1.0.1"]));
    berth()
        .arg("mark")
        .arg("--catalogue")
        .arg(dir.path())
        .args(["ci-base@1.0.1", "--qa-failed", "--reason"])
        .arg("acceptance run 4411 failed")
        .assert()
        .success()
        .stdout_eq("marked ci-base@1.0.1: qa failed (acceptance run 4411 failed)\n");
    assert!(
        listing_text(dir.path())
            .ends_with("  \"1.0.1\": { qa: failed, reason: \"acceptance run 4411 failed\" }\n")
    );
    berth()
        .arg("mark")
        .arg("--catalogue")
        .arg(dir.path())
        .args(["ci-base@1.0.1", "--qa-passed"])
        .assert()
        .success()
        .stdout_eq("marked ci-base@1.0.1: qa passed\n");
    assert!(listing_text(dir.path()).ends_with("  \"1.0.1\": { qa: passed }\n"));
}

#[test]
fn binary_exit_codes() {
    let dir = catalogue(Some(&["1.0.0"]));
    berth()
        .arg("mark")
        .arg("--catalogue")
        .arg(dir.path())
        .args(["ci-base@1.0.7", "--delist"])
        .assert()
        .code(1)
        .stdout_eq("")
        .stderr_eq(
            "error: ci-base has no version 1.0.7 in [..]index.json (known versions: 1.0.0)\n",
        );
    berth()
        .arg("mark")
        .arg("--catalogue")
        .arg(dir.path())
        .args(["ci-bas@1.0.0", "--delist"])
        .assert()
        .code(1)
        .stderr_eq("error: no listing has code `ci-bas` in [..]images (did you mean `ci-base`?)\n");
    berth()
        .arg("mark")
        .arg("--catalogue")
        .arg(dir.path())
        .args(["ci-base@v1", "--delist"])
        .assert()
        .code(2)
        .stderr_eq(
            "error: `v1` is not a semver version ([..]); write it like 1.0.1 or 2.0.0-rc.1\n",
        );
    // clap: --qa-failed requires --reason.
    berth()
        .arg("mark")
        .arg("--catalogue")
        .arg(dir.path())
        .args(["ci-base@1.0.0", "--qa-failed"])
        .assert()
        .code(2);
    assert_eq!(listing_text(dir.path()), LISTING);
}

#[test]
fn an_edit_that_does_not_read_back_is_not_written() {
    // A quoted scalar continued at column 0 fools the line scanner into seeing a top-level
    // `versions: {}`; the read-back check must catch it.
    let v = Version::parse("1.0.0").unwrap();
    let text = "code: ci-base\nname: CI Base\nsummary: \"s\nversions: {}\"\npublisher: p\nimage: { repository: a/b, tag: \"1\" }\nrelease: { type: new, stage: testing }\n";
    let err = edit_text(text, &v, Action::Delist, None).unwrap_err();
    assert!(matches!(err, EditError::Verify(_)), "{err}");
    assert!(err.to_string().contains("nothing was written"), "{err}");
}

#[test]
fn a_failed_read_back_leaves_the_file_alone() {
    let dir = catalogue(None);
    let text = "code: ci-base\nname: CI Base\nsummary: \"s\nversions: {}\"\npublisher: p\nimage: { repository: a/b, tag: \"1\" }\nrelease: { type: new, stage: testing }\n";
    std::fs::write(dir.path().join("images/base/ci-base.yaml"), text).unwrap();
    let req = Request::new("ci-base@1.0.0", Action::Delist, None).unwrap();
    let err = mark(dir.path(), &req).unwrap_err();
    assert_eq!(berth::cli::mark::exit_code(&err), 2, "{err}");
    assert!(
        err.to_string()
            .starts_with("images/base/ci-base.yaml: internal error"),
        "{err}"
    );
    assert_eq!(listing_text(dir.path()), text);
}

#[test]
fn summary_stays_on_one_line() {
    let m = berth::catalogue::mark::Mark {
        qa: Some(QaStatus::Failed),
        reason: Some("two\nlines\t\"quoted\"".to_string()),
        delisted: true,
    };
    assert_eq!(
        m.describe(),
        "qa failed, delisted (two\\nlines\\t\"quoted\")"
    );
}

#[test]
fn duplicate_codes_are_refused() {
    let dir = catalogue(None);
    std::fs::write(dir.path().join("images/ci-base.yaml"), LISTING).unwrap();
    let req = Request::new("ci-base@1.0.0", Action::Delist, None).unwrap();
    let err = mark(dir.path(), &req).unwrap_err();
    assert_eq!(berth::cli::mark::exit_code(&err), 1);
    assert!(
        err.to_string()
            .contains("images/base/ci-base.yaml, images/ci-base.yaml"),
        "{err}"
    );
    assert_eq!(listing_text(dir.path()), LISTING);
}
