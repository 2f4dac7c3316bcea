//! The plan report: `berth plan` (and `apply`) as text, markdown (PR comment, step summary)
//! or JSON ([`PlanJson`], stable shape, schema in `schema/plan.schema.json`).
//!
//! Input: a [`Computed`] plan. Output: a string; nothing here computes or writes.
//! Invariant: the markdown stays under GitHub's comment limit (the index diff is cut first).

use serde::Serialize;

use crate::lifecycle::Change;
use crate::model::diag::Diagnostic;
use crate::pipeline::plan::{Computed, VerificationLine};
use crate::report::Format;
use crate::verify::VerifyStats;

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
                index_path: crate::model::diag::display_path(&c.index_path),
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
    let count = |result: &str| {
        c.verifications
            .iter()
            .filter(|v| v.result == result)
            .count()
    };
    let failed = count("failed");
    let unchanged = match count("unchanged") {
        0 => String::new(),
        u => format!(" ({u} testing tag(s) unchanged)"),
    };
    if offline {
        format!("{n} reference(s) to verify: skipped (offline)")
    } else {
        let lookups = match c.stats.referrer_lookups {
            0 => String::new(),
            l => format!(", {l} referrer lookup(s)"),
        };
        format!(
            "{n} reference(s) verified{unchanged}, {failed} failed; {} request(s), {} retr(ies){lookups}",
            c.stats.requests, c.stats.retries
        )
    }
}

/// The first line when no version changes: never "up to date" while promotions are pending
/// or were just made, nor while the index file still has to be written.
pub(crate) fn no_changes(c: &Computed) -> &'static str {
    let p = &c.promotions;
    if !p.pending.is_empty() || !p.done.is_empty() {
        "No version changes; promotions below.\n"
    } else if c.prev_sha256.is_none() {
        "No versions yet: the index will be created.\n"
    } else if c.index_changed() {
        "No version changes; the index file is rewritten (see the diff).\n"
    } else {
        "No changes. The index is up to date.\n"
    }
}

fn render_text(c: &Computed, offline: bool) -> String {
    let mut s = String::new();
    let images: std::collections::BTreeSet<&str> =
        c.changes.iter().map(|ch| ch.code.as_str()).collect();
    if c.changes.is_empty() {
        s.push_str(no_changes(c));
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
    s.push_str(&crate::report::promotions::render_text(&c.promotions));
    if !c.diagnostics.is_empty() {
        s.push('\n');
        s.push_str(&crate::model::diag::render_text(&c.diagnostics));
    }
    if c.index_changed() {
        s.push_str(&format!(
            "\n{} diff:\n",
            crate::model::diag::display_path(&c.index_path)
        ));
        s.push_str(&c.diff_limited(TEXT_DIFF_BYTES));
    }
    s
}

use crate::report::markdown::{code as md_code, message as md_message, text as md_text};

fn render_markdown(c: &Computed, offline: bool) -> String {
    let mut s = String::from("### berth plan\n\n");
    if c.blocks_write() {
        s.push_str(&format!(
            "**{} error(s)** — this catalogue cannot be applied.\n\n",
            c.diagnostics.iter().filter(|d| d.is_error()).count()
        ));
    } else if c.has_errors() {
        s.push_str(&format!(
            "**{} error(s)** — refused releases stay testing; apply records everything else.\n\n",
            c.diagnostics.iter().filter(|d| d.is_error()).count()
        ));
    }
    if c.changes.is_empty() {
        s.push_str(no_changes(c));
    } else {
        s.push_str("| Image | Version | Change |\n|---|---|---|\n");
        for ch in &c.changes {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                md_code(&ch.code, true),
                md_text(ch.version.as_deref().unwrap_or("")),
                md_message(&ch.message, true)
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
                    "| {} | {} | {} | {} |\n",
                    md_code(&v.code, true),
                    md_text(&v.version),
                    md_code(&v.reference, true),
                    md_message(v.reason.as_deref().unwrap_or(""), true)
                ));
            }
        }
    }
    s.push_str(&crate::report::promotions::render_markdown(&c.promotions));
    if !c.diagnostics.is_empty() {
        s.push_str("\n| Severity | Code | Where | Message |\n|---|---|---|---|\n");
        for d in &c.diagnostics {
            let sev = if d.is_error() { "error" } else { "warning" };
            let hint = d
                .hint
                .as_deref()
                .map(|h| format!(" — _{}_", md_message(h, true)))
                .unwrap_or_default();
            s.push_str(&format!(
                "| {sev} | {} | {} | {}{hint} |\n",
                d.code,
                md_code(&format!("{}:{}:{}", d.file, d.line, d.column), true),
                md_message(&d.message, true)
            ));
        }
    }
    if c.index_changed() {
        s.push_str(&format!(
            "\n<details><summary>{} diff</summary>\n\n```diff\n{}```\n\n</details>\n",
            md_text(&crate::model::diag::display_path(&c.index_path)),
            truncate_lines(
                &c.diff_limited(MARKDOWN_DIFF_BYTES),
                MARKDOWN_DIFF_BYTES + 4_000
            )
        ));
    }
    s
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
