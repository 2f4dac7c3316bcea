//! Tests of `action.yml`: (a) it validates against the GitHub Action schema shipped with
//! check-jsonschema; (b) its shell steps, run with bash the way the runner runs a composite
//! action: inputs and `${{ }}` expressions substituted, GITHUB_OUTPUT / GITHUB_PATH /
//! GITHUB_STEP_SUMMARY files, an event payload, and fake `cargo` and `berth` executables
//! that record their arguments. The fakes are the point: these tests are about the action's
//! shell glue, not about berth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

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
/// (`inputs.x`, `github.x`, `steps.id.outputs.x`), string literals, `==`/`!=`.
/// Anything else panics, so a new construct in action.yml shows up here, not as a silent pass.
fn eval(expr: &str, ctx: &Ctx<'_>) -> String {
    let expr = expr.trim();
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

const FAKE_BERTH: &str = r###"#!/usr/bin/env bash
# Fake berth: records its arguments (one invocation per line, args separated by |) and prints
# canned output per subcommand/format.
set -euo pipefail
(IFS='|'; echo "$*") >> "$FAKE_LOG"
if [ -n "${BERTH_GIT_TOKEN:-}" ]; then echo "token-seen" >> "$FAKE_LOG.env"; fi
cmd="$1"; shift
format=text; detailed=false; catalogue=.; json_out=
while [ $# -gt 0 ]; do
  case "$1" in
    --format) format="$2"; shift ;;
    --json-out) json_out="$2"; shift ;;
    --catalogue) catalogue="$2"; shift ;;
    --detailed-exitcode) detailed=true ;;
  esac
  shift
done
case "$cmd" in
  validate) echo "catalogue is valid" ;;
  plan)
    case "$format" in
      markdown) printf '## berth plan\n\n| image | change |\n|---|---|\n| ci-base | 1.1.0 (new) |\n' ;;
      json) echo '{"changes": [{"code": "ci-base", "version": "1.1.0"}]}' ;;
      *) echo "ci-base: new version 1.1.0" ;;
    esac
    if [ -n "$json_out" ]; then echo '{"changes": [{"code": "ci-base", "version": "1.1.0"}]}' > "$json_out"; fi
    if [ "$detailed" = true ]; then exit "${FAKE_PLAN_EXIT:-0}"; fi ;;
  apply)
    if [ "${FAKE_APPLY_COMMITS:-0}" = 1 ]; then
      echo '{"v": 2}' > "$catalogue/index.json"
      git -C "$catalogue" add index.json
      git -C "$catalogue" -c user.name=t -c user.email=t@e commit -q -m "berth: update index"
    fi
    echo "## berth apply"; echo "index updated" ;;
  *) echo "unexpected subcommand $cmd" >&2; exit 2 ;;
esac
"###;

/// Fake cargo: records the install and "installs" the fake berth into --root/bin.
const FAKE_CARGO: &str = r#"#!/usr/bin/env bash
set -euo pipefail
(IFS='|'; echo "$*") >> "$FAKE_CARGO_LOG"
root=""
while [ $# -gt 0 ]; do
  if [ "$1" = --root ]; then root="$2"; fi
  shift
done
mkdir -p "$root/bin"
cp "$FAKE_BERTH_SRC" "$root/bin/berth"
chmod +x "$root/bin/berth"
"#;

struct Run {
    /// Per berth invocation, its arguments.
    berth: Vec<Vec<String>>,
    cargo: Vec<Vec<String>>,
    outputs: BTreeMap<String, String>,
    summary: String,
    stdout: String,
    success: bool,
    token_seen: bool,
    runner_temp: PathBuf,
    action_path: PathBuf,
    workspace: PathBuf,
    _tmp: tempfile::TempDir,
}

struct Sim<'a> {
    event_name: &'a str,
    git_ref: &'a str,
    event: Value,
    with: Vec<(&'a str, &'a str)>,
    env: Vec<(&'a str, &'a str)>,
    /// Make a git repo of the catalogue dir `cat` (and optionally a berth.yaml in it).
    berth_yaml: Option<&'a str>,
}

impl<'a> Sim<'a> {
    fn new(event_name: &'a str, git_ref: &'a str) -> Self {
        Sim {
            event_name,
            git_ref,
            event: json!({"repository": {"default_branch": "main", "full_name": "acme/catalogue"}}),
            with: vec![("catalogue", "cat")],
            env: vec![],
            berth_yaml: None,
        }
    }
}

fn need(tool: &str, hint: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "`{tool}` is required by the action tests: {hint}");
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

/// Run the action's steps like the runner: each step gets its own GITHUB_OUTPUT file, its
/// `if:` decides whether it runs, lines added to GITHUB_PATH are prepended to PATH for later
/// steps, and a failing step stops the job.
fn simulate(sim: Sim<'_>) -> Run {
    need("bash", "apt-get install bash");
    need("jq", "apt-get install jq");
    need("git", "apt-get install git");
    let action = action();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let workspace = root.join("workspace");
    let cat = workspace.join("cat");
    std::fs::create_dir_all(&cat).unwrap();
    std::fs::write(cat.join("index.json"), "{\"v\": 1}\n").unwrap();
    if let Some(y) = sim.berth_yaml {
        std::fs::write(cat.join("berth.yaml"), y).unwrap();
    }
    git(&cat, &["init", "-q"]);
    git(&cat, &["add", "."]);
    git(&cat, &["commit", "-q", "-m", "init"]);
    let runner_temp = root.join("runner_temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let fakes = root.join("fakes");
    std::fs::create_dir_all(&fakes).unwrap();
    let berth_src = root.join("fake-berth");
    write_exe(&berth_src, FAKE_BERTH);
    write_exe(&fakes.join("cargo"), FAKE_CARGO);
    let event_path = root.join("event.json");
    std::fs::write(&event_path, sim.event.to_string()).unwrap();
    let summary = root.join("summary.md");
    std::fs::write(&summary, "").unwrap();
    let github_path = root.join("github_path");
    std::fs::write(&github_path, "").unwrap();
    let berth_log = root.join("berth.log");
    let cargo_log = root.join("cargo.log");
    let action_path = PathBuf::from(MANIFEST_DIR);

    let mut github = BTreeMap::new();
    github.insert("token", "ghs_fake_runner_token".to_string());
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

    let system_path = std::env::var("PATH").unwrap_or_default();
    let mut extra_path: Vec<String> = vec![fakes.display().to_string()];
    let mut steps_out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut stdout_all = String::new();
    let mut success = true;
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
        let script = step["run"].as_str().expect("only run: steps");
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
            .env("HOME", root)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", sim.event_name)
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_REF", sim.git_ref)
            .env("GITHUB_WORKSPACE", &workspace)
            .env("GITHUB_ACTION_PATH", &action_path)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("RUNNER_TEMP", &runner_temp)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("FAKE_LOG", &berth_log)
            .env("FAKE_CARGO_LOG", &cargo_log)
            .env("FAKE_BERTH_SRC", &berth_src)
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
            .chain(std::iter::once(fakes.display().to_string()))
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
    let split = |p: &Path| -> Vec<Vec<String>> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('|').map(str::to_string).collect())
            .collect()
    };
    let token_seen = std::fs::read_to_string(root.join("berth.log.env"))
        .map(|s| s.contains("token-seen"))
        .unwrap_or(false);
    Run {
        berth: split(&berth_log),
        cargo: split(&cargo_log),
        outputs,
        summary: std::fs::read_to_string(&summary).unwrap(),
        stdout: stdout_all,
        success,
        token_seen,
        runner_temp,
        action_path,
        workspace,
        _tmp: tmp,
    }
}

fn args(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

#[test]
fn pull_request_validates_and_plans_into_summary_and_outputs() {
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.env.push(("FAKE_PLAN_EXIT", "3"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    // Installed from the action's own checkout, then found through GITHUB_PATH.
    assert_eq!(run.cargo.len(), 1, "{:?}", run.cargo);
    let install = &run.cargo[0];
    assert_eq!(
        install[..4],
        args(&format!(
            "install --locked --path {}",
            run.action_path.display()
        ))[..]
    );
    let json_out = run.runner_temp.join("berth-plan.json");
    assert_eq!(
        run.berth,
        vec![
            args("validate --catalogue cat"),
            args(&format!(
                "plan --catalogue cat --verify blobs --format markdown --json-out {} --detailed-exitcode",
                json_out.display()
            )),
        ],
        "one plan run for both outputs"
    );
    assert!(run.summary.contains("## berth plan"), "{}", run.summary);
    assert!(
        run.summary.contains("| ci-base | 1.1.0 (new) |"),
        "{}",
        run.summary
    );
    let plan_json = PathBuf::from(&run.outputs["plan-json"]);
    assert!(plan_json.starts_with(&run.runner_temp), "{plan_json:?}");
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_json).unwrap()).unwrap();
    assert_eq!(plan["changes"][0]["code"], "ci-base");
    assert_eq!(run.outputs["changed"], "true");
    assert_eq!(run.outputs["index-path"], "cat/index.json");
    assert_eq!(run.outputs["mode"], "plan");
}

#[test]
fn pull_request_without_changes_reports_unchanged() {
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.env.push(("FAKE_PLAN_EXIT", "0"));
    sim.with.push(("fail-on-changes", "true"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.outputs["changed"], "false");
}

#[test]
fn fail_on_changes_fails_the_step_but_still_sets_outputs() {
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.env.push(("FAKE_PLAN_EXIT", "3"));
    sim.with.push(("fail-on-changes", "true"));
    let run = simulate(sim);
    assert!(!run.success);
    assert!(
        run.stdout.contains("the plan has changes"),
        "{}",
        run.stdout
    );
    assert_eq!(run.outputs["changed"], "true");
}

#[test]
fn plan_error_exit_fails_the_step() {
    let mut sim = Sim::new("pull_request", "refs/pull/7/merge");
    sim.env.push(("FAKE_PLAN_EXIT", "2"));
    let run = simulate(sim);
    assert!(!run.success);
    assert!(run.stdout.contains("exit code 2"), "{}", run.stdout);
}

#[test]
fn push_to_default_branch_applies_commits_and_pushes() {
    let mut sim = Sim::new("push", "refs/heads/main");
    sim.env.push(("FAKE_APPLY_COMMITS", "1"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.berth,
        vec![args(
            "apply --catalogue cat --verify blobs --commit --push --format markdown"
        )]
    );
    assert!(
        run.token_seen,
        "the token input reaches berth as BERTH_GIT_TOKEN"
    );
    assert!(
        !run.stdout.contains("ghs_fake_runner_token"),
        "token printed"
    );
    assert_eq!(run.outputs["changed"], "true");
    assert_eq!(run.outputs["plan-json"], "");
    assert_eq!(run.outputs["mode"], "apply");
    assert!(run.summary.contains("index updated"), "{}", run.summary);
}

#[test]
fn apply_without_a_new_commit_is_unchanged() {
    let mut sim = Sim::new("push", "refs/heads/main");
    sim.with.push(("push", "false"));
    sim.with.push(("format", "text"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.berth,
        vec![args(
            "apply --catalogue cat --verify blobs --commit --format text"
        )]
    );
    assert_eq!(run.outputs["changed"], "false");
    assert_eq!(run.summary, "", "text reports stay out of the summary");
}

#[test]
fn push_to_other_branch_only_plans() {
    let mut sim = Sim::new("push", "refs/heads/feature/x");
    sim.env.push(("FAKE_PLAN_EXIT", "0"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.berth[0], args("validate --catalogue cat"));
    assert!(run.berth.iter().all(|a| a[0] != "apply"), "{:?}", run.berth);
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
        run.berth,
        vec![args(
            "apply --catalogue cat --verify full --commit --push --format markdown"
        )]
    );
}

#[test]
fn offline_flags_per_mode() {
    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.with.push(("offline", "true"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.berth[1][..6],
        args("plan --catalogue cat --offline --format markdown")[..]
    );

    let mut sim = Sim::new("push", "refs/heads/main");
    sim.with.push(("offline", "true"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.berth,
        vec![args(
            "apply --catalogue cat --offline --skip-verify --commit --push --format markdown"
        )]
    );
}

#[test]
fn explicit_mode_overrides_event() {
    let mut sim = Sim::new("push", "refs/heads/main");
    sim.with.push(("mode", "plan"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert!(run.berth.iter().all(|a| a[0] != "apply"), "{:?}", run.berth);

    let mut sim = Sim::new("push", "refs/heads/main");
    sim.with.push(("mode", "destroy"));
    let run = simulate(sim);
    assert!(!run.success);
    assert!(
        run.stdout.contains("mode must be auto, plan or apply"),
        "{}",
        run.stdout
    );
    assert!(run.berth.is_empty());
}

#[test]
fn index_path_from_input_or_berth_yaml() {
    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.with.push(("index", "cat/state/idx.json"));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(
        run.berth[0],
        args("validate --catalogue cat --index cat/state/idx.json")
    );
    assert_eq!(run.outputs["index-path"], "cat/state/idx.json");

    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.berth_yaml = Some("registries: {}\nindex: \"state/index.json\"  # generated\n");
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert_eq!(run.outputs["index-path"], "cat/state/index.json");
}

#[test]
fn install_false_uses_berth_from_path() {
    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.with.push(("install", "false"));
    let run = simulate(sim);
    // Nothing installed berth and the fake dir has only cargo: the run step cannot find it.
    assert!(run.cargo.is_empty());
    assert!(!run.success);
    assert!(
        run.stdout.contains("berth: command not found"),
        "{}",
        run.stdout
    );
}

#[test]
fn input_values_cannot_inject_shell() {
    let mut sim = Sim::new("pull_request", "refs/pull/1/merge");
    sim.with
        .push(("catalogue", "cat\"; touch INJECTED; echo \""));
    let run = simulate(sim);
    assert!(run.success, "{}", run.stdout);
    assert!(
        !run.workspace.join("INJECTED").exists(),
        "input value ran as shell"
    );
    // The odd value reaches berth as one argument, unchanged.
    assert_eq!(
        run.berth.first().map(|a| a[2].clone()),
        Some("cat\"; touch INJECTED; echo \"".to_string())
    );
}
