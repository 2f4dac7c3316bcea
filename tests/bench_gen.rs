//! The benchmark catalogue generator (`tests/bench/gen_catalogue.py`) produces catalogues
//! berth reads cleanly and an index.json that satisfies the index schema and berth's own
//! index type. If the generator drifts from the models, benchmarks would measure error paths;
//! this test catches that.

use std::path::{Path, PathBuf};
use std::process::Command;

use berth::report::schema::SchemaKind;
use serde_json::Value;

fn generate(n: usize, dir: &Path) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bench/gen_catalogue.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(n.to_string())
        .arg(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); install it with `apt-get install -y python3`")
        });
    assert!(
        output.status.success(),
        "gen_catalogue.py failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read_all(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn generated_catalogue_loads_cleanly_and_its_index_matches_the_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cat");
    generate(50, &dir);

    let (cat, diags) = berth::catalogue::load::load(&dir);
    let rendered: Vec<String> = diags.iter().map(|d| format!("{d:?}")).collect();
    assert!(rendered.is_empty(), "diagnostics:\n{}", rendered.join("\n"));
    assert_eq!(cat.listings.len(), 50);
    assert_eq!(cat.policies.len(), 3);
    assert!(cat.config_path.is_some());
    assert!(cat.config.credentials.contains_key("acme-bot"));
    // Every listing sits at images/<publisher>/<code>.yaml.
    for l in &cat.listings {
        assert_eq!(
            l.path.file_stem().unwrap().to_str().unwrap(),
            l.value.code.as_str()
        );
    }

    let text = std::fs::read_to_string(dir.join("index.json")).unwrap();
    let index: Value = serde_json::from_str(&text).unwrap();
    let schema: Value =
        serde_json::from_str(&berth::report::schema::schema_json(SchemaKind::Index)).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&index)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "index.json violates the schema:\n{}",
        errors.join("\n")
    );

    // berth's own type reads it too, and the history has the promised shape: 3 in 4 images
    // have a released 1.0.0, a third of those on an older tag than the listing's.
    let typed: berth::model::Index = serde_json::from_str(&text).unwrap();
    assert_eq!(typed.schema_version, berth::model::INDEX_SCHEMA_VERSION);
    assert_eq!(
        typed.images.len(),
        38,
        "50 listings, i % 4 != 3 have history"
    );
    let mut moved = 0;
    for l in &cat.listings {
        let Some(entry) = typed.images.get(l.value.code.as_str()) else {
            continue;
        };
        assert_eq!(entry.versions.len(), 1);
        assert_eq!(entry.versions[0].version, "1.0.0");
        let tag = format!(":{}", l.value.image.tag.as_str());
        if !entry.versions[0].reference.ends_with(&tag) {
            moved += 1;
        }
    }
    assert_eq!(moved, 12, "i % 4 == 2 listings moved to a new tag");
}

#[test]
fn generator_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    generate(20, &a);
    generate(20, &b);
    let (fa, fb) = (read_all(&a), read_all(&b));
    assert!(fa.len() > 20);
    assert!(fa == fb, "two runs with the same arguments differ");
}
