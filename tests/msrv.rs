//! `rust-version` in Cargo.toml is the real minimum: not lower than any dependency's declared
//! `rust-version` (from `cargo metadata`, so a dependency upgrade that raises it fails here),
//! and not lower than 1.88 while the code uses let-chains (`if let … &&`, stable in 1.88).
//! No other toolchain can be installed here, so this is the check CI can make.

use std::process::Command;

fn version(s: &str) -> (u64, u64, u64) {
    let mut parts = s.split('.').map(|p| p.parse::<u64>().unwrap());
    (
        parts.next().unwrap(),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[test]
fn rust_version_covers_dependencies_and_language_features() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let ours = packages.iter().find(|p| p["name"] == "berth").unwrap();
    let declared = version(ours["rust_version"].as_str().expect("rust-version is set"));
    let mut needed = ((1, 0, 0), "?".to_string());
    for p in packages {
        if let Some(v) = p["rust_version"].as_str() {
            let v = version(v);
            if v > needed.0 {
                needed = (v, p["name"].as_str().unwrap().to_string());
            }
        }
    }
    assert!(
        declared >= needed.0,
        "rust-version {declared:?} is lower than {:?} required by {}",
        needed.0,
        needed.1
    );
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut let_chains = false;
    for e in walk(&src) {
        let text = std::fs::read_to_string(&e).unwrap();
        let_chains |= text
            .lines()
            .any(|l| l.trim_start().starts_with("if let ") && l.contains(" && "));
        let_chains |= text.contains("\n        && let ") || text.contains("\n    && let ");
    }
    if let_chains {
        assert!(declared >= (1, 88, 0), "let-chains need rust-version 1.88");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}
