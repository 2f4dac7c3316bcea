//! Unit tests of the static checks that need a hand-built catalogue (temporary directories
//! for the Dockerfile rules, an index for released references). The CLI snapshots in
//! `tests/cmd/validate` cover every rule end to end.

use std::path::{Path, PathBuf};

use super::*;
use crate::catalogue::load::Source;
use crate::model::{ImageEntry, Index, ReleaseType, VerificationEntry, VerifyState, VersionEntry};
use crate::model::{Listing, Status};

fn listing(yaml: &str) -> Listing {
    crate::catalogue::load::parse_yaml(yaml).expect("test listing parses")
}

fn basic(code: &str, repo: &str, tag: &str, extra: &str) -> Listing {
    listing(&format!(
        "code: {code}\nname: {code}\nsummary: s\npublisher: p\nimage:\n  registry: reg.example.com\n  repository: {repo}\n  tag: \"{tag}\"\nrelease:\n  type: new\n  stage: testing\n{extra}"
    ))
}

fn catalogue(root: &Path, listings: Vec<Listing>) -> Catalogue {
    Catalogue {
        root: root.to_path_buf(),
        listings: listings
            .into_iter()
            .map(|l| Source {
                path: PathBuf::from(format!("images/{}.yaml", l.code.value)),
                value: l,
            })
            .collect(),
        ..Catalogue::default()
    }
}

fn codes(d: &Diagnostics) -> Vec<(Code, String)> {
    d.clone()
        .into_sorted()
        .into_iter()
        .map(|x| (x.code, x.file))
        .collect()
}

fn version(v: &str, status: Status, reference: &str) -> VersionEntry {
    VersionEntry {
        version: v.into(),
        release_type: ReleaseType::New,
        status,
        qa: None,
        reference: reference.into(),
        digest: None,
        pull: None,
        platforms: vec![],
        size: None,
        config_labels: Default::default(),
        notes: None,
        recorded_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
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

fn index_with(images: Vec<(&str, Vec<VersionEntry>)>) -> Index {
    Index {
        schema_version: 1,
        source_commit: None,
        images: images
            .into_iter()
            .map(|(code, versions)| {
                (
                    code.to_string(),
                    std::sync::Arc::new(ImageEntry {
                        code: code.into(),
                        versions,
                        ..ImageEntry::default()
                    }),
                )
            })
            .collect(),
        promotions: vec![],
    }
}

#[test]
fn normalizes_relative_paths() {
    assert_eq!(
        normalize_relative("dockerfiles/./a/../x.Dockerfile").unwrap(),
        PathBuf::from("dockerfiles/x.Dockerfile")
    );
    assert_eq!(normalize_relative("a//b").unwrap(), PathBuf::from("a/b"));
    for bad in [
        "../x",
        "a/../../x",
        "a/b/../../../x",
        "..\\x",
        "a\\..\\..\\x",
        "/etc/passwd",
        "\\\\server\\share",
        "C:/x",
        "",
        "  ",
        ".",
        "a/..",
    ] {
        assert!(normalize_relative(bad).is_err(), "{bad:?} must be refused");
    }
}

#[test]
fn dockerfile_escape_missing_and_ok() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("dockerfiles")).unwrap();
    std::fs::write(
        dir.path().join("dockerfiles/x.Dockerfile"),
        "FROM scratch\n",
    )
    .unwrap();
    let cat = catalogue(
        dir.path(),
        vec![
            basic(
                "ok1",
                "a/one",
                "1",
                "dockerfile: dockerfiles/x.Dockerfile\n",
            ),
            basic(
                "ok2",
                "a/two",
                "1",
                "dockerfile: ./dockerfiles/../dockerfiles/x.Dockerfile\n",
            ),
            basic(
                "esc",
                "a/three",
                "1",
                "dockerfile: dockerfiles/../../x.Dockerfile\n",
            ),
            basic("abs", "a/four", "1", "dockerfile: /etc/passwd\n"),
            basic(
                "gone",
                "a/five",
                "1",
                "dockerfile: dockerfiles/missing.Dockerfile\n",
            ),
        ],
    );
    assert_eq!(
        codes(&check(&cat, None)),
        vec![
            (Code::DockerfileEscapes, "images/abs.yaml".to_string()),
            (Code::DockerfileEscapes, "images/esc.yaml".to_string()),
            (Code::DockerfileMissing, "images/gone.yaml".to_string()),
        ]
    );
}

#[cfg(unix)]
#[test]
fn dockerfile_symlinks_are_errors_and_linked_directories_escapes() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "x").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("linkdir")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("dangling")).unwrap();
    std::fs::create_dir_all(dir.path().join("real")).unwrap();
    std::fs::write(dir.path().join("real/ok"), "x").unwrap();
    std::os::unix::fs::symlink(dir.path().join("real/ok"), dir.path().join("inner-link")).unwrap();
    let cat = catalogue(
        dir.path(),
        vec![
            basic("a", "a/a", "1", "dockerfile: link\n"),
            basic("b", "a/b", "1", "dockerfile: linkdir/secret\n"),
            basic("c", "a/c", "1", "dockerfile: dangling\n"),
            basic("d", "a/d", "1", "dockerfile: inner-link\n"),
            basic("e", "a/e", "1", "dockerfile: real/ok\n"),
            basic("f", "a/f", "1", "dockerfile: real\n"),
        ],
    );
    // A symlinked Dockerfile is an error wherever it points (outside, dangling, inside).
    assert_eq!(
        codes(&check(&cat, None)),
        vec![
            (Code::Symlink, "images/a.yaml".to_string()),
            (Code::DockerfileEscapes, "images/b.yaml".to_string()),
            (Code::Symlink, "images/c.yaml".to_string()),
            (Code::Symlink, "images/d.yaml".to_string()),
            (Code::DockerfileMissing, "images/f.yaml".to_string()),
        ]
    );
}

#[test]
fn duplicate_reference_against_index() {
    let dir = tempfile::tempdir().unwrap();
    let r1 = "reg.example.com/team/a:1";
    let r2 = "reg.example.com/team/a:2";
    let index = index_with(vec![
        (
            "a",
            vec![
                version("1.0.0", Status::Released, r1),
                version("1.1.0", Status::Released, r2),
            ],
        ),
        (
            "b",
            vec![
                version("1.0.0", Status::Released, "reg.example.com/team/b:1"),
                version("2.0.0", Status::Testing, "reg.example.com/team/b:2"),
            ],
        ),
        // A testing (not released) reference is free for others to use.
        (
            "c",
            vec![version(
                "1.0.0",
                Status::Testing,
                "reg.example.com/team/c:9",
            )],
        ),
    ]);
    let check_one = |l: Listing| codes(&check(&catalogue(dir.path(), vec![l]), Some(&index)));
    // Unchanged newest version: the normal case.
    assert!(check_one(basic("a", "team/a", "2", "")).is_empty());
    // Back to an older released tag of the same image.
    assert_eq!(
        check_one(basic("a", "team/a", "1", "")),
        vec![(Code::DuplicateReference, "images/a.yaml".into())]
    );
    // Another image's released reference.
    assert_eq!(
        check_one(basic("z", "team/a", "2", "")),
        vec![(Code::DuplicateReference, "images/z.yaml".into())]
    );
    // b's newest is testing; 1.0.0 is released but no longer the newest.
    assert_eq!(
        check_one(basic("b", "team/b", "1", "")),
        vec![(Code::DuplicateReference, "images/b.yaml".into())]
    );
    assert!(check_one(basic("b", "team/b", "2", "")).is_empty());
    assert!(check_one(basic("z", "team/c", "9", "")).is_empty());
    // Index references are compared canonically (docker.io/library).
    let hub = index_with(vec![(
        "u",
        vec![version(
            "1.0.0",
            Status::Released,
            "docker.io/library/ubuntu:24.04",
        )],
    )]);
    let l = listing(
        "code: v\nname: v\nsummary: s\npublisher: p\nimage:\n  repository: ubuntu\n  tag: \"24.04\"\nrelease:\n  type: new\n  stage: testing\n",
    );
    assert_eq!(
        codes(&check(&catalogue(dir.path(), vec![l]), Some(&hub))),
        vec![(Code::DuplicateReference, "images/v.yaml".into())]
    );
}

#[test]
fn duplicate_reference_between_listings_points_at_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let a = listing(
        "code: a\nname: A\nsummary: s\npublisher: p\nimage:\n  repository: ubuntu\n  tag: \"1\"\nrelease:\n  type: new\n  stage: testing\n",
    );
    let b = listing(
        "code: b\nname: B\nsummary: s\npublisher: p\nimage:\n  registry: docker.io\n  repository: library/ubuntu\n  tag: \"1\"\nrelease:\n  type: new\n  stage: testing\n",
    );
    let d = check(&catalogue(dir.path(), vec![a, b]), None).into_sorted();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, Code::DuplicateReference);
    assert_eq!(d[0].file, "images/b.yaml");
    assert_eq!((d[0].line, d[0].column), (8, 8));
    assert!(
        d[0].message.contains("images/a.yaml:7:8"),
        "{}",
        d[0].message
    );
}

#[test]
fn names_are_unique_case_insensitively() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = basic("a", "x/a", "1", "");
    a.name.value = "CI Base".into();
    let mut b = basic("b", "x/b", "1", "");
    b.name.value = "ci base".into();
    assert_eq!(
        codes(&check(&catalogue(dir.path(), vec![a, b]), None)),
        vec![(Code::DuplicateName, "images/b.yaml".into())]
    );
}

#[test]
fn credentials_need_exactly_one_source() {
    let dir = tempfile::tempdir().unwrap();
    let cfg: crate::model::Config = crate::catalogue::load::parse_yaml(
        "credentials:\n  ok-env: { usernameEnv: U, passwordEnv: P }\n  ok-docker: { dockerConfig: true }\n  half: { usernameEnv: U }\n  both: { usernameEnv: U, passwordEnv: P, dockerConfig: true }\n  none: {}\n  badvar: { usernameEnv: U, passwordEnv: \"my secret\" }\n",
    )
    .unwrap();
    let cat = Catalogue {
        root: dir.path().to_path_buf(),
        config: cfg,
        ..Catalogue::default()
    };
    let d = check(&cat, None).into_sorted();
    let msgs: Vec<&str> = d.iter().map(|x| x.message.as_str()).collect();
    assert_eq!(d.len(), 4, "{msgs:?}");
    assert!(d.iter().all(|x| x.code == Code::InvalidConfig));
    for name in ["half", "both", "none", "badvar"] {
        assert!(
            msgs.iter().any(|m| m.contains(&format!("`{name}`"))),
            "{name}: {msgs:?}"
        );
    }
}
