//! `berth init`: the starter catalogue is created, loads clean, and is never overwritten
//! without --force.

use std::path::Path;

use berth::catalogue::init::{FILES, InitError, SCHEMA_DIR, SCHEMA_FILES, init};

fn berth() -> snapbox::cmd::Command {
    snapbox::cmd::Command::new(snapbox::cmd::cargo_bin!("berth"))
}

#[test]
fn creates_a_catalogue_that_loads_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new-catalogue");
    let created = init(&dir, false).unwrap();
    assert!(created.overwritten.is_empty());
    for (rel, text) in FILES {
        assert_eq!(
            std::fs::read_to_string(dir.join(rel)).unwrap(),
            text,
            "{rel}"
        );
        assert!(
            created.created.contains(&rel.to_string()),
            "{rel} not reported"
        );
    }
    let (cat, diags) = berth::catalogue::load::load(&dir);
    let diags = diags.into_sorted();
    assert!(
        diags.is_empty(),
        "{}",
        berth::model::diag::render_text(&diags)
    );
    assert!(cat.config_path.is_some());
    assert_eq!(cat.listings.len(), 1);
    assert_eq!(cat.listings[0].value.code.value, "hello");
    assert_eq!(cat.policies.len(), 1);
    assert_eq!(cat.policies[0].value.name.value, "hello-to-qa");
    let cred = &cat.config.credentials["example-bot"];
    assert_eq!(
        cred.username_env.as_deref().map(String::as_str),
        Some("EXAMPLE_REGISTRY_USER")
    );
    // The listing's Dockerfile exists where it says.
    let df = cat.listings[0].value.dockerfile.as_ref().unwrap();
    assert!(dir.join(&df.value).is_file());
}

#[test]
fn schemas_are_written_where_the_yaml_comments_point() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let created = init(dir, false).unwrap();
    // Each `$schema=` comment resolves, relative to its file, into .berth/schema/.
    for (rel, text) in FILES.iter().filter(|(p, _)| p.ends_with(".yaml")) {
        let first = text.lines().next().unwrap();
        let target = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{rel}: no schema comment"));
        let resolved = dir.join(rel).parent().unwrap().join(target);
        let name = resolved.file_name().unwrap().to_str().unwrap();
        assert!(SCHEMA_FILES.contains(&name), "{rel}: {name}");
        assert_eq!(
            normalize(&resolved),
            dir.join(SCHEMA_DIR).join(name),
            "{rel}"
        );
    }
    // The schema files are exactly what `schema::write_all` produces.
    let reference = tempfile::tempdir().unwrap();
    berth::report::schema::write_all(reference.path()).unwrap();
    for name in SCHEMA_FILES {
        let expected = std::fs::read_to_string(reference.path().join(name)).ok();
        let got = std::fs::read_to_string(dir.join(SCHEMA_DIR).join(name)).ok();
        assert_eq!(got, expected, "{name}");
        let rel = format!("{SCHEMA_DIR}/{name}");
        assert_eq!(created.created.contains(&rel), got.is_some(), "{rel}");
    }
}

/// Resolve `..` components lexically (the file may not exist yet).
fn normalize(p: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn refuses_to_overwrite_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("berth.yaml"), "index: state.json\n").unwrap();
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::write(dir.join("images/hello.yaml"), "mine\n").unwrap();
    let err = init(dir, false).unwrap_err();
    match &err {
        InitError::Exists { files, .. } => {
            assert_eq!(files, &["berth.yaml", "images/hello.yaml"]);
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string()
            .contains("berth.yaml, images/hello.yaml (use --force to overwrite)"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("berth.yaml")).unwrap(),
        "index: state.json\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("images/hello.yaml")).unwrap(),
        "mine\n"
    );
    assert!(!dir.join("policies").exists(), "wrote files after refusing");
    assert!(
        !dir.join("dockerfiles").exists(),
        "wrote files after refusing"
    );
}

#[test]
fn force_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::write(dir.join("images/hello.yaml"), "mine\n").unwrap();
    std::fs::write(dir.join("images/other.txt"), "untouched\n").unwrap();
    let c = init(dir, true).unwrap();
    assert_eq!(c.overwritten, vec!["images/hello.yaml"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("images/hello.yaml")).unwrap(),
        FILES[1].1
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("images/other.txt")).unwrap(),
        "untouched\n"
    );
    let (_, diags) = berth::catalogue::load::load(dir);
    assert!(diags.is_empty());
}

#[test]
fn binary_init_then_refuse_then_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cat");
    let out = berth().arg("init").arg(&dir).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.starts_with("initialised a berth catalogue in "),
        "{stdout}"
    );
    for (rel, _) in FILES {
        assert!(stdout.contains(&format!("  created {rel}\n")), "{stdout}");
    }
    berth()
        .arg("init")
        .arg(&dir)
        .assert()
        .code(1)
        .stdout_eq("")
        .stderr_eq("error: refusing to overwrite existing files in [..]cat: berth.yaml, images/hello.yaml, policies/hello-to-qa.yaml, dockerfiles/hello.Dockerfile[..] (use --force to overwrite)\n");
    let out = berth()
        .arg("init")
        .arg(&dir)
        .arg("--force")
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("  overwrote berth.yaml\n"), "{stdout}");
    // The new catalogue can be marked straight away.
    berth()
        .arg("mark")
        .arg("--catalogue")
        .arg(&dir)
        .args(["hello@1.0.0", "--qa-passed"])
        .assert()
        .success()
        .stdout_eq("marked hello@1.0.0: qa passed\n");
    let text = std::fs::read_to_string(dir.join("images/hello.yaml")).unwrap();
    assert_eq!(
        text,
        format!("{}versions:\n  \"1.0.0\": {{ qa: passed }}\n", FILES[1].1)
    );
}

/// `init` lists every file it writes (the schemas included, nothing unlisted) and refuses a
/// path that is a file with one clear sentence, writing nothing.
#[test]
fn lists_every_file_and_refuses_a_file_path() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cat");
    let out = berth().arg("init").arg(&dir).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let listed: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  created "))
        .collect();
    let mut on_disk: Vec<String> = walk(&dir)
        .into_iter()
        .map(|p| {
            p.strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    on_disk.sort();
    let mut listed_sorted: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    listed_sorted.sort();
    assert_eq!(listed_sorted, on_disk, "{stdout}");
    for name in SCHEMA_FILES {
        assert!(listed.contains(&format!("{SCHEMA_DIR}/{name}").as_str()));
    }

    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    berth()
        .arg("init")
        .arg(&file)
        .assert()
        .code(2)
        .stdout_eq("")
        .stderr_eq("error: [..]a-file is a file, not a directory: give the directory to create the catalogue in\n");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    assert!(matches!(
        init(&file, false),
        Err(InitError::NotADirectory(_))
    ));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The starter policy contacts nothing outside this machine until the user points it at their
/// registries: source and target are the local registry that berth.yaml marks `insecure`.
#[test]
fn the_starter_policy_stays_on_a_local_registry() {
    let tmp = tempfile::tempdir().unwrap();
    init(tmp.path(), false).unwrap();
    let (cat, diags) = berth::catalogue::load::load(tmp.path());
    assert!(diags.is_empty());
    let p = &cat.policies[0].value;
    let hosts: Vec<&str> = [&p.source.registry, &p.target.registry]
        .iter()
        .map(|r| r.as_ref().map(|s| s.value.as_str()).unwrap_or("docker.io"))
        .collect();
    assert_eq!(hosts, vec!["localhost:5000", "localhost:5000"]);
    assert!(
        cat.config
            .registries
            .iter()
            .any(|(host, c)| host.value == "localhost:5000" && c.value.insecure)
    );
}
