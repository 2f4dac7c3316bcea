//! Pipelines resolve from index.json wherever they run (issue 14): a file, standard input or
//! a URL (a real HTTP server on loopback, with ETag revalidation and retries), several
//! selectors at once, text/json/env/github output, warnings that reach the pipeline's UI,
//! `--strict`, and the README's pipeline recipes executed as written.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

fn demo_index() -> String {
    format!("{}/fixtures/demo/index.json", root())
}

const CI_BASE_1: &str = "registry.acme.example/platform/ci-base@sha256:392c78e7d549f47c4dfc143cfef0ce429d4bd35a212f588443404adf5bca78e8";
const NODE_2: &str = "registry.acme.example/web/node-build@sha256:";

fn berth(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.args(args)
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn several_selectors_in_each_format() {
    let idx = demo_index();
    let o = berth(
        &[
            "resolve",
            "--index",
            &idx,
            "ci-base@1.latest",
            "node-build@2.latest",
        ],
        &[],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], CI_BASE_1);
    assert!(lines[1].starts_with(NODE_2), "{text}");

    let o = berth(
        &[
            "resolve",
            "--index",
            &idx,
            "--format",
            "env",
            "ci-base@1.latest",
            "ci-base@latest",
        ],
        &[],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        out(&o),
        format!("CI_BASE_1_LATEST={CI_BASE_1}\nCI_BASE_LATEST={CI_BASE_1}\n")
    );

    let o = berth(
        &[
            "resolve",
            "--index",
            &idx,
            "--format",
            "github",
            "ci-base@1.latest",
        ],
        &[],
        None,
    );
    assert_eq!(
        out(&o),
        format!("ci-base={CI_BASE_1}\njson={{\"ci-base\":\"{CI_BASE_1}\"}}\n")
    );

    let o = berth(
        &[
            "resolve",
            "--index",
            &idx,
            "--format",
            "json",
            "ci-base@1.latest",
            "node-build@2.latest",
        ],
        &[],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v[0]["pull"], CI_BASE_1);
    assert_eq!(v[0]["version"], "1.1.0");
    assert_eq!(v[1]["code"], "node-build");
    // `--json` is the old spelling of `--format json` (one selector: one object).
    let o = berth(
        &["resolve", "--index", &idx, "--json", "ci-base@1.latest"],
        &[],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["pull"], CI_BASE_1);
}

#[test]
fn standard_input_and_all_or_nothing() {
    let text = std::fs::read(demo_index()).unwrap();
    let o = berth(
        &["resolve", "--index", "-", "ci-base@1.latest"],
        &[],
        Some(&text),
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(out(&o), format!("{CI_BASE_1}\n"));
    // One selector that does not resolve: exit 1, nothing on stdout, the reason on stderr.
    let o = berth(
        &["resolve", "--index", "-", "ci-base@1.latest", "nope@latest"],
        &[],
        Some(&text),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), "");
    assert_eq!(err(&o), "error: no image `nope` in the index\n");
    // Not an index at all.
    let o = berth(
        &["resolve", "--index", "-", "ci-base@1.latest"],
        &[],
        Some(b"{\"a\":1}"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("standard input is not a berth index: it has no numeric `schemaVersion`"),
        "{}",
        err(&o)
    );
}

#[test]
fn warnings_reach_the_pipeline_and_strict_refuses() {
    let idx = demo_index();
    // node-build 1.x has only a delisted version: `1.latest` is a deprecated fallback.
    let args = ["resolve", "--index", idx.as_str(), "node-build@1.latest"];
    let o = berth(&args, &[], None);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        err(&o),
        "warning: node-build@1.0.0 is delisted (deprecated)\n"
    );
    let o = berth(&args, &[("GITHUB_ACTIONS", "true")], None);
    assert_eq!(
        err(&o),
        "::warning title=berth resolve::node-build@1.0.0 is delisted (deprecated)\n"
    );
    let mut strict = args.to_vec();
    strict.push("--strict");
    let o = berth(&strict, &[], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), "");
    assert_eq!(
        err(&o),
        "error: node-build@1.0.0 is delisted (deprecated) (--strict)\n"
    );
    // A QA-failed exact version resolves with a warning (old builds stay reproducible).
    let o = berth(&["resolve", "--index", &idx, "ci-base@1.0.1"], &[], None);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        err(&o).starts_with("warning: ci-base@1.0.1 failed QA: "),
        "{}",
        err(&o)
    );
}

/// A one-file HTTP server on loopback: serves `body` with an ETag, answers 304 to a matching
/// If-None-Match, fails the first `fail_first` requests with 503, and records every request.
struct Server {
    addr: String,
    requests: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(body: Vec<u8>, content_type: &'static str, fail_first: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (requests.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let n = r.fetch_add(1, Ordering::SeqCst);
                s.lock().unwrap().push(head.clone());
                let etag = "\"v1\"";
                let reply = if n < fail_first {
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string().into_bytes()
                } else if head
                    .to_ascii_lowercase()
                    .contains(&format!("if-none-match: {etag}"))
                {
                    format!(
                        "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n"
                    )
                    .into_bytes()
                } else {
                    let mut v = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    v.extend_from_slice(&body);
                    v
                };
                let _ = stream.write_all(&reply);
                let _ = reader.read(&mut [0u8; 0]);
            }
        });
        Server {
            addr,
            requests,
            seen,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/catalogue/index.json", self.addr)
    }
}

#[test]
fn url_with_cache_revalidation_and_retries() {
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let srv = Server::start(std::fs::read(demo_index()).unwrap(), "application/json", 1);
    let env = [("BERTH_CACHE_DIR", cache_dir)];
    let url = srv.url();
    let args = ["resolve", "--index", url.as_str(), "ci-base@1.latest"];
    // First call: one 503 (retried), then the download.
    let o = berth(&args, &env, None);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(out(&o), format!("{CI_BASE_1}\n"));
    assert_eq!(srv.requests.load(Ordering::SeqCst), 2);
    // Second call in the same job: one request, answered 304 from the cache.
    let o = berth(&args, &env, None);
    assert_eq!(out(&o), format!("{CI_BASE_1}\n"));
    assert_eq!(srv.requests.load(Ordering::SeqCst), 3);
    let last = srv
        .seen
        .lock()
        .unwrap()
        .last()
        .unwrap()
        .to_ascii_lowercase();
    assert!(last.contains("if-none-match: \"v1\""), "{last}");

    // A URL that serves a login page is not a berth index.
    let html = Server::start(b"<html>sign in</html>".to_vec(), "text/html", 0);
    let url = html.url();
    let o = berth(
        &["resolve", "--index", &url, "ci-base@1.latest"],
        &env,
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("is not a berth index: it is HTML"),
        "{}",
        err(&o)
    );
    // Plain http to a non-loopback host is refused before any request.
    let o = berth(
        &[
            "resolve",
            "--index",
            "http://index.example/index.json",
            "ci-base@1.latest",
        ],
        &env,
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("plain http is refused"), "{}", err(&o));
}

/// Run `script` with bash (`-euo pipefail`) in `dir`, berth on PATH; stdout on success.
fn sh(script: &str, dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_berth"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("bash");
    c.args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", &path)
        .env_remove("GITHUB_ACTIONS");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "README recipe failed:\n{script}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// `${{ a.b.c }}` → `a.b.c`.
fn expr(s: &str) -> &str {
    s.trim()
        .strip_prefix("${{")
        .and_then(|r| r.strip_suffix("}}"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("not an expression: {s}"))
}

/// The README's "Using the index from pipelines" recipes, run as written against the demo
/// index served on loopback: the GitHub workflow's step, job outputs and `container:`; the
/// GitLab job's script, dotenv artefact and `image:`; the Jenkinsfile's `sh`; the jq line.
#[test]
fn readme_pipeline_recipes_run_as_written() {
    let readme = std::fs::read_to_string(format!("{}/README.md", root())).unwrap();
    let section = readme
        .split("## Using the index from pipelines")
        .nth(1)
        .expect("README has the section")
        .split("\n## ")
        .next()
        .unwrap();
    let srv = Server::start(std::fs::read(demo_index()).unwrap(), "application/json", 0);
    let url = srv.url();
    let cache = tempfile::tempdir().unwrap();
    let env = [
        ("BERTH_INDEX_URL", url.as_str()),
        ("BERTH_CACHE_DIR", cache.path().to_str().unwrap()),
    ];
    let block = |lang: &str| -> String {
        let fence = format!("```{lang}\n");
        let b = section
            .split(&fence)
            .nth(1)
            .unwrap_or_else(|| panic!("no {lang} recipe"));
        b.split("```").next().unwrap().to_string()
    };
    let yaml_blocks: Vec<String> = section
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect();
    assert_eq!(yaml_blocks.len(), 2, "a GitHub and a GitLab recipe");

    // GitHub Actions: run the pick job's steps, evaluate its outputs, then `container:`.
    let gh: serde_json::Value = berth::catalogue::load::parse_yaml(&yaml_blocks[0]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut step_outputs: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, String>,
    > = Default::default();
    for step in gh["jobs"]["pick"]["steps"].as_array().unwrap() {
        let out_file = dir.path().join("github_output");
        std::fs::write(&out_file, "").unwrap();
        let mut e = env.to_vec();
        let out_path = out_file.to_str().unwrap().to_string();
        e.push(("GITHUB_OUTPUT", &out_path));
        sh(step["run"].as_str().unwrap(), dir.path(), &e);
        let written = std::fs::read_to_string(&out_file).unwrap();
        let map = written
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        step_outputs.insert(step["id"].as_str().unwrap().to_string(), map);
    }
    let job_outputs: std::collections::BTreeMap<String, String> = gh["jobs"]["pick"]["outputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let path: Vec<&str> = expr(v.as_str().unwrap()).split('.').collect();
            assert_eq!((path[0], path[2]), ("steps", "outputs"));
            (k.clone(), step_outputs[path[1]][path[3]].clone())
        })
        .collect();
    let container = expr(gh["jobs"]["build"]["container"].as_str().unwrap());
    let key = container.strip_prefix("needs.pick.outputs.").unwrap();
    assert_eq!(job_outputs[key], CI_BASE_1);

    // GitLab CI: the pick job's script writes the dotenv artefact that `image:` expands.
    let gl: serde_json::Value = berth::catalogue::load::parse_yaml(&yaml_blocks[1]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for line in gl["pick-image"]["script"].as_array().unwrap() {
        sh(line.as_str().unwrap(), dir.path(), &env);
    }
    let dotenv_file = gl["pick-image"]["artifacts"]["reports"]["dotenv"]
        .as_str()
        .unwrap();
    let dotenv = std::fs::read_to_string(dir.path().join(dotenv_file)).unwrap();
    let var = gl["build"]["image"]
        .as_str()
        .unwrap()
        .strip_prefix('$')
        .unwrap();
    let value = dotenv
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{var}=")))
        .unwrap_or_else(|| panic!("{var} not in {dotenv}"));
    assert_eq!(value, CI_BASE_1);

    // Jenkins: the `sh(script: '…', returnStdout: true).trim()` that names the image.
    let groovy = block("groovy");
    let script = groovy
        .split("sh(script: '")
        .nth(1)
        .unwrap()
        .split("', returnStdout: true")
        .next()
        .unwrap();
    assert_eq!(sh(script, dir.path(), &env).trim(), CI_BASE_1);

    // A shell with only curl and jq.
    assert_eq!(sh(&block("sh"), dir.path(), &env).trim(), CI_BASE_1);
}

/// The resolution rules of README "Lifecycle rules" (resolve) with their exact messages,
/// through the library on the demo index and on a copy in which python-lint 1.0.1 failed its
/// check and ci-base 1.0.0 was cancelled.
#[test]
fn resolution_rules_and_their_messages() {
    use berth::lifecycle::resolve::resolve;
    use berth::model::{Status, VerificationEntry, VerifyState};
    let text = std::fs::read_to_string(demo_index()).unwrap();
    let demo = berth::index::parse(&text, "index.json").unwrap();
    // Not CODE@SELECTOR: an empty code or selector too.
    for target in ["ci-base", "ci-base@", "@latest", "@"] {
        assert_eq!(
            resolve(&demo, target, None).unwrap_err().to_string(),
            format!(
                "`{target}` is not CODE@SELECTOR (e.g. ci-base@1.latest, ci-base@latest, ci-base@1.2.0)"
            )
        );
    }
    // An exact pin of a delisted version resolves, deprecated, with a warning.
    let r = resolve(&demo, "node-build@1.0.0", None).unwrap();
    assert_eq!((r.version.as_str(), r.deprecated), ("1.0.0", true));
    assert_eq!(
        r.warnings,
        vec!["node-build@1.0.0 is delisted (deprecated)"]
    );
    // A released version through its channel: not deprecated, no warning.
    let r = resolve(&demo, "node-build@2.0.0", None).unwrap();
    assert_eq!((r.deprecated, r.warnings.len()), (false, 0));

    let mut idx = demo.clone();
    let lint = std::sync::Arc::make_mut(idx.images.get_mut("python-lint").unwrap());
    let v = lint
        .versions
        .iter_mut()
        .find(|v| v.version == "1.0.1")
        .unwrap();
    v.status = Status::CheckFailed;
    v.verification = VerificationEntry {
        state: VerifyState::Failed,
        level: None,
        reason: Some("manifest unknown (404)".into()),
    };
    let ci = std::sync::Arc::make_mut(idx.images.get_mut("ci-base").unwrap());
    ci.versions
        .iter_mut()
        .find(|v| v.version == "1.0.0")
        .unwrap()
        .status = Status::Cancelled;
    for (target, project, want) in [
        (
            "python-lint@1.0.1",
            None,
            "python-lint@1.0.1 is check-failed (pull verification failed: manifest unknown (404))",
        ),
        (
            "python-lint@1.0.1",
            Some("quality-debug"),
            "python-lint@1.0.1 is check-failed (pull verification failed: manifest unknown (404))",
        ),
        ("ci-base@1.0.0", None, "ci-base@1.0.0 is cancelled"),
        (
            "ci-base@1.0.0",
            Some("ci-debug"),
            "ci-base@1.0.0 is cancelled",
        ),
    ] {
        assert_eq!(
            resolve(&idx, target, project).unwrap_err().to_string(),
            want,
            "{target} {project:?}"
        );
    }
}
