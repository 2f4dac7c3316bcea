//! "A listing or Dockerfile that is a symlink is an error, never silently skipped."
//!
//! Real catalogues in temp dirs with real symlinks, run through the `berth` binary: a
//! symlinked listing, policy, berth.yaml, directory of listings (or `images/` itself) or
//! Dockerfile is error E0008 at its path (the Dockerfile at its `dockerfile:` value), whether
//! it points inside the catalogue, outside or nowhere; validate, plan and apply exit 1 and
//! apply writes no index. The same catalogue with regular files passes, so only the links
//! make the difference. (`tests/cmd/validate/symlink.toml` has the exact text output.)

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A diagnostic as (code, file, line, message).
type Diag = (String, String, u64, String);

fn listing(code: &str, extra: &str) -> String {
    format!(
        "code: {code}\nname: {code} image\nsummary: s\npublisher: p\nimage:\n  repository: acme/{code}\n  tag: \"1.0\"\n{extra}release:\n  type: new\n  stage: testing\n"
    )
}

const POLICY: &str = "name: to-qa\nsource: { registry: reg.example.com, repository: dev/a }\ntarget:\n  registry: reg.example.com\n  repository: qa/a\n  tag: \"%n\"\n";

/// A temp dir with `cat/` (the catalogue: berth.yaml, images/) and `shared/` next to it.
struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        for d in [
            "cat/images",
            "cat/policies",
            "cat/dockerfiles",
            "shared/team",
        ] {
            std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        }
        std::fs::write(tmp.path().join("cat/berth.yaml"), "index: index.json\n").unwrap();
        Fixture { tmp }
    }
    fn cat(&self) -> PathBuf {
        self.tmp.path().join("cat")
    }
    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.tmp.path().join(rel), text).unwrap();
    }
    /// `cat/<rel>` → `target` (as written, relative to the link's directory).
    fn link(&self, target: &str, rel: &str) {
        symlink(target, self.cat().join(rel)).unwrap();
    }
    fn berth(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .arg("--catalogue")
            .arg(self.cat())
            .env("BERTH_NOW", "2026-11-20T10:00:00Z")
            .env("HOME", self.tmp.path())
            .output()
            .unwrap()
    }
    /// `validate --format json`: (exit code, [(code, file, line, message)]).
    fn validate(&self) -> (Option<i32>, Vec<Diag>) {
        let o = self.berth(&["validate", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        let diags = v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["code"].as_str().unwrap().to_string(),
                    d["file"].as_str().unwrap().to_string(),
                    d["line"].as_u64().unwrap(),
                    d["message"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (o.status.code(), diags)
    }
    /// plan and apply both exit 1 and nothing is written.
    fn assert_plan_and_apply_refuse(&self) {
        let o = self.berth(&["plan", "--offline"]);
        assert_eq!(o.status.code(), Some(1), "plan: {o:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("error[E0008]"),
            "plan: {o:?}"
        );
        let o = self.berth(&["apply", "--offline", "--skip-verify"]);
        assert_eq!(o.status.code(), Some(1), "apply: {o:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Nothing written"),
            "apply: {o:?}"
        );
        assert!(!self.cat().join("index.json").exists(), "apply wrote");
    }
}

fn d(code: &str, file: &str, line: u64, message: &str) -> Diag {
    (code.into(), file.into(), line, message.into())
}

#[test]
fn regular_files_pass() {
    let f = Fixture::new();
    f.write("cat/images/app.yaml", &listing("app", ""));
    f.write(
        "cat/images/real.yaml",
        &listing("real", "dockerfile: dockerfiles/real.Dockerfile\n"),
    );
    f.write("cat/dockerfiles/real.Dockerfile", "FROM scratch\n");
    f.write("cat/policies/qa.yaml", POLICY);
    assert_eq!(f.validate(), (Some(0), vec![]));
    let o = f.berth(&["apply", "--offline", "--skip-verify"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn symlinked_listings_and_policies_are_errors_not_skipped() {
    let f = Fixture::new();
    f.write("cat/images/app.yaml", &listing("app", ""));
    // Inside the catalogue, outside it, and dangling: all the same error.
    f.write("cat/images/inner.txt", &listing("inner", ""));
    f.link("inner.txt", "images/inner.yaml");
    f.write("shared/outer.yaml", &listing("outer", ""));
    f.link("../../shared/outer.yaml", "images/outer.yaml");
    f.link("gone.yaml", "images/dangling.yaml");
    // A linked directory would hide every listing in it.
    f.write("shared/team/a.yaml", &listing("a", ""));
    f.link("../../shared/team", "images/team");
    f.write("shared/qa.yaml", POLICY);
    f.link("../../shared/qa.yaml", "policies/qa.yaml");
    let (code, diags) = f.validate();
    assert_eq!(code, Some(1));
    let never = "berth never follows symlinks in a catalogue";
    assert_eq!(
        diags,
        vec![
            d(
                "E0008",
                "images/dangling.yaml",
                1,
                &format!("listing is a symlink (to `gone.yaml`); {never}")
            ),
            d(
                "E0008",
                "images/inner.yaml",
                1,
                &format!("listing is a symlink (to `inner.txt`); {never}")
            ),
            d(
                "E0008",
                "images/outer.yaml",
                1,
                &format!("listing is a symlink (to `../../shared/outer.yaml`); {never}")
            ),
            d(
                "E0008",
                "images/team",
                1,
                &format!(
                    "directory of listing files is a symlink (to `../../shared/team`); {never}"
                )
            ),
            d(
                "E0008",
                "policies/qa.yaml",
                1,
                &format!("policy is a symlink (to `../../shared/qa.yaml`); {never}")
            ),
        ]
    );
    f.assert_plan_and_apply_refuse();
}

#[test]
fn symlinked_images_directory_and_berth_yaml_are_errors() {
    let f = Fixture::new();
    std::fs::remove_dir(f.cat().join("images")).unwrap();
    f.write("shared/team/a.yaml", &listing("a", ""));
    f.link("../shared/team", "images");
    std::fs::remove_file(f.cat().join("berth.yaml")).unwrap();
    f.write("shared/berth.yaml", "index: index.json\n");
    f.link("../shared/berth.yaml", "berth.yaml");
    let (code, diags) = f.validate();
    assert_eq!(code, Some(1));
    let never = "berth never follows symlinks in a catalogue";
    assert_eq!(
        diags,
        vec![
            d(
                "E0008",
                "berth.yaml",
                1,
                &format!("berth.yaml is a symlink (to `../shared/berth.yaml`); {never}")
            ),
            d(
                "E0008",
                "images",
                1,
                &format!("directory of listing files is a symlink (to `../shared/team`); {never}")
            ),
        ]
    );
    f.assert_plan_and_apply_refuse();
}

#[test]
fn symlinked_dockerfile_is_an_error_even_inside_the_catalogue() {
    let f = Fixture::new();
    f.write("cat/dockerfiles/real.Dockerfile", "FROM scratch\n");
    f.link("real.Dockerfile", "dockerfiles/inner.Dockerfile");
    f.write("shared/outer.Dockerfile", "FROM scratch\n");
    f.link(
        "../../shared/outer.Dockerfile",
        "dockerfiles/outer.Dockerfile",
    );
    f.link("nowhere", "dockerfiles/dangling.Dockerfile");
    for name in ["inner", "outer", "dangling"] {
        f.write(
            &format!("cat/images/{name}.yaml"),
            &listing(
                name,
                &format!("dockerfile: dockerfiles/{name}.Dockerfile\n"),
            ),
        );
    }
    f.write(
        "cat/images/real.yaml",
        &listing("real", "dockerfile: dockerfiles/real.Dockerfile\n"),
    );
    let (code, diags) = f.validate();
    assert_eq!(code, Some(1));
    let want: Vec<_> = ["dangling", "inner", "outer"]
        .iter()
        .map(|n| {
            d(
                "E0008",
                &format!("images/{n}.yaml"),
                8,
                &format!("dockerfile `dockerfiles/{n}.Dockerfile` is a symlink"),
            )
        })
        .collect();
    assert_eq!(diags, want);
    f.assert_plan_and_apply_refuse();
}

#[test]
fn a_symlink_is_reported_in_its_place_among_other_errors() {
    // The link does not hide other findings, and other findings do not hide the link.
    let f = Fixture::new();
    f.write("cat/images/bad.yaml", &listing("other", ""));
    f.write("shared/x.yaml", &listing("x", ""));
    f.link(
        Path::new("../../shared/x.yaml").to_str().unwrap(),
        "images/x.yaml",
    );
    let (code, diags) = f.validate();
    assert_eq!(code, Some(1));
    let codes: Vec<(&str, &str)> = diags
        .iter()
        .map(|(c, f, _, _)| (c.as_str(), f.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![("E0102", "images/bad.yaml"), ("E0008", "images/x.yaml")]
    );
}
