//! Stage: plan — load, validate, reconcile, verify, reconcile again, and report.
//!
//! Input: catalogue directory and options. Output: [`Computed`] (the next index as canonical
//! text, the changes, verification results, diagnostics and the index diff) and its
//! rendering as text, markdown (PR comment / step summary) or JSON (stable shape, see
//! [`PlanJson`]). `apply` runs the same computation and then writes.
//! Invariant: computing never writes anything.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{EXIT_CHANGES, EXIT_FINDINGS, EXIT_OK, Format, PlanArgs, VerifyLevel};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::lifecycle::{Change, Context, VerifyOutcome, reconcile};
use crate::load::Catalogue;
use crate::model::Index;
use crate::span::Pos;
use crate::verify::VerifyStats;

/// Options shared by plan and apply.
#[derive(Clone, Debug)]
pub struct Options {
    pub catalogue: PathBuf,
    pub index: Option<PathBuf>,
    pub offline: bool,
    pub level: VerifyLevel,
    /// Re-verify the newest released version of each image to detect drift.
    pub check_drift: bool,
    /// Take the recorded state from the index committed at this git revision instead of
    /// reading the file (plan --base).
    pub base_rev: Option<String>,
}

/// Result of a plan computation.
#[derive(Debug)]
pub struct Computed {
    pub catalogue: Catalogue,
    pub index_path: PathBuf,
    pub prev_text: Option<String>,
    /// The recorded state the plan started from.
    pub prev: Index,
    pub next: Index,
    pub next_text: String,
    pub changes: Vec<Change>,
    pub verifications: Vec<VerificationLine>,
    pub stats: VerifyStats,
    pub diagnostics: Vec<Diagnostic>,
    /// Promotion policies evaluated against the registries (executed by apply).
    pub promotions: crate::promote::Report,
}

impl Computed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
    /// Would writing change the index file?
    pub fn index_changed(&self) -> bool {
        self.prev_text.as_deref() != Some(self.next_text.as_str())
    }
    /// Unified diff of the index, image by image. A whole-file diff of a large index costs
    /// time quadratic in the changed lines; per-image diffs stay linear in the index size.
    pub fn diff(&self) -> String {
        self.diff_limited(usize::MAX)
    }

    /// [`Computed::diff`], stopping (and saying so) once `max` bytes are written: a plan
    /// that changes thousands of images is read as a summary, and the rest is not computed.
    pub fn diff_limited(&self, max: usize) -> String {
        if !self.index_changed() {
            return String::new();
        }
        let name = self
            .index_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let section = |label: &str, old: &str, new: &str| -> String {
            similar::TextDiff::from_lines(old, new)
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{name} {label}"), &format!("b/{name} {label}"))
                .to_string()
        };
        let json = |v: Option<&crate::model::ImageEntry>| {
            v.map(|e| {
                let mut s = serde_json::to_string_pretty(e).expect("entry serializes");
                s.push('\n');
                s
            })
            .unwrap_or_default()
        };
        let changed: Vec<&String> = {
            let codes: std::collections::BTreeSet<&String> = self
                .prev
                .images
                .keys()
                .chain(self.next.images.keys())
                .collect();
            codes
                .into_iter()
                .filter(|c| self.prev.images.get(*c) != self.next.images.get(*c))
                .collect()
        };
        let mut out = String::new();
        for (i, code) in changed.iter().enumerate() {
            if out.len() >= max {
                out.push_str(&format!(
                    "… {} more changed image(s) not shown; `berth plan --format json` has the full diff\n",
                    changed.len() - i
                ));
                return out;
            }
            let (a, b) = (self.prev.images.get(*code), self.next.images.get(*code));
            out.push_str(&section(&format!("images.{code}"), &json(a), &json(b)));
        }
        let top = |i: &Index| {
            let mut v = serde_json::to_value(i).expect("index serializes");
            if let Some(m) = v.as_object_mut() {
                m.remove("images");
            }
            crate::index::canonical_string(&v)
        };
        let (a, b) = (top(&self.prev), top(&self.next));
        if a != b {
            out.push_str(&section("(top level)", &a, &b));
        }
        if out.is_empty() {
            out.push_str("(formatting only: the file is rewritten in canonical form)\n");
        }
        out
    }
}

/// One verified (or skipped) reference in the report.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct VerificationLine {
    pub code: String,
    pub version: String,
    pub reference: String,
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Current time for recorded events: `BERTH_NOW` (RFC 3339, for reproducible runs) or the clock.
pub fn now() -> String {
    match std::env::var("BERTH_NOW") {
        Ok(s) if !s.is_empty() => s,
        _ => chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

/// Read the recorded state: (index, its exact text) or an empty index.
fn read_prev(path: &Path, root: &Path, diags: &mut Diagnostics) -> (Index, Option<String>) {
    match crate::index::read(path) {
        Ok(Some((idx, text))) => (idx, Some(text)),
        Ok(None) => (crate::index::empty(), None),
        Err(e) => {
            let (pos, msg) = match &e {
                crate::index::IndexError::Parse {
                    line,
                    column,
                    message,
                    ..
                } => (
                    Pos::new(*line as u32, *column as u32),
                    format!("the index is not valid: {message}"),
                ),
                other => (Pos::UNKNOWN, other.to_string()),
            };
            diags.push(
                Diagnostic::error(
                    Code::IndexUnreadable,
                    crate::diag::rel(root, path),
                    pos,
                    msg,
                )
                .with_hint(
                    "the index is generated by `berth apply`; restore it from git instead of editing it",
                ),
            );
            (crate::index::empty(), None)
        }
    }
}

/// Resolve the index path: `--index`, else berth.yaml `index`, else `index.json`.
pub fn index_path(cat: &Catalogue, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) => p.to_path_buf(),
        None => cat.index_path(),
    }
}

/// Compute a plan. `Err` only for internal problems (e.g. registry verification missing);
/// user errors are diagnostics in the result.
pub fn compute(opts: &Options) -> anyhow::Result<Computed> {
    let t = std::time::Instant::now();
    let lap = |what: &str| tracing::debug!(elapsed_ms = t.elapsed().as_millis() as u64, "{what}");
    let (cat, mut diags) = crate::load::load(&opts.catalogue);
    lap("catalogue loaded");
    let index_path = index_path(&cat, opts.index.as_deref());
    let (prev, prev_text) = match &opts.base_rev {
        Some(rev) => {
            let (idx, text) = index_at_rev(&opts.catalogue, &index_path, rev)?;
            (idx, Some(text))
        }
        None => read_prev(&index_path, &cat.root, &mut diags),
    };
    lap("index read");
    diags.extend(crate::validate::check(&cat, Some(&prev)));
    lap("checked");
    let commit = match crate::git::head_commit(&opts.catalogue) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("no catalogue commit: {e}");
            None
        }
    };
    let ctx = Context {
        now: now(),
        commit,
        check_drift: opts.check_drift && !opts.offline,
    };
    let first = reconcile(&cat, &prev, &BTreeMap::new(), &ctx);
    lap("planned");
    let (outcomes, stats) = if diags.has_errors() || first.diags.has_errors() {
        // Do not spend registry requests on a catalogue that cannot be applied.
        (BTreeMap::new(), VerifyStats::default())
    } else {
        crate::verify::verify_all(&first.requests, opts.offline, opts.level, &cat.config)?
    };
    lap("verified");
    // Without registry answers the second run would repeat the first exactly.
    let second = if outcomes.values().all(|o| *o == VerifyOutcome::Skipped) {
        first
    } else {
        reconcile(&cat, &prev, &outcomes, &ctx)
    };
    lap("re-planned");
    let verifications = second
        .requests
        .iter()
        .map(|r| {
            let o = outcomes
                .get(&r.reference)
                .cloned()
                .unwrap_or(VerifyOutcome::Skipped);
            let (result, digest, reason) = match o {
                VerifyOutcome::Skipped => ("skipped", None, None),
                VerifyOutcome::Passed(f) => ("passed", Some(f.digest), None),
                VerifyOutcome::Failed(why) => ("failed", None, Some(why)),
            };
            VerificationLine {
                code: r.code.clone(),
                version: r.version.clone(),
                reference: r.reference.clone(),
                result,
                digest,
                reason,
            }
        })
        .collect();
    // The engine's findings on a file that already failed the static checks only repeat them
    // in other words (an unparsable release.version is also "not the computed version").
    let broken: std::collections::BTreeSet<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.file.clone())
        .collect();
    for d in second.diags.into_sorted() {
        if !broken.contains(&d.file) {
            diags.push(d);
        }
    }
    let promotions = if diags.has_errors() {
        crate::promote::Report::skipped("catalogue has errors: promotion policies not evaluated")
    } else {
        crate::promote::plan_promotions(&cat, &prev, opts.offline)
    };
    let next_text = crate::index::to_canonical_json(&second.index);
    lap("index rendered");
    Ok(Computed {
        catalogue: cat,
        index_path,
        prev_text,
        prev,
        next: second.index,
        next_text,
        changes: second.changes,
        verifications,
        stats,
        diagnostics: diags.into_sorted(),
        promotions,
    })
}

/// Stable JSON shape of `berth plan --format json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanJson<'a> {
    /// Version of this JSON shape.
    pub plan_version: u32,
    pub changed: bool,
    pub index_path: String,
    pub changes: &'a [Change],
    pub verifications: &'a [VerificationLine],
    pub verify_stats: &'a VerifyStats,
    pub diagnostics: &'a [Diagnostic],
    pub promotions: &'a crate::promote::Report,
    pub index_diff: String,
}

/// Render a computed plan.
pub fn render(c: &Computed, format: Format, offline: bool) -> String {
    match format {
        Format::Json => {
            let j = PlanJson {
                plan_version: 1,
                changed: c.index_changed(),
                index_path: crate::diag::display_path(&c.index_path),
                changes: &c.changes,
                verifications: &c.verifications,
                verify_stats: &c.stats,
                diagnostics: &c.diagnostics,
                promotions: &c.promotions,
                index_diff: c.diff(),
            };
            let mut s = serde_json::to_string_pretty(&j).expect("plan serializes");
            s.push('\n');
            s
        }
        Format::Text => render_text(c, offline),
        Format::Markdown => render_markdown(c, offline),
    }
}

fn verify_summary(c: &Computed, offline: bool) -> String {
    let n = c.verifications.len();
    let failed = c
        .verifications
        .iter()
        .filter(|v| v.result == "failed")
        .count();
    if offline {
        format!("{n} reference(s) to verify: skipped (offline)")
    } else {
        format!(
            "{n} reference(s) verified, {failed} failed; {} request(s), {} retr(ies)",
            c.stats.requests, c.stats.retries
        )
    }
}

fn render_text(c: &Computed, offline: bool) -> String {
    let mut s = String::new();
    let images: std::collections::BTreeSet<&str> =
        c.changes.iter().map(|ch| ch.code.as_str()).collect();
    if c.changes.is_empty() {
        s.push_str("No changes. The index is up to date.\n");
    } else {
        s.push_str(&format!(
            "{} change(s) in {} image(s):\n",
            c.changes.len(),
            images.len()
        ));
        for ch in &c.changes {
            s.push_str(&format!("  {ch}\n"));
        }
    }
    if !c.verifications.is_empty() {
        s.push_str(&format!("Verification: {}\n", verify_summary(c, offline)));
        for v in c.verifications.iter().filter(|v| v.result == "failed") {
            s.push_str(&format!(
                "  {}@{} {}: {}\n",
                v.code,
                v.version,
                v.reference,
                v.reason.as_deref().unwrap_or("")
            ));
        }
    }
    s.push_str(&crate::promote::render_text(&c.promotions));
    if !c.diagnostics.is_empty() {
        s.push('\n');
        s.push_str(&crate::diag::render_text(&c.diagnostics));
    }
    if c.index_changed() {
        s.push_str(&format!(
            "\n{} diff:\n",
            crate::diag::display_path(&c.index_path)
        ));
        s.push_str(&c.diff_limited(TEXT_DIFF_BYTES));
    }
    s
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn render_markdown(c: &Computed, offline: bool) -> String {
    let mut s = String::from("### berth plan\n\n");
    if c.has_errors() {
        s.push_str(&format!(
            "**{} error(s)** — this catalogue cannot be applied.\n\n",
            c.diagnostics.iter().filter(|d| d.is_error()).count()
        ));
    }
    if c.changes.is_empty() {
        s.push_str("No changes. The index is up to date.\n");
    } else {
        s.push_str("| Image | Version | Change |\n|---|---|---|\n");
        for ch in &c.changes {
            s.push_str(&format!(
                "| `{}` | {} | {} |\n",
                ch.code,
                ch.version.as_deref().unwrap_or(""),
                md_escape(&ch.message)
            ));
        }
    }
    if !c.verifications.is_empty() {
        s.push_str(&format!(
            "\n**Verification:** {}\n",
            verify_summary(c, offline)
        ));
        if c.verifications.iter().any(|v| v.result == "failed") {
            s.push_str("\n| Image | Version | Reference | Reason |\n|---|---|---|---|\n");
            for v in c.verifications.iter().filter(|v| v.result == "failed") {
                s.push_str(&format!(
                    "| `{}` | {} | `{}` | {} |\n",
                    v.code,
                    v.version,
                    v.reference,
                    md_escape(v.reason.as_deref().unwrap_or(""))
                ));
            }
        }
    }
    s.push_str(&crate::promote::render_markdown(&c.promotions));
    if !c.diagnostics.is_empty() {
        s.push_str("\n| Severity | Code | Where | Message |\n|---|---|---|---|\n");
        for d in &c.diagnostics {
            let sev = if d.is_error() { "error" } else { "warning" };
            let hint = d
                .hint
                .as_deref()
                .map(|h| format!(" — _{}_", md_escape(h)))
                .unwrap_or_default();
            s.push_str(&format!(
                "| {sev} | {} | `{}:{}:{}` | {}{hint} |\n",
                d.code,
                d.file,
                d.line,
                d.column,
                md_escape(&d.message)
            ));
        }
    }
    if c.index_changed() {
        s.push_str(&format!(
            "\n<details><summary>{} diff</summary>\n\n```diff\n{}```\n\n</details>\n",
            crate::diag::display_path(&c.index_path),
            truncate_lines(
                &c.diff_limited(MARKDOWN_DIFF_BYTES),
                MARKDOWN_DIFF_BYTES + 4_000
            )
        ));
    }
    s
}

/// The recorded state at a git revision: the index file as committed at `rev` (an empty
/// index when it did not exist yet there).
pub fn index_at_rev(catalogue: &Path, path: &Path, rev: &str) -> anyhow::Result<(Index, String)> {
    // read_file_at wants the path relative to the catalogue directory.
    let rel = path
        .strip_prefix(catalogue)
        .map(Path::to_path_buf)
        .unwrap_or(path.to_path_buf());
    match crate::git::read_file_at(catalogue, rev, &rel)? {
        Some(bytes) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{} at {rev} is not UTF-8", rel.display()))?;
            let idx = crate::index::parse(&text, &format!("{}@{rev}", rel.display()))?;
            Ok((idx, text))
        }
        None => Ok((crate::index::empty(), String::new())),
    }
}

/// GitHub rejects comments over 65,536 characters; the diff gets what the tables leave.
const MARKDOWN_DIFF_BYTES: usize = 50_000;

/// The text report shows about this much of the index diff (JSON output has all of it).
const TEXT_DIFF_BYTES: usize = 256 * 1024;

/// Cut `text` at a line boundary before `max` bytes, saying how much was left out.
fn truncate_lines(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut lines = text.lines();
    for line in lines.by_ref() {
        if out.len() + line.len() + 1 > max {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    let rest = lines.count() + 1;
    out.push_str(&format!(
        "… {rest} more line(s); run `berth plan` locally for the full diff\n"
    ));
    out
}

/// `berth plan`.
pub fn run(args: &PlanArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let opts = Options {
        catalogue: args.cat.catalogue.clone(),
        index: args.index.index.clone(),
        offline: args.offline,
        level: args.verify,
        check_drift: args.check_drift,
        base_rev: args.base.clone(),
    };
    let c = compute(&opts)?;
    out.write_all(render(&c, args.format, args.offline).as_bytes())?;
    if let Some(path) = &args.json_out {
        std::fs::write(path, render(&c, Format::Json, args.offline))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(if c.has_errors() {
        EXIT_FINDINGS
    } else if args.detailed_exitcode && c.index_changed() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_whole_lines() {
        assert_eq!(truncate_lines("a\nb\n", 10), "a\nb\n");
        let t = truncate_lines("aaaa\nbbbb\ncccc\n", 11);
        assert_eq!(
            t,
            "aaaa\nbbbb\n… 1 more line(s); run `berth plan` locally for the full diff\n"
        );
    }
}
