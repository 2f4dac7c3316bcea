//! Scale: berth reads, checks and plans on all cores, and that changes nothing but the time.
//!
//! - The reports of `validate` and `plan` and the index `apply` writes are byte-identical
//!   whether rayon runs one thread or many (`RAYON_NUM_THREADS`), on a generated catalogue
//!   large enough for several batches of the streamed index writer, with problems of every
//!   kind spread over it.
//! - The index apply streams to its file is exactly the one-piece canonical serialization.
//! - A plan holds the recorded index once: the next index shares (does not copy) the entry
//!   of every image that did not change.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

mod support;

/// Listings: with 3 in 4 of them in the index, more than two batches of the index writer.
const LISTINGS: usize = 3000;

fn generate(n: usize, dir: &Path) {
    support::need("python3", "python3");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bench/gen_catalogue.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(n.to_string())
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `berth ARGS --catalogue DIR` with `threads` rayon threads and a fixed clock.
fn berth(dir: &Path, threads: usize, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .arg("--catalogue")
        .arg(dir)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .env("BERTH_NOW", "2026-12-01T00:00:00Z")
        .env_remove("BERTH_LOG")
        .output()
        .unwrap()
}

/// Run `args` single-threaded and with 4 threads; the two runs must agree byte for byte.
fn same_either_way(dir: &Path, args: &[&str]) -> Output {
    let one = berth(dir, 1, args);
    let many = berth(dir, 4, args);
    assert_eq!(one.status.code(), many.status.code(), "exit of {args:?}");
    assert!(
        one.stdout == many.stdout,
        "stdout of {args:?} differs between 1 and 4 threads"
    );
    assert!(
        one.stderr == many.stderr,
        "stderr of {args:?} differs between 1 and 4 threads:\n{}\n---\n{}",
        String::from_utf8_lossy(&one.stderr),
        String::from_utf8_lossy(&many.stderr)
    );
    one
}

fn listing_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(dir.join("images"))
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn parallel_runs_are_byte_identical_to_single_threaded_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cat");
    generate(LISTINGS, &dir);

    // A clean catalogue: plan (text and JSON) and the index apply writes.
    let plan = same_either_way(&dir, &["plan", "--offline"]);
    assert_eq!(plan.status.code(), Some(0));
    let first = String::from_utf8(plan.stdout).unwrap();
    assert!(
        first.starts_with("2250 change(s) in 1500 image(s):\n"),
        "{}",
        first.lines().next().unwrap_or("")
    );
    same_either_way(&dir, &["plan", "--offline", "--format", "json"]);
    let (a, b) = (tmp.path().join("one.json"), tmp.path().join("many.json"));
    for (threads, out) in [(1, &a), (4, &b)] {
        let o = berth(
            &dir,
            threads,
            &[
                "apply",
                "--offline",
                "--skip-verify",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{o:?}");
    }
    let (one, many) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(one == many, "the index differs between 1 and 4 threads");
    // Streamed in batches, it is still the canonical one-piece serialization.
    let text = String::from_utf8(one).unwrap();
    let index = berth::index::parse(&text, "one.json").unwrap();
    assert_eq!(index.images.len(), LISTINGS);
    assert!(text == serde_json::to_string_pretty(&index).unwrap() + "\n");

    // Problems of every kind, spread over the catalogue: an unknown field, broken YAML, a
    // duplicate name, a wrong type, a missing Dockerfile, a symlinked listing, and a listing
    // removed (its history stays in the index).
    let paths = listing_paths(&dir);
    let edit = |i: usize, f: &dyn Fn(String) -> String| {
        let text = std::fs::read_to_string(&paths[i]).unwrap();
        std::fs::write(&paths[i], f(text)).unwrap();
    };
    edit(7, &|t| t.replace("summary:", "sumary:"));
    edit(400, &|t| t + "release: [\n");
    let name_of_0 = std::fs::read_to_string(&paths[0])
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("name: ").map(str::to_string))
        .unwrap();
    edit(1200, &|t| {
        t.lines()
            .map(|l| {
                if l.starts_with("name: ") {
                    format!("name: {name_of_0}")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    });
    edit(2001, &|t| t.replace("labels: [", "labels: {x: ["));
    edit(2500, &|t| {
        t + "dockerfile: dockerfiles/missing.Dockerfile\n"
    });
    std::fs::remove_file(&paths[2999]).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&paths[5], paths[2999].with_file_name("linked.yaml")).unwrap();

    let text = same_either_way(&dir, &["validate"]);
    assert_eq!(text.status.code(), Some(1));
    let report = String::from_utf8(text.stdout).unwrap();
    for code in [
        "E0005", "E0006", "E0105", "E0113", "E0002", "E0008", "E0503",
    ] {
        assert!(report.contains(code), "no {code} in:\n{report}");
    }
    same_either_way(&dir, &["validate", "--format", "json"]);
    same_either_way(&dir, &["plan", "--offline"]);
    same_either_way(&dir, &["plan", "--offline", "--format", "json"]);
}

#[test]
fn a_plan_shares_the_entries_of_unchanged_images_with_the_recorded_index() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cat");
    generate(200, &dir);
    let (cat, diags) = berth::catalogue::load::load(&dir);
    assert!(diags.is_empty());
    let (prev, _) = berth::index::read(&dir.join("index.json"))
        .unwrap()
        .unwrap();
    let ctx = berth::lifecycle::Context {
        now: "2026-12-01T00:00:00Z".into(),
        commit: None,
        check_drift: false,
    };
    let next = berth::lifecycle::reconcile(&cat, &prev, &Default::default(), &ctx);
    let changed: std::collections::BTreeSet<&str> =
        next.changes.iter().map(|c| c.code.as_str()).collect();
    let mut shared = 0;
    for (code, entry) in &next.index.images {
        match prev.images.get(code) {
            Some(before) if !changed.contains(code.as_str()) => {
                assert!(Arc::ptr_eq(before, entry), "{code} is unchanged but copied");
                shared += 1;
            }
            Some(before) => assert!(!Arc::ptr_eq(before, entry), "{code} changed"),
            None => assert!(changed.contains(code.as_str()), "{code} is new"),
        }
    }
    // Half of the generated images are released and unchanged.
    assert_eq!(shared, 100);
}
