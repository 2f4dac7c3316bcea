//! The promotions section of the plan report (text and markdown).
//!
//! Input: a promotion [`Report`]. Output: lines for `berth plan`/`apply`; empty when the
//! catalogue has no policies.

use crate::promote::{Action, Report};
use crate::report::markdown::{code as md_code, message as md_message, text as md_text};

fn short(d: &str) -> &str {
    d.get(..19).unwrap_or(d)
}

/// Plan/apply text lines for promotions (empty when there are no policies).
pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    if let Some(why) = &r.skipped {
        s.push_str(&format!("Promotions: {why}\n"));
        return s;
    }
    if r.pending.is_empty() && r.problems.is_empty() && r.done.is_empty() {
        if r.already_promoted + r.not_matching > 0 {
            s.push_str(&format!(
                "Promotions: none pending ({} already promoted, {} not matching)\n",
                r.already_promoted, r.not_matching
            ));
        }
        s.push_str(&rejected_text(r));
        return s;
    }
    // `pending` lists what the plan found; after `apply` the ones made are also in `done`, so
    // one promotion counts once: either still pending or done.
    let is_done = |p: &crate::promote::Pending| {
        r.done
            .iter()
            .any(|d| d.target == p.target && d.source_digest == p.source_digest)
    };
    let still_pending = r.pending.iter().filter(|p| !is_done(p)).count();
    let lookups = match r.copy.referrer_lookups {
        0 => String::new(),
        n => format!(", {n} referrer lookup(s)"),
    };
    s.push_str(&format!(
        "Promotions: {} pending, {} done, {} problem(s) ({} already promoted, {} not matching{lookups})\n",
        still_pending,
        r.done.len(),
        r.problems.len(),
        r.already_promoted,
        r.not_matching
    ));
    for p in &r.pending {
        let done = is_done(p);
        s.push_str(&format!(
            "  {} {} ({}) -> {} [{}{}]\n",
            p.policy.as_deref().unwrap_or("manual"),
            p.source,
            short(&p.source_digest),
            p.target,
            action_word(p.action),
            if done { ", done" } else { "" }
        ));
    }
    for p in &r.problems {
        s.push_str(&format!(
            "  error: {}{}: {}\n",
            p.policy.as_deref().unwrap_or("manual"),
            p.source
                .as_deref()
                .map(|x| format!(" {x}"))
                .unwrap_or_default(),
            p.message
        ));
    }
    s.push_str(&rejected_text(r));
    if r.done.iter().any(|_| true) {
        s.push_str(&format!(
            "  copy: {} manifest(s) pushed, {} blob(s) mounted, {} copied ({} bytes), {} already there\n",
            r.copy.manifests_pushed, r.copy.blobs_mounted, r.copy.blobs_copied, r.copy.bytes_copied, r.copy.blobs_present
        ));
        s.push_str(&format!(
            "  artefacts: {} copied, {} already there ({} referrer lookup(s))\n",
            r.copy.artefacts_copied, r.copy.artefacts_present, r.copy.referrer_lookups
        ));
    }
    s
}

/// One line per rejected candidate: policy, source, the criterion that failed.
fn rejected_text(r: &Report) -> String {
    r.rejected
        .iter()
        .map(|x| {
            format!(
                "  rejected: {} {}{}: {}\n",
                x.policy,
                x.source,
                x.digest
                    .as_deref()
                    .map(|d| format!(" ({})", short(d)))
                    .unwrap_or_default(),
                x.criterion
            )
        })
        .collect()
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Copy => "copy",
        Action::Overwrite => "overwrite",
        Action::Present => "already at target",
    }
}

/// Markdown section for promotions (PR comment / step summary).
pub fn render_markdown(r: &Report) -> String {
    let mut s = String::new();
    if let Some(why) = &r.skipped {
        s.push_str(&format!("\n**Promotions:** {}\n", md_message(why, false)));
        return s;
    }
    if r.pending.is_empty() && r.problems.is_empty() {
        if r.already_promoted + r.not_matching > 0 {
            s.push_str(&format!(
                "\n**Promotions:** none pending ({} already promoted, {} not matching)\n",
                r.already_promoted, r.not_matching
            ));
        }
        s.push_str(&rejected_markdown(r));
        return s;
    }
    s.push_str("\n**Promotions**\n\n| Policy | Source | Digest | Target | Action |\n|---|---|---|---|---|\n");
    for p in &r.pending {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            md_text(p.policy.as_deref().unwrap_or("manual")),
            md_code(&p.source, true),
            md_code(short(&p.source_digest), true),
            md_code(&p.target, true),
            action_word(p.action)
        ));
    }
    for p in &r.problems {
        s.push_str(&format!(
            "| {} | {} | | | error: {} |\n",
            md_text(p.policy.as_deref().unwrap_or("manual")),
            md_code(p.source.as_deref().unwrap_or(""), true),
            md_message(&p.message, true)
        ));
    }
    s.push_str(&rejected_markdown(r));
    s
}

/// Rejected candidates as a markdown table (policy, source, the criterion that failed).
fn rejected_markdown(r: &Report) -> String {
    if r.rejected.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\n**Not promoted**\n\n| Policy | Source | Digest | Failed criterion |\n|---|---|---|---|\n",
    );
    for x in &r.rejected {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            md_text(&x.policy),
            md_code(&x.source, true),
            x.digest
                .as_deref()
                .map(|d| md_code(short(d), true))
                .unwrap_or_default(),
            md_message(&x.criterion, true)
        ));
    }
    s
}
