//! `berth ci`: what the GitHub Action runs. It reads the run's context from the runner's
//! environment, picks the mode, runs plan or apply once, and hands the results to GitHub:
//! annotations on stdout, the report in `$GITHUB_STEP_SUMMARY`, outputs in `$GITHUB_OUTPUT`,
//! and on a pull request one plan comment, updated in place. The action's shell glue only
//! obtains the binary and calls this with the inputs.
//!
//! Mode `auto`: apply on a push to the default branch, on `schedule` and on a
//! `workflow_dispatch` of the default branch; plan everywhere else. Each run logs the
//! equivalent `berth plan …` / `berth apply …` command line, to reproduce it locally.
//!
//! Also here: [`ReportFormat`] (`--format` of validate and plan, which adds `github`) and
//! [`repo_locator`] (annotation paths are relative to the repository root, diagnostics name
//! files relative to the catalogue).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::Value;

use crate::cli::{CatalogueArgs, EXIT_CHANGES, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::gitops::github::{CommentOutcome, PullRequest};
use crate::pipeline::apply::{ApplyOptions, Step, TOKEN_VARS};
use crate::pipeline::plan::{Options, compute};
use crate::report::github::{annotation, output};

/// `--format` of `validate` and `plan`: the report formats plus `github` (workflow-command
/// annotations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ReportFormat {
    #[default]
    Text,
    Markdown,
    Json,
    /// GitHub Actions annotations (`::error file=…,line=…,col=…,title=E0xxx::…`).
    Github,
}

impl ReportFormat {
    /// The report format, or `None` for `github`.
    pub fn report(self) -> Option<crate::report::Format> {
        match self {
            ReportFormat::Text => Some(crate::report::Format::Text),
            ReportFormat::Markdown => Some(crate::report::Format::Markdown),
            ReportFormat::Json => Some(crate::report::Format::Json),
            ReportFormat::Github => None,
        }
    }
}

/// Maps a file named by a diagnostic (relative to the catalogue, or as given on the command
/// line) to its path relative to the repository root: the git work tree holding the
/// catalogue, else `$GITHUB_WORKSPACE`, else the current directory.
pub fn repo_locator(catalogue: &Path) -> impl Fn(&str) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| cwd.join(p));
    let cat = absolute(catalogue);
    let root = crate::gitops::github::worktree_root(&cat)
        .or_else(|| std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from))
        .map(|r| absolute(&r))
        .unwrap_or_else(|| absolute(&cwd));
    move |file: &str| {
        let in_cat = cat.join(file);
        let path = if in_cat.exists() || !cwd.join(file).exists() {
            in_cat
        } else {
            cwd.join(file)
        };
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        match path.strip_prefix(&root) {
            Ok(rel) => crate::model::diag::display_path(rel),
            Err(_) => file.to_string(),
        }
    }
}

#[derive(Debug, Args)]
pub struct CiArgs {
    /// Index file; empty: `index` from berth.yaml, else index.json in the catalogue.
    #[arg(long, default_value = "")]
    pub index: String,
    /// auto | plan | apply.
    #[arg(long, default_value = "auto")]
    pub mode: String,
    /// Do not contact registries (plan --offline; apply --offline --skip-verify).
    #[arg(long, default_value = "false", value_name = "BOOL")]
    pub offline: String,
    /// manifest | blobs | full.
    #[arg(long = "verify", default_value = "blobs")]
    pub verify: String,
    /// In apply mode, push the index commit ("false": only commit).
    #[arg(long, default_value = "true", value_name = "BOOL")]
    pub push: String,
    /// Report format of apply in the log: text | markdown | json (markdown also goes to the
    /// step summary; plans always go there as markdown).
    #[arg(long, default_value = "markdown")]
    pub format: String,
    /// In plan mode, fail (exit 3) when the plan has changes.
    #[arg(long, default_value = "false", value_name = "BOOL")]
    pub fail_on_changes: String,
    /// On a pull request, keep the plan in one PR comment, updated in place (needs a token
    /// with `pull-requests: write` in BERTH_GIT_TOKEN or GITHUB_TOKEN).
    #[arg(long, default_value = "true", value_name = "BOOL")]
    pub comment: String,
    /// Where outputs go (`changed`, `index-path`, `plan-json`, `mode`).
    #[arg(long, env = "GITHUB_OUTPUT", value_name = "FILE")]
    pub github_output: Option<PathBuf>,
    /// Where the markdown report goes.
    #[arg(long, env = "GITHUB_STEP_SUMMARY", value_name = "FILE")]
    pub step_summary: Option<PathBuf>,
    /// Where the plan JSON goes (default: berth-plan.json in $RUNNER_TEMP).
    #[arg(long, value_name = "FILE")]
    pub plan_json: Option<PathBuf>,
}

/// What the runner's environment says about this run.
#[derive(Debug, Default)]
struct Event {
    name: String,
    git_ref: String,
    payload: Value,
}

impl Event {
    fn from_env() -> anyhow::Result<Self> {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        let payload = match std::env::var_os("GITHUB_EVENT_PATH") {
            Some(p) if Path::new(&p).is_file() => {
                let text = std::fs::read_to_string(&p)?;
                serde_json::from_str(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot read the event payload {}: {e}",
                        Path::new(&p).display()
                    )
                })?
            }
            _ => Value::Null,
        };
        Ok(Event {
            name: var("GITHUB_EVENT_NAME"),
            git_ref: var("GITHUB_REF"),
            payload,
        })
    }

    /// The default branch is only in the payload of repository events (push, pull_request).
    fn default_branch(&self) -> Option<&str> {
        self.payload["repository"]["default_branch"].as_str()
    }

    fn on_default_branch(&self) -> bool {
        self.default_branch()
            .is_some_and(|b| self.git_ref == format!("refs/heads/{b}"))
    }

    fn pull_request_number(&self) -> Option<u64> {
        self.payload["pull_request"]["number"].as_u64()
    }

    /// `plan` or `apply` for mode `auto`.
    fn auto_mode(&self) -> &'static str {
        match self.name.as_str() {
            "push" | "workflow_dispatch" if self.on_default_branch() => "apply",
            // Scheduled runs always run on the default branch; the payload has no repository.
            "schedule" => "apply",
            _ => "plan",
        }
    }
}

/// A boolean input the way the action accepts it.
fn boolean(name: &str, v: &str) -> Result<bool, String> {
    match v.trim() {
        "true" | "True" | "TRUE" | "1" | "yes" => Ok(true),
        "false" | "False" | "FALSE" | "0" | "no" | "" => Ok(false),
        other => Err(format!("{name} must be true or false, not '{other}'")),
    }
}

/// The inputs, checked.
struct Inputs {
    mode: String,
    offline: bool,
    verify: crate::verify::Level,
    verify_name: String,
    push: bool,
    format: crate::report::Format,
    format_name: String,
    fail_on_changes: bool,
    comment: bool,
}

fn check(args: &CiArgs) -> Result<Inputs, String> {
    let mode = match args.mode.as_str() {
        m @ ("auto" | "plan" | "apply") => m.to_string(),
        m => return Err(format!("mode must be auto, plan or apply, not '{m}'")),
    };
    let verify = match args.verify.as_str() {
        "manifest" => crate::verify::Level::Manifest,
        "blobs" => crate::verify::Level::Blobs,
        "full" => crate::verify::Level::Full,
        v => return Err(format!("verify must be manifest, blobs or full, not '{v}'")),
    };
    let format = match args.format.as_str() {
        "text" => crate::report::Format::Text,
        "markdown" => crate::report::Format::Markdown,
        "json" => crate::report::Format::Json,
        f => return Err(format!("format must be text, markdown or json, not '{f}'")),
    };
    Ok(Inputs {
        mode,
        offline: boolean("offline", &args.offline)?,
        verify,
        verify_name: args.verify.clone(),
        push: boolean("push", &args.push)?,
        format,
        format_name: args.format.clone(),
        fail_on_changes: boolean("fail-on-changes", &args.fail_on_changes)?,
        comment: boolean("comment", &args.comment)?,
    })
}

/// `berth ci`. Problems the runner should show are `::error` annotations; internal errors too.
pub fn run(args: &CiArgs, cat: &CatalogueArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    match run_inner(args, cat, out) {
        Ok(code) => Ok(code),
        Err(e) => {
            out.write_all(annotation("error", None, "berth", &format!("{e:#}")).as_bytes())?;
            Ok(EXIT_ERROR)
        }
    }
}

fn run_inner(args: &CiArgs, cat: &CatalogueArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let inputs = match check(args) {
        Ok(i) => i,
        Err(msg) => {
            out.write_all(annotation("error", None, "berth", &msg).as_bytes())?;
            return Ok(EXIT_ERROR);
        }
    };
    // A mistyped catalogue path is refused (exit 2) before anything is planned or set, as
    // by every other command: an empty plan must not pass CI.
    cat.root()?;
    let event = Event::from_env()?;
    let mode = match inputs.mode.as_str() {
        "auto" => event.auto_mode(),
        "apply" => "apply",
        _ => "plan",
    };
    writeln!(
        out,
        "berth: event '{}' on '{}' (default branch '{}') -> {mode}",
        event.name,
        event.git_ref,
        event.default_branch().unwrap_or("?")
    )?;
    let mut outputs = Outputs::new(args.github_output.clone());
    outputs.set("mode", mode)?;
    if mode == "plan" {
        plan(args, cat, &inputs, &event, &mut outputs, out)
    } else {
        apply(args, cat, &inputs, &mut outputs, out)
    }
}

/// `$GITHUB_OUTPUT`, appended entry by entry (so outputs set before a failure stay set).
struct Outputs {
    file: Option<PathBuf>,
}

impl Outputs {
    fn new(file: Option<PathBuf>) -> Self {
        Outputs { file }
    }

    fn set(&mut self, name: &str, value: &str) -> anyhow::Result<()> {
        if let Some(path) = &self.file {
            append(path, &output(name, value))?;
        }
        Ok(())
    }
}

fn append(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// Write `report` to the log with workflow commands stopped: listing text in it cannot issue
/// `::…::` commands.
fn write_inert(out: &mut dyn Write, report: &str) -> anyhow::Result<()> {
    let token = format!("berth-{:016x}", fastrand::u64(..));
    writeln!(out, "::stop-commands::{token}")?;
    out.write_all(report.as_bytes())?;
    if !report.ends_with('\n') {
        writeln!(out)?;
    }
    writeln!(out, "::{token}::")?;
    Ok(())
}

/// A command line as it would be typed into a shell.
fn shell_line(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn index_flag(args: &CiArgs) -> Option<PathBuf> {
    (!args.index.is_empty()).then(|| PathBuf::from(&args.index))
}

fn common_args(args: &CiArgs, cat: &CatalogueArgs) -> Vec<String> {
    let mut v = vec![
        "--catalogue".to_string(),
        cat.catalogue.display().to_string(),
    ];
    if !args.index.is_empty() {
        v.extend(["--index".to_string(), args.index.clone()]);
    }
    v
}

fn plan(
    args: &CiArgs,
    cat: &CatalogueArgs,
    inputs: &Inputs,
    event: &Event,
    outputs: &mut Outputs,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    let mut line = vec!["berth".to_string(), "plan".to_string()];
    line.extend(common_args(args, cat));
    if inputs.offline {
        line.push("--offline".into());
    } else {
        line.extend(["--verify".to_string(), inputs.verify_name.clone()]);
    }
    writeln!(out, "berth: {}", shell_line(&line))?;
    let opts = Options {
        catalogue: cat.catalogue.clone(),
        index: index_flag(args),
        offline: inputs.offline,
        level: inputs.verify,
        check_drift: false,
        base_rev: None,
        progress: crate::cli::progress::for_stderr(),
    };
    let c = compute(&opts)?;
    let locate = repo_locator(&cat.catalogue);
    out.write_all(crate::report::github::plan(&c, &locate).as_bytes())?;
    let markdown = crate::report::plan::render(&c, crate::report::Format::Markdown, inputs.offline);
    write_inert(out, &markdown)?;
    if let Some(summary) = &args.step_summary {
        append(summary, &markdown)?;
    }
    let json_path = args.plan_json.clone().unwrap_or_else(|| {
        std::env::var_os("RUNNER_TEMP")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join("berth-plan.json")
    });
    std::fs::write(
        &json_path,
        crate::report::plan::render(&c, crate::report::Format::Json, inputs.offline),
    )
    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", json_path.display()))?;
    let changed = !c.has_errors() && c.index_changed();
    outputs.set("changed", &changed.to_string())?;
    outputs.set(
        "index-path",
        &crate::model::diag::display_path(&c.index_path),
    )?;
    outputs.set("plan-json", &json_path.display().to_string())?;
    writeln!(
        out,
        "berth: plan written to {} (changed: {changed})",
        json_path.display()
    )?;
    if inputs.comment {
        comment(event, &markdown, out)?;
    }
    if c.has_errors() {
        return Ok(EXIT_FINDINGS);
    }
    if changed && inputs.fail_on_changes {
        out.write_all(
            annotation(
                "error",
                None,
                "berth",
                "the plan has changes (fail-on-changes is set)",
            )
            .as_bytes(),
        )?;
        return Ok(EXIT_CHANGES);
    }
    Ok(EXIT_OK)
}

/// The sticky plan comment of a pull request. A comment that cannot be written (a fork's
/// read-only token, no `pull-requests: write`) is a warning: the plan is in the summary anyway.
fn comment(event: &Event, markdown: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let Some(number) = event.pull_request_number() else {
        return Ok(());
    };
    let repository = std::env::var("GITHUB_REPOSITORY").unwrap_or_default();
    let token = TOKEN_VARS
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|t| t.trim().to_string())
        .find(|t| !t.is_empty());
    let (Some(token), false) = (token, repository.is_empty()) else {
        writeln!(
            out,
            "berth: no plan comment (needs a token and GITHUB_REPOSITORY)"
        )?;
        return Ok(());
    };
    let pr = PullRequest {
        api_url: std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "https://api.github.com".to_string()),
        repository,
        number,
    };
    let head = event.payload["pull_request"]["head"]["sha"]
        .as_str()
        .filter(|s| s.len() >= 7 && s.chars().all(|c| c.is_ascii_hexdigit()))
        .map(|s| format!(" for {}", &s[..7]))
        .unwrap_or_default();
    let body = format!(
        "{markdown}\n<sub>berth {}{head}</sub>\n",
        env!("CARGO_PKG_VERSION")
    );
    match crate::gitops::github::upsert_plan_comment(&pr, &token, &body) {
        Ok(CommentOutcome::Created { id }) => {
            writeln!(out, "berth: plan comment {id} created on #{number}")?
        }
        Ok(CommentOutcome::Updated { id }) => {
            writeln!(out, "berth: plan comment {id} updated on #{number}")?
        }
        Err(e) => out.write_all(
            annotation(
                "warning",
                None,
                "berth",
                &format!("the plan comment was not written: {e:#}"),
            )
            .as_bytes(),
        )?,
    }
    Ok(())
}

fn apply(
    args: &CiArgs,
    cat: &CatalogueArgs,
    inputs: &Inputs,
    outputs: &mut Outputs,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    let mut line = vec!["berth".to_string(), "apply".to_string()];
    line.extend(common_args(args, cat));
    if inputs.offline {
        line.extend(["--offline".to_string(), "--skip-verify".to_string()]);
    } else {
        line.extend(["--verify".to_string(), inputs.verify_name.clone()]);
    }
    line.push("--commit".into());
    if inputs.push {
        line.push("--push".into());
    }
    line.extend(["--format".to_string(), inputs.format_name.clone()]);
    writeln!(out, "berth: {}", shell_line(&line))?;
    let opts = ApplyOptions {
        plan: Options {
            catalogue: cat.catalogue.clone(),
            index: index_flag(args),
            offline: inputs.offline,
            level: inputs.verify,
            check_drift: false,
            base_rev: None,
            progress: crate::cli::progress::for_stderr(),
        },
        out: None,
        commit: true,
        push: inputs.push,
        remote: "origin".to_string(),
        branch: None,
        max_push_attempts: 5,
        lock_timeout: std::time::Duration::from_secs(
            std::env::var("BERTH_LOCK_TIMEOUT")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(crate::cli::apply::DEFAULT_LOCK_TIMEOUT),
        ),
    };
    let locate = repo_locator(&cat.catalogue);
    let mut annotations = String::new();
    let mut report = Vec::new();
    let mut index_path = None;
    let mut committed = false;
    let result = crate::pipeline::apply::apply(&opts, &mut |step| {
        match &step {
            Step::Planned(c) => {
                annotations = crate::report::github::plan(c, &locate);
                index_path = Some(crate::model::diag::display_path(&c.index_path));
            }
            Step::Committed { id, .. } => committed = id.is_some(),
            _ => {}
        }
        crate::cli::apply::report_step(&step, inputs.format, inputs.offline, &mut report)
    });
    // The report so far is shown even when a later step (the push) failed.
    out.write_all(annotations.as_bytes())?;
    let report = String::from_utf8_lossy(&report).into_owned();
    write_inert(out, &report)?;
    if let (crate::report::Format::Markdown, Some(summary)) = (inputs.format, &args.step_summary) {
        append(summary, &report)?;
    }
    if let Some(p) = &index_path {
        outputs.set("index-path", p)?;
    }
    outputs.set("changed", &committed.to_string())?;
    outputs.set("plan-json", "")?;
    Ok(crate::cli::apply::exit_code(result?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_line_quotes_only_what_needs_it() {
        let args: Vec<String> = ["berth", "plan", "--catalogue", "a b", "it's", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shell_line(&args),
            r#"berth plan --catalogue 'a b' 'it'\''s' ''"#
        );
    }

    #[test]
    fn auto_mode_per_event() {
        let ev = |name: &str, r: &str, payload: Value| Event {
            name: name.into(),
            git_ref: r.into(),
            payload,
        };
        let repo = serde_json::json!({"repository": {"default_branch": "main"}});
        assert_eq!(
            ev("push", "refs/heads/main", repo.clone()).auto_mode(),
            "apply"
        );
        assert_eq!(
            ev("push", "refs/heads/dev", repo.clone()).auto_mode(),
            "plan"
        );
        assert_eq!(
            ev("workflow_dispatch", "refs/heads/main", repo.clone()).auto_mode(),
            "apply"
        );
        assert_eq!(
            ev("schedule", "refs/heads/main", Value::Null).auto_mode(),
            "apply"
        );
        assert_eq!(
            ev("pull_request", "refs/pull/1/merge", repo).auto_mode(),
            "plan"
        );
        // No payload: the default branch is unknown, so a push only plans.
        assert_eq!(
            ev("push", "refs/heads/main", Value::Null).auto_mode(),
            "plan"
        );
    }

    #[test]
    fn boolean_inputs() {
        assert_eq!(boolean("x", "True"), Ok(true));
        assert_eq!(boolean("x", ""), Ok(false));
        assert_eq!(
            boolean("offline", "maybe"),
            Err("offline must be true or false, not 'maybe'".to_string())
        );
    }
}
