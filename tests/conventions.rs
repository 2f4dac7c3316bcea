//! CLI conventions a newcomer expects: global flags before or after the subcommand, the
//! catalogue from `BERTH_CATALOGUE`, the flag winning over the environment.

use std::process::Command;

fn berth(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.args(args).env_remove("BERTH_CATALOGUE");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn catalogue_flag_goes_before_or_after_the_subcommand_or_in_the_environment() {
    let bad = fixture("bad/tag-latest");
    let after = berth(&["validate", "--catalogue", &bad], &[]);
    assert_eq!(after.0, 1, "{after:?}");
    assert!(after.1.contains("error[E0106]"), "{after:?}");
    let before = berth(&["--catalogue", &bad, "validate"], &[]);
    assert_eq!(before, after);
    let env = berth(&["validate"], &[("BERTH_CATALOGUE", &bad)]);
    assert_eq!(env, after);
    // The flag wins over the environment.
    let demo = fixture("demo");
    let flag = berth(
        &["validate", "--catalogue", &demo],
        &[("BERTH_CATALOGUE", &bad)],
    );
    assert_eq!(flag.0, 0, "{flag:?}");
    // A mistyped path in the environment is refused like a mistyped flag.
    let missing = berth(
        &["validate"],
        &[("BERTH_CATALOGUE", "/nonexistent/catalogue")],
    );
    assert_eq!(missing.0, 2, "{missing:?}");
    assert!(missing.2.contains("not a berth catalogue"), "{missing:?}");
}

mod support;

use support::{Auth, Catalogue, Img, RegistryProc, push_image};

/// `mark` and `promote` report JSON with a `version` field, so scripts never parse sentences;
/// `validate --format json` carries the same `version`.
#[test]
fn mark_promote_and_validate_speak_json() {
    // mark, on a copy of the demo catalogue.
    let dir = tempfile::tempdir().unwrap();
    let demo = fixture("demo");
    let cp = Command::new("cp")
        .args(["-r", &format!("{demo}/."), dir.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(cp.success());
    let cat = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = berth(
        &[
            "mark",
            "--catalogue",
            cat,
            "ci-base@1.1.0",
            "--qa-failed",
            "--reason",
            "run 7 failed",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "version": 1,
            "code": "ci-base",
            "target": "ci-base@1.1.0",
            "file": "images/ci-base.yaml",
            "changed": true,
            "marks": {"qa": "failed", "reason": "run 7 failed", "delisted": false}
        })
    );

    // validate --format json has the shape version.
    let (_, stdout, _) = berth(&["validate", "--catalogue", &demo, "--format", "json"], &[]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["version"], 1);

    // promote, against the real registry.
    let reg = RegistryProc::start(Auth::None);
    let host = reg.addr();
    let a = push_image(&host, "dev/tool", Some("1"), &Img::new("json1"));
    let c = Catalogue::new(&Catalogue::insecure_yaml(&[&host]));
    let out = c.berth(&[
        "promote",
        &format!("{host}/dev/tool:1"),
        &format!("{host}/prod/tool:stable"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["source"], format!("{host}/dev/tool:1"));
    assert_eq!(v["sourceDigest"], a.digest.as_str());
    assert_eq!(v["target"], format!("{host}/prod/tool:stable"));
    assert_eq!(v["action"], "copy");
    assert_eq!(v["copy"]["manifestsPushed"], 1);
    assert!(v["index"].as_str().unwrap().ends_with("index.json"), "{v}");
}

/// `apply --format json` prints one JSON document on stdout (the plan report), so
/// `berth apply --format json | jq` works; what apply then did ("Wrote …", "Nothing
/// written: …") goes to stderr as sentences. Same for a catalogue with errors.
#[test]
fn apply_json_is_one_document_and_its_steps_go_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let cp = Command::new("cp")
        .args([
            "-r",
            &format!("{}/.", fixture("demo")),
            dir.path().to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(cp.success());
    let out = dir.path().join("out.json");
    let out = out.to_str().unwrap();
    let cat = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = berth(
        &[
            "apply",
            "--catalogue",
            cat,
            "--offline",
            "--skip-verify",
            "--out",
            out,
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(v["changed"], true);
    assert_eq!(stderr, format!("Wrote {out}.\n"));

    let (code, stdout, stderr) = berth(
        &[
            "apply",
            "--catalogue",
            &fixture("bad/tag-latest"),
            "--offline",
            "--skip-verify",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(v["diagnostics"][0]["code"], "E0106");
    assert_eq!(
        stderr,
        "Nothing written: fix the errors the report lists first.\n"
    );
}
