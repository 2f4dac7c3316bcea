//! The JSON Schemas in `schema/` are up to date, and the demo catalogue conforms to them.
//!
//! Inputs: `schema/*.schema.json` (checked in), the schemas generated from `src/model.rs`,
//! and every file of `fixtures/demo`. A checked-in schema that differs from the generated one
//! fails with the command that regenerates it; every demo YAML file must name its schema in
//! a `# yaml-language-server: $schema=` first line (so editors validate it) and validate
//! against it.

use std::path::{Path, PathBuf};

use berth::report::schema::SchemaKind;
use berth::report::schema::{ALL, file_name, schema_json};
use serde_json::Value;

const REGENERATE: &str = "cargo run -- schema --out-dir schema";
const MODELINE: &str = "# yaml-language-server: $schema=";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo() -> PathBuf {
    repo().join("fixtures/demo")
}

fn generated(kind: SchemaKind) -> Value {
    serde_json::from_str(&schema_json(kind)).expect("generated schema is JSON")
}

/// Every violation of `instance` against `schema`, one per line (empty when valid).
fn violations(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

fn yaml_to_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str::<Value>(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

#[test]
fn checked_in_schemas_match_the_models() {
    let dir = repo().join("schema");
    let mut stale = Vec::new();
    for kind in ALL {
        let path = dir.join(file_name(kind));
        match std::fs::read_to_string(&path) {
            Ok(text) if text == schema_json(kind) => {}
            Ok(_) => stale.push(format!(
                "schema/{} differs from the models",
                file_name(kind)
            )),
            Err(e) => stale.push(format!("schema/{} cannot be read: {e}", file_name(kind))),
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nregenerate the checked-in schemas with `{REGENERATE}` and commit them",
        stale.join("\n")
    );
    // Nothing else lives in schema/: a stale file from a renamed kind would mislead editors.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = ALL.iter().map(|k| file_name(*k).to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "unexpected files in schema/");
}

#[test]
fn generated_schemas_are_valid_draft_2020_12() {
    for kind in ALL {
        let schema = generated(kind);
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!("{} is not a valid JSON Schema: {e}", file_name(kind));
        }
    }
}

/// The schema kind a demo file must use, by its place in the catalogue.
fn kind_for(rel: &Path) -> Option<SchemaKind> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "berth.yaml" => Some(SchemaKind::Config),
        "images" => Some(SchemaKind::Listing),
        "policies" => Some(SchemaKind::Policy),
        _ => None,
    }
}

fn demo_yaml_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(demo())
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn demo_yaml_files_name_and_satisfy_their_schema() {
    let files = demo_yaml_files();
    let rels: Vec<PathBuf> = files
        .iter()
        .map(|p| p.strip_prefix(demo()).unwrap().to_path_buf())
        .collect();
    // The demo must exercise all three YAML kinds, or this test proves little.
    for kind in [SchemaKind::Config, SchemaKind::Listing, SchemaKind::Policy] {
        assert!(
            rels.iter().any(|r| kind_for(r) == Some(kind)),
            "fixtures/demo has no {kind:?} file"
        );
    }
    let schema_dir = repo().join("schema").canonicalize().unwrap();
    let mut problems = Vec::new();
    for (path, rel) in files.iter().zip(&rels) {
        let Some(kind) = kind_for(rel) else {
            problems.push(format!(
                "{}: YAML file outside berth.yaml, images/ and policies/",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(path).unwrap();
        let first = text.lines().next().unwrap_or("");
        let Some(target) = first.strip_prefix(MODELINE) else {
            problems.push(format!(
                "{}: first line must be `{MODELINE}<relative path to schema/{}>`",
                rel.display(),
                file_name(kind)
            ));
            continue;
        };
        let resolved = path.parent().unwrap().join(target.trim());
        let expected = schema_dir.join(file_name(kind));
        match resolved.canonicalize() {
            Ok(p) if p == expected => {}
            Ok(p) => problems.push(format!(
                "{}: $schema resolves to {}, expected {}",
                rel.display(),
                p.display(),
                expected.display()
            )),
            Err(e) => problems.push(format!(
                "{}: $schema path {} does not resolve: {e}",
                rel.display(),
                target.trim()
            )),
        }
        for v in violations(&generated(kind), &yaml_to_json(path)) {
            problems.push(format!("{}: {v}", rel.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn demo_index_satisfies_the_index_schema() {
    let path = demo().join("index.json");
    assert!(
        path.is_file(),
        "fixtures/demo/index.json is missing: the demo catalogue must ship its index with history"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let index: Value = serde_json::from_str(&text).expect("index.json is JSON");
    let problems = violations(&generated(SchemaKind::Index), &index);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// The schemas must reject what berth rejects; otherwise editors show green for broken files.

fn demo_listing() -> Value {
    yaml_to_json(&demo().join("images/ci-base.yaml"))
}

#[test]
fn listing_schema_rejects_bad_listings() {
    let schema = generated(SchemaKind::Listing);
    assert!(violations(&schema, &demo_listing()).is_empty());

    type Mutation = fn(&mut Value);
    let cases: Vec<(&str, Mutation)> = vec![
        ("unknown top-level field", |v| v["colour"] = "blue".into()),
        ("unknown image field", |v| {
            v["image"]["digest"] = "sha256:00".into()
        }),
        ("missing release", |v| {
            v.as_object_mut().unwrap().remove("release");
        }),
        ("code with a dot", |v| v["code"] = "ci.base".into()),
        ("code starting with a digit", |v| v["code"] = "1ci".into()),
        ("code of 33 characters", |v| {
            v["code"] = "a".repeat(33).into()
        }),
        ("empty name", |v| v["name"] = "".into()),
        ("name of 41 characters", |v| {
            v["name"] = "n".repeat(41).into()
        }),
        ("unknown release type", |v| {
            v["release"]["type"] = "major".into()
        }),
        ("unknown stage", |v| v["release"]["stage"] = "done".into()),
        ("qa verdict not a known value", |v| {
            v["versions"]["1.0.1"]["qa"] = "maybe".into()
        }),
        ("labels not a list", |v| v["labels"] = "a,b".into()),
    ];
    for (what, mutate) in cases {
        let mut listing = demo_listing();
        mutate(&mut listing);
        assert!(
            !violations(&schema, &listing).is_empty(),
            "listing schema accepts a listing with {what}"
        );
    }
    // The boundaries themselves are allowed.
    let mut listing = demo_listing();
    listing["code"] = format!("_{}", "a".repeat(31)).into();
    listing["name"] = "n".repeat(40).into();
    listing["release"]["type"] = "re-release".into();
    assert_eq!(violations(&schema, &listing), Vec::<String>::new());
}

#[test]
fn policy_and_config_schemas_reject_unknown_fields() {
    let policy_path = demo().join("policies/website-to-qa.yaml");
    let schema = generated(SchemaKind::Policy);
    let mut policy = yaml_to_json(&policy_path);
    policy["criteria"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "tag": { "endWith": "-rc" } }));
    assert!(
        !violations(&schema, &policy).is_empty(),
        "typo in a tag operator accepted"
    );
    let mut policy = yaml_to_json(&policy_path);
    policy["criteria"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "platform": "linux/arm64", "tag": { "equals": "x" } }));
    assert!(
        !violations(&schema, &policy).is_empty(),
        "two kinds in one criterion accepted"
    );

    let schema = generated(SchemaKind::Config);
    let mut config = yaml_to_json(&demo().join("berth.yaml"));
    config["credentials"]["acme-bot"]["password"] = "hunter2".into();
    assert!(
        !violations(&schema, &config).is_empty(),
        "an inline password in berth.yaml is accepted"
    );
}

#[test]
fn index_schema_rejects_unknown_status() {
    let schema = generated(SchemaKind::Index);
    let version = serde_json::json!({
        "version": "1.0.0",
        "releaseType": "new",
        "status": "released",
        "reference": "docker.io/acme/x:1",
        "digest": null,
        "pull": null,
        "platforms": [],
        "recordedAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        "catalogueCommit": null,
        "verification": { "state": "skipped" }
    });
    let index = |version: Value| {
        serde_json::json!({
            "schemaVersion": 1,
            "sourceCommit": null,
            "promotions": [],
            "images": { "x": {
                "code": "x", "name": "X", "summary": "s", "publisher": "p",
                "agentScope": [], "labels": [],
                "versions": [version], "channels": {}, "testingChannels": {}
            }}
        })
    };
    assert_eq!(
        violations(&schema, &index(version.clone())),
        Vec::<String>::new()
    );
    // The same document must also be readable by berth itself: schema and types agree.
    serde_json::from_value::<berth::model::Index>(index(version.clone())).unwrap();
    let mut bad = version.clone();
    bad["status"] = "check_failed".into();
    assert!(!violations(&schema, &index(bad)).is_empty());
    let mut good = version;
    good["status"] = "check-failed".into();
    assert_eq!(violations(&schema, &index(good)), Vec::<String>::new());
}

/// `berth plan --format json` output, for a catalogue with changes and for one with errors,
/// satisfies the published plan schema.
#[test]
fn plan_json_satisfies_the_plan_schema() {
    let schema = generated(SchemaKind::Plan);
    for (catalogue, code) in [(demo(), 0), (repo().join("fixtures/bad/many-problems"), 1)] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["plan", "--offline", "--format", "json", "--catalogue"])
            .arg(&catalogue)
            .env("BERTH_NOW", "2026-11-26T12:00:00Z")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
        let v = violations(&schema, &plan);
        assert!(v.is_empty(), "{}: {v:#?}", catalogue.display());
        // The schema is strict enough to notice a wrong shape.
        let mut broken = plan.clone();
        broken["changes"] = serde_json::json!([{ "code": 1 }]);
        assert!(!violations(&schema, &broken).is_empty());
    }
}
