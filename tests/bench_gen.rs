//! The benchmark catalogue generator (`tests/bench/gen_catalogue.py`) produces catalogues
//! berth reads cleanly and an index.json that satisfies the index schema and berth's own
//! index type. If the generator drifts from the models, benchmarks would measure error paths;
//! this test catches that.

use std::path::{Path, PathBuf};
use std::process::Command;

use berth::report::schema::SchemaKind;
use serde_json::Value;

mod support;

fn generate(n: usize, dir: &Path) {
    generate_with(n, dir, &[]);
}

fn bench_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bench")
        .join(name)
}

fn generate_with(n: usize, dir: &Path, extra: &[&str]) {
    let output = Command::new("python3")
        .arg(bench_script("gen_catalogue.py"))
        .arg(n.to_string())
        .arg(dir)
        .args(extra)
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

/// `--registry HOST` (what tests/bench/site.sh uses for its online plan) puts every listing and
/// policy on that one registry, marked `insecure` (plain http), and changes nothing else.
#[test]
fn one_registry_for_everything_and_nothing_else_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, spread) = (tmp.path().join("one"), tmp.path().join("spread"));
    generate_with(20, &one, &["--registry", "127.0.0.1:5999"]);
    generate(20, &spread);
    let (cat, diags) = berth::catalogue::load::load(&one);
    assert!(diags.is_empty(), "{diags:?}");
    let (other, _) = berth::catalogue::load::load(&spread);
    assert_eq!(cat.listings.len(), 20);
    for (l, o) in cat.listings.iter().zip(&other.listings) {
        assert_eq!(
            l.value.image.registry.as_deref().map(String::as_str),
            Some("127.0.0.1:5999")
        );
        assert_eq!(l.value.code, o.value.code);
        assert_eq!(l.value.image.tag, o.value.image.tag);
    }
    for p in &cat.policies {
        assert_eq!(
            p.value.source.registry.as_ref().map(|r| r.as_str()),
            Some("127.0.0.1:5999")
        );
    }
    let config = std::fs::read_to_string(one.join("berth.yaml")).unwrap();
    assert!(
        config.contains("  \"127.0.0.1:5999\":\n    insecure: true\n"),
        "{config}"
    );
}

/// tests/bench/seed_registry.py fills a real registry with every image a generated catalogue
/// lists: an online `berth apply` then verifies all of them (the online plan of
/// tests/bench/site.sh measures real verification, not error paths).
#[test]
fn seeded_registry_serves_every_listed_image() {
    let reg = support::RegistryProc::start(support::Auth::None);
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path().join("cat");
    generate_with(12, &cat, &["--registry", &reg.addr()]);
    let seed = Command::new("python3")
        .arg(bench_script("seed_registry.py"))
        .arg(&cat)
        .arg(reg.addr())
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&seed.stderr),
        format!("seeded 12 tags in 12 repositories on {}\n", reg.addr())
    );
    let out = tmp.path().join("index.json");
    let apply = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["apply", "--format", "json", "--catalogue"])
        .arg(&cat)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        apply.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&apply.stderr)
    );
    let plan: Value = serde_json::from_slice(&apply.stdout).unwrap();
    let results: Vec<&str> = plan["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["result"].as_str().unwrap())
        .collect();
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| *r == "passed"), "{plan:#}");
}
