//! `berth resolve SELECTOR… [--index PATH|-|URL] [--project P] [--format text|json|env|github]
//! [--strict]`: pinned pull references for pipelines.
//!
//! All or nothing: stdout gets the references only when every selector resolved (and, with
//! `--strict`, none drew a warning), so a pipeline never runs on a partial answer. Warnings
//! (delisted or deprecated fallback, QA failed, not pinned by digest) go to stderr, and as
//! `::warning::` workflow commands when running under GitHub Actions. Exit 1 when a selector
//! does not resolve (or a warning under `--strict`); 2 for usage errors and unreadable indexes.
//!
//! Output names (`env`, `github`): the image code, for `env` upper-cased with every character
//! other than a letter or digit turned into `_` (`ci-base` → `CI_BASE`); when the same code is
//! asked for twice, the selector is appended (`CI_BASE_1_LATEST`, `ci-base-1-latest`).

use std::collections::BTreeMap;
use std::io::Write;

use clap::{Args, ValueEnum};

use crate::cli::{CatalogueArgs, EXIT_FINDINGS, EXIT_OK};
use crate::index::source::FetchOptions;
use crate::lifecycle::resolve::Resolved;

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The index: a file, `-` for standard input, or an https URL (e.g. the raw file or the
    /// published store page's `index.json`). Default: `index` from berth.yaml.
    #[arg(long)]
    pub index: Option<String>,
    /// CODE@SELECTOR, e.g. `ci-base@1.latest` (one or more).
    #[arg(required_unless_present = "images")]
    pub targets: Vec<String>,
    /// More selectors, one per line (blank lines and `#` comments ignored): the GitHub
    /// Action's `images:` input, handed over as one argument.
    #[arg(long, value_name = "LINES")]
    pub images: Option<String>,
    /// The project asking; the image's debug project also sees testing versions. Empty: none.
    #[arg(long)]
    pub project: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ResolveFormat,
    /// Same as `--format json` (kept for existing scripts).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Treat warnings (delisted, deprecated fallback, QA failed, not pinned) as errors
    /// (`--strict` or `--strict=true|false`).
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", value_name = "BOOL")]
    pub strict: bool,
    /// Seconds to wait for an index URL.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// `berth resolve --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ResolveFormat {
    /// One pinned reference per line, in the order asked.
    #[default]
    Text,
    /// One object (one selector) or an array of objects (several).
    Json,
    /// `NAME=reference` lines (a dotenv file, e.g. a GitLab CI `dotenv` artefact).
    Env,
    /// `name=reference` lines plus `json={name: reference}` for `$GITHUB_OUTPUT`.
    Github,
}

/// `berth resolve`.
pub fn run(args: &ResolveArgs, cat: &CatalogueArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let fetch = FetchOptions {
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        ..FetchOptions::default()
    };
    // A pipeline elsewhere names the index and has no catalogue; without --index, the
    // catalogue's berth.yaml names it, so the catalogue must be one.
    // An empty value means "not given" (the Action passes its inputs through as they are).
    let index = args.index.as_deref().filter(|i| !i.is_empty());
    let project = args.project.as_deref().filter(|p| !p.is_empty());
    let mut targets = args.targets.clone();
    if let Some(lines) = &args.images {
        targets.extend(
            lines
                .lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    if targets.is_empty() {
        anyhow::bail!("no selector given (CODE@SELECTOR, e.g. ci-base@1.latest)");
    }
    let catalogue = match index {
        Some(_) => cat.catalogue.clone(),
        None => cat.root()?.to_path_buf(),
    };
    let r = crate::pipeline::resolve::resolve(&catalogue, index, &targets, project, &fetch)?;
    let github = std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true");
    let mut failed = false;
    let mut ok: Vec<(&str, &Resolved)> = Vec::new();
    for (target, result) in &r.results {
        match result {
            Ok(res) => {
                for w in &res.warnings {
                    if args.strict {
                        failed = true;
                        report(github, "error", &format!("{w} (--strict)"));
                    } else {
                        report(github, "warning", w);
                    }
                }
                ok.push((target, res));
            }
            Err(e) => {
                failed = true;
                report(github, "error", &e.to_string());
            }
        }
    }
    if failed {
        return Ok(EXIT_FINDINGS);
    }
    let format = if args.json {
        ResolveFormat::Json
    } else {
        args.format
    };
    out.write_all(render(&ok, format)?.as_bytes())?;
    Ok(EXIT_OK)
}

/// A warning or error for the pipeline's log, as a workflow command under GitHub Actions.
fn report(github: bool, level: &str, message: &str) {
    if github {
        // Workflow command data escapes (`%`, CR, LF), so a message stays one annotation.
        let data = message
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        eprintln!("::{level} title=berth resolve::{data}");
    } else {
        eprintln!("{level}: {message}");
    }
}

fn render(ok: &[(&str, &Resolved)], format: ResolveFormat) -> anyhow::Result<String> {
    let mut s = String::new();
    match format {
        ResolveFormat::Text => {
            for (_, r) in ok {
                s.push_str(&r.pull);
                s.push('\n');
            }
        }
        ResolveFormat::Json => {
            let mut text = if ok.len() == 1 {
                serde_json::to_string_pretty(ok[0].1)?
            } else {
                let all: Vec<&Resolved> = ok.iter().map(|(_, r)| *r).collect();
                serde_json::to_string_pretty(&all)?
            };
            text.push('\n');
            s.push_str(&text);
        }
        ResolveFormat::Env => {
            for (name, r) in names(ok, env_name) {
                s.push_str(&format!("{name}={}\n", r.pull));
            }
        }
        ResolveFormat::Github => {
            // `json` maps the same names to the references, for `fromJSON(…)['ci-base']`.
            let mut map: BTreeMap<String, &str> = BTreeMap::new();
            for (name, r) in names(ok, output_name) {
                s.push_str(&format!("{name}={}\n", r.pull));
                map.insert(name, r.pull.as_str());
            }
            s.push_str(&format!("json={}\n", serde_json::to_string(&map)?));
        }
    }
    Ok(s)
}

/// Output names: the code, or code + selector when the same code is asked for twice.
fn names<'a>(
    ok: &[(&'a str, &'a Resolved)],
    spell: fn(&str) -> String,
) -> Vec<(String, &'a Resolved)> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, r) in ok {
        *count.entry(r.code.as_str()).or_default() += 1;
    }
    ok.iter()
        .map(|(_, r)| {
            let raw = if count[r.code.as_str()] > 1 {
                format!("{}-{}", r.code, r.selector)
            } else {
                r.code.clone()
            };
            (spell(&raw), *r)
        })
        .collect()
}

/// `ci-base` → `CI_BASE`; a leading digit gets a `_` (shell variable names cannot start with
/// one).
pub fn env_name(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// GitHub output names allow letters, digits, `-` and `_`: `ci-base`, `ci-base-1-latest`.
pub fn output_name(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_predictable() {
        assert_eq!(env_name("ci-base"), "CI_BASE");
        assert_eq!(env_name("ci-base-1.latest"), "CI_BASE_1_LATEST");
        assert_eq!(env_name("9lives"), "_9LIVES");
        assert_eq!(output_name("ci-base-1.latest"), "ci-base-1-latest");
        assert_eq!(output_name("node_build"), "node_build");
    }
}
