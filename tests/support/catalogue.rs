//! A catalogue in a temp dir (berth.yaml, listings) and the `berth` binary run on it, with
//! HOME isolated so no real docker config is read; plan, apply and index readers.

use std::path::PathBuf;
use std::process::{Command, Output};

pub struct Listing<'a> {
    pub code: &'a str,
    pub host: &'a str,
    pub repo: &'a str,
    pub tag: &'a str,
    pub credential: Option<&'a str>,
    pub kind: &'a str,
    pub stage: &'a str,
}

impl<'a> Listing<'a> {
    pub fn new(code: &'a str, host: &'a str, repo: &'a str, tag: &'a str) -> Self {
        Listing {
            code,
            host,
            repo,
            tag,
            credential: None,
            kind: "new",
            stage: "testing",
        }
    }
    pub fn cred(mut self, c: &'a str) -> Self {
        self.credential = Some(c);
        self
    }
    pub fn release(mut self, kind: &'a str, stage: &'a str) -> Self {
        self.kind = kind;
        self.stage = stage;
        self
    }
}

pub struct Catalogue {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Catalogue {
    /// A catalogue whose berth.yaml is `berth_yaml`; HOME points into the temp dir so no
    /// real docker config is read.
    pub fn new(berth_yaml: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("cat");
        std::fs::create_dir_all(root.join("images")).unwrap();
        std::fs::write(root.join("berth.yaml"), berth_yaml).unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        Catalogue {
            env: vec![
                ("HOME".into(), home.display().to_string()),
                ("BERTH_NOW".into(), "2026-11-20T10:00:00Z".into()),
                ("BERTH_REGISTRY_BACKOFF_MS".into(), "20".into()),
            ],
            tmp,
            root,
        }
    }

    pub fn insecure_yaml(hosts: &[&str]) -> String {
        let mut s = String::from("registries:\n");
        for h in hosts {
            s.push_str(&format!("  \"{h}\":\n    insecure: true\n"));
        }
        s
    }

    pub fn listing(&self, l: &Listing) {
        let cred = l
            .credential
            .map(|c| format!("  credential: {c}\n"))
            .unwrap_or_default();
        let name: String = l.code.replace(['-', '_'], " ");
        let yaml = format!(
            "code: {}\nname: {name}\nsummary: test image\npublisher: qa\nimage:\n  registry: \"{}\"\n  repository: {}\n  tag: \"{}\"\n{cred}release:\n  type: {}\n  stage: {}\n",
            l.code, l.host, l.repo, l.tag, l.kind, l.stage
        );
        std::fs::write(self.root.join(format!("images/{}.yaml", l.code)), yaml).unwrap();
    }

    pub fn env(&mut self, k: &str, v: &str) {
        self.env.retain(|(a, _)| a != k);
        self.env.push((k.into(), v.into()));
    }

    pub fn berth(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.args(args).arg("--catalogue").arg(&self.root);
        c.env_remove("DOCKER_CONFIG");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    /// `berth plan --format json`, parsed.
    pub fn plan(&self, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["plan", "--format", "json"];
        args.extend_from_slice(extra);
        let o = self.berth(&args);
        assert!(o.status.code() == Some(0), "plan failed: {}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("plan json: {e}\n{}", text(&o)))
    }

    /// `berth apply`; asserts success.
    pub fn apply(&self, extra: &[&str]) -> Output {
        let mut args = vec!["apply"];
        args.extend_from_slice(extra);
        let o = self.berth(&args);
        assert_eq!(o.status.code(), Some(0), "apply failed: {}", text(&o));
        o
    }

    pub fn index(&self) -> serde_json::Value {
        let t = std::fs::read_to_string(self.root.join("index.json")).unwrap();
        serde_json::from_str(&t).unwrap()
    }

    pub fn index_text(&self) -> String {
        std::fs::read_to_string(self.root.join("index.json")).unwrap_or_default()
    }

    /// The index entry of `code@version`.
    pub fn version(&self, code: &str, version: &str) -> serde_json::Value {
        let idx = self.index();
        idx["images"][code]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["version"] == version)
            .cloned()
            .unwrap_or_else(|| panic!("{code}@{version} not in index: {idx:#}"))
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The verification line of `code` in a plan.
pub fn verification<'v>(plan: &'v serde_json::Value, code: &str) -> &'v serde_json::Value {
    plan["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == code)
        .unwrap_or_else(|| panic!("no verification for {code}: {plan:#}"))
}
