//! The YAML input rules of the README ("YAML", "Diagnostic codes") that no fixture held:
//! more than one document (E0002), nesting deeper than 64 (E0004 where a value may nest,
//! a wrong type where a listing field does not), and files that cannot be read (E0001).
//! Each case is generated in a temp dir and run through `berth validate --format json`.

use std::path::Path;

use berth::catalogue::load::parse_yaml;
use berth::model::diag::Code;

/// A valid listing of `code` (extra lines appended at the top level).
fn listing(code: &str, extra: &str) -> String {
    format!(
        "code: {code}\nname: {code}\nsummary: s\npublisher: p\nimage:\n  repository: acme/{code}\n  tag: \"1\"\nrelease:\n  type: new\n  stage: testing\n{extra}"
    )
}

/// One diagnostic: (file, line, column, code, message, hint).
type Diag = (String, u64, u64, String, String, String);

/// `berth validate --format json` on `dir`: (exit code, diagnostics).
fn validate(dir: &Path) -> (i32, Vec<Diag>) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["validate", "--format", "json", "--catalogue"])
        .arg(dir)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let diags = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (
                s("file"),
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
                s("code"),
                s("message"),
                s("hint"),
            )
        })
        .collect();
    (o.status.code().unwrap(), diags)
}

fn catalogue(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("images")).unwrap();
    for (path, bytes) in files {
        std::fs::write(tmp.path().join(path), bytes).unwrap();
    }
    tmp
}

/// README: "more than one document" is refused; the table's E0002 ("YAML syntax error,
/// duplicate key, several documents"), with the hint to keep one document per file. One
/// document with an explicit `---` is fine.
#[test]
fn several_documents_in_one_file_are_e0002() {
    let two = format!("{}---\n{}", listing("a", ""), listing("b", ""));
    let one = format!("---\n{}", listing("c", ""));
    let tmp = catalogue(&[
        ("images/a.yaml", two.as_bytes()),
        ("images/c.yaml", one.as_bytes()),
    ]);
    let (code, diags) = validate(tmp.path());
    assert_eq!(code, 1);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    // A sentence at the second document's `---`, never the parser's Debug form
    // (`budget breached: Documents { documents: 2 }`).
    let (file, line, col, c, msg, hint) = &diags[0];
    assert_eq!(
        (
            file.as_str(),
            *line,
            *col,
            c.as_str(),
            msg.as_str(),
            hint.as_str()
        ),
        (
            "images/a.yaml",
            11,
            1,
            "E0002",
            "a second YAML document starts here; a catalogue file holds one document",
            "one YAML document per file: move what follows this `---` into a file of its own (a listing per file under images/, a policy per file under policies/)"
        )
    );
}

fn nested_seq(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_map(depth: usize) -> String {
    let mut s = String::new();
    for i in 0..depth {
        s.push_str(&format!("{}k{i}:\n", "  ".repeat(i)));
    }
    s.push_str(&format!("{}leaf: 1\n", "  ".repeat(depth)));
    s
}

/// README: "nesting deeper than 64" is refused with E0004 (the parser's budget; what a
/// file may nest to wherever a value can nest).
#[test]
fn nesting_deeper_than_64_is_e0004() {
    for (what, ok, deep) in [
        ("flow", nested_seq(64), nested_seq(65)),
        ("block", nested_map(63), nested_map(64)),
    ] {
        assert!(
            parse_yaml::<serde_json::Value>(&ok).is_ok(),
            "{what}: 64 levels are fine"
        );
        let err = parse_yaml::<serde_json::Value>(&deep).unwrap_err();
        assert_eq!(err.code, Code::YamlLimit, "{what}: {err:?}");
        // At the first level too deep: the 65th `[`, or the 65th mapping (`leaf:`, line 65).
        let at = if what == "flow" { (1, 65) } else { (65, 129) };
        assert_eq!((err.pos.line, err.pos.col), at, "{what}: {err:?}");
        assert_eq!(
            err.message,
            "nesting goes deeper than 64 levels here (mappings and sequences inside each other)"
        );
        assert_eq!(
            err.hint.as_deref(),
            Some(
                "nesting is limited to 64 levels in catalogue files and no berth field nests that deep; remove or flatten the value"
            )
        );
    }
}

/// No listing field nests, so a deeply nested value in a listing is refused at its first
/// level as a wrong type (E0006, "wrong type / missing field"): never parsed further.
#[test]
fn deep_nesting_in_a_listing_is_refused_at_the_first_level() {
    let deep = listing("n", "").replace("summary: s", &format!("summary: {}", nested_seq(100_000)));
    let tmp = catalogue(&[("images/n.yaml", deep.as_bytes())]);
    let (code, diags) = validate(tmp.path());
    assert_eq!(code, 1);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let (file, line, col, c, msg, _) = &diags[0];
    assert_eq!(
        (file.as_str(), *line, *col, c.as_str(), msg.as_str()),
        (
            "images/n.yaml",
            3,
            10,
            "E0006",
            "expected string scalar at line 3, column 10"
        )
    );
}

/// README table: E0001 "file or directory cannot be read": a listing that is not UTF-8 is
/// reported at its path and the other listings are still read and checked.
#[test]
fn an_unreadable_listing_is_e0001_and_the_others_are_still_checked() {
    let good = listing("good", "");
    let other = listing("other", "").replace("tag: \"1\"", "tag: latest");
    let tmp = catalogue(&[
        ("images/bad.yaml", b"code: bad\nname: \xff\xfe\n"),
        ("images/good.yaml", good.as_bytes()),
        ("images/other.yaml", other.as_bytes()),
    ]);
    let (code, diags) = validate(tmp.path());
    assert_eq!(code, 1);
    let got: Vec<(&str, &str, &str)> = diags
        .iter()
        .map(|(f, _, _, c, m, _)| (f.as_str(), c.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        got[0],
        (
            "images/bad.yaml",
            "E0001",
            "cannot read: stream did not contain valid UTF-8"
        ),
        "{diags:#?}"
    );
    assert_eq!(got.len(), 2, "{diags:#?}");
    assert_eq!((got[1].0, got[1].1), ("images/other.yaml", "E0106"));
}

/// E0001 for berth.yaml too: a `berth.yaml` that is a directory cannot be read (it used to be
/// skipped silently, and the catalogue validated with the default configuration).
#[test]
fn an_unreadable_berth_yaml_is_e0001() {
    let good = listing("good", "");
    let tmp = catalogue(&[("images/good.yaml", good.as_bytes())]);
    std::fs::create_dir(tmp.path().join("berth.yaml")).unwrap();
    let (code, diags) = validate(tmp.path());
    assert_eq!(code, 1);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let (file, _, _, c, msg, _) = &diags[0];
    assert_eq!(
        (file.as_str(), c.as_str(), msg.as_str()),
        (
            "berth.yaml",
            "E0001",
            "cannot read: Is a directory (os error 21)"
        )
    );
}
