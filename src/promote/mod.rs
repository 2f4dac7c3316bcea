//! Stage: promote — promotion policies (dev → qa when criteria hold) and manual promotion.
//!
//! Input: the catalogue (policies, berth.yaml), the recorded index (promotion history) and
//! the registries. Output: a [`Report`] of pending promotions for `berth plan`; for
//! `berth apply` the promotions made, appended to `index.json` `promotions`; `berth promote`
//! copies one image and records it as manual.
//! Submodules: [`pattern`] (source repository globs), [`criteria`] (tag/label/platform
//! conditions), [`template`] (target tag templates), [`check`] (policy diagnostics),
//! [`oci`] (manifest parsing), [`engine`] (copy by digest over a registry interface),
//! [`planner`] (policy evaluation and execution), [`live`] (the interface over
//! `crate::registry`).
//! Invariants: registry work runs on a tokio runtime built here (the rest of berth is
//! synchronous); one promotion's failure is a [`Problem`] and never blocks the others.

pub mod check;
pub mod criteria;
pub mod engine;
#[cfg(test)]
pub mod fake;
pub mod live;
pub mod oci;
pub mod pattern;
pub mod planner;
pub mod template;

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};

pub use check::check_policies;
pub use planner::{Action, Pending, Problem, Report};

use crate::cli::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, PromoteArgs};
use crate::load::Catalogue;
use crate::model::{Index, InitiatedBy, PromotionRecord};
use crate::promote::engine::{Registry as _, Repo, Session};
use crate::reference::{normalize_registry, normalize_repository, valid_digest, valid_tag};

/// Promotions run at most this many images at once (each bounded further per host by the
/// registry client's `maxConcurrency`).
const CONCURRENCY: usize = 16;

/// The time of this run: `BERTH_NOW` when set (reproducible runs), else the clock.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&crate::plan::now())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Credential names per host, from the policies (the first one given for a host wins).
fn policy_credentials(cat: &Catalogue) -> BTreeMap<String, Option<String>> {
    let mut m: BTreeMap<String, Option<String>> = BTreeMap::new();
    for p in &cat.policies {
        let p = &p.value;
        let pairs = [
            (&p.source.registry, &p.source.credential),
            (&p.target.registry, &p.target.credential),
        ];
        for (reg, cred) in pairs {
            let host = normalize_registry(reg.as_ref().map(|r| r.value.as_str()));
            let e = m.entry(host).or_default();
            if e.is_none() {
                *e = cred.as_ref().map(|c| c.value.clone());
            }
        }
    }
    m
}

/// Evaluate every policy against the registries (`berth plan`). Offline: nothing is
/// requested and the report says so.
pub fn plan_promotions(cat: &Catalogue, index: &Index, offline: bool) -> Report {
    if cat.policies.is_empty() {
        return Report::default();
    }
    if offline {
        return Report::skipped("offline: promotion policies not evaluated");
    }
    let live = live::Live::new(&cat.config, policy_credentials(cat));
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return Report::skipped(&format!("cannot start the async runtime: {e}")),
    };
    rt.block_on(async {
        let sess = Session::new(&live);
        planner::plan(&sess, cat, index, now()).await
    })
}

/// Perform the pending promotions of a computed plan (`berth apply`): copies, appends the
/// records to the next index and re-serializes it.
pub fn execute_planned(c: &mut crate::plan::Computed) {
    if c.promotions.pending.is_empty() {
        return;
    }
    let live = live::Live::new(&c.catalogue.config, policy_credentials(&c.catalogue));
    let report = &mut c.promotions;
    match runtime() {
        Ok(rt) => rt.block_on(async {
            let sess = Session::new(&live);
            planner::execute(&sess, report, now(), InitiatedBy::Policy, CONCURRENCY).await
        }),
        Err(e) => report.problems.push(Problem {
            policy: None,
            file: None,
            source: None,
            message: format!("cannot start the async runtime: {e}"),
        }),
    }
    c.next.promotions.extend(report.done.iter().cloned());
    c.next_text = crate::index::to_canonical_json(&c.next);
}

/// `host/repo:tag` or `host/repo@sha256:…` → (repository, tag-or-digest).
fn parse_ref(s: &str) -> Result<(Repo, String), String> {
    let bad = || {
        format!(
            "`{s}` is not a registry reference (expected host/repository:tag or host/repository@sha256:…)"
        )
    };
    let (host, rest) = s.split_once('/').ok_or_else(bad)?;
    let (repo, reference) = match rest.split_once('@') {
        Some((r, d)) if valid_digest(d) => (r, d.to_string()),
        Some(_) => return Err(bad()),
        None => {
            let (r, t) = rest.rsplit_once(':').ok_or_else(bad)?;
            if !valid_tag(t) {
                return Err(format!("`{t}` is not a valid tag"));
            }
            (r, t.to_string())
        }
    };
    let host = normalize_registry(Some(host));
    if !crate::reference::valid_registry(&host) || !crate::reference::valid_repository(repo) {
        return Err(bad());
    }
    let repo = normalize_repository(&host, repo);
    Ok((Repo::new(&host, &repo), reference))
}

/// `berth promote SOURCE TARGET`: copy by digest and record a manual promotion.
pub fn run_manual(args: &PromoteArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let (src, src_ref) = match parse_ref(&args.source) {
        Ok(x) => x,
        Err(m) => {
            writeln!(out, "error: source: {m}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let (dst, dst_tag) = match parse_ref(&args.target) {
        Ok((_, t)) if t.starts_with("sha256:") => {
            writeln!(out, "error: target: give a tag, not a digest")?;
            return Ok(EXIT_ERROR);
        }
        Ok(x) => x,
        Err(m) => {
            writeln!(out, "error: target: {m}")?;
            return Ok(EXIT_ERROR);
        }
    };
    let (cat, _diags) = crate::load::load(&args.cat.catalogue);
    let index_path = crate::plan::index_path(&cat, args.index.index.as_deref());
    let (mut index, _) =
        crate::index::read(&index_path)?.unwrap_or_else(|| (crate::index::empty(), String::new()));
    let live = live::Live::new(&cat.config, policy_credentials(&cat));
    let when = now();
    let result: Result<(PromotionRecord, Action, engine::CopyStats), String> =
        runtime()?.block_on(async {
            let sess = Session::new(&live);
            let digest = if src_ref.starts_with("sha256:") {
                src_ref.clone()
            } else {
                sess.reg
                    .manifest_digest(&src, &src_ref)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("{src}:{src_ref} not found"))?
            };
            let (action, _) = planner::target_action(&sess, &dst, &dst_tag, &digest, false).await?;
            if action != Action::Present {
                sess.copy(&src, &digest, &dst, &dst_tag)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let source = if src_ref.starts_with("sha256:") {
                format!("{src}@{src_ref}")
            } else {
                format!("{src}:{src_ref}")
            };
            let stats = sess.stats.borrow().clone();
            Ok((
                PromotionRecord {
                    policy: None,
                    source,
                    source_digest: digest,
                    target: format!("{dst}:{dst_tag}"),
                    promoted_at: planner::time_string(&when),
                    initiated_by: InitiatedBy::Manual,
                },
                action,
                stats,
            ))
        });
    match result {
        Ok((rec, action, stats)) => {
            let how = match action {
                Action::Present => "already present, nothing copied".to_string(),
                _ => format!(
                    "{} manifest(s) pushed, {} blob(s) mounted, {} copied, {} already there",
                    stats.manifests_pushed,
                    stats.blobs_mounted,
                    stats.blobs_copied,
                    stats.blobs_present
                ),
            };
            writeln!(
                out,
                "Promoted {} ({}) to {}: {how}.",
                rec.source, rec.source_digest, rec.target
            )?;
            index.promotions.push(rec);
            crate::index::write_atomic(&index_path, &crate::index::to_canonical_json(&index))?;
            writeln!(out, "Recorded in {}.", index_path.display())?;
            Ok(EXIT_OK)
        }
        Err(m) => {
            writeln!(out, "error: {m}")?;
            Ok(EXIT_FINDINGS)
        }
    }
}

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
        return s;
    }
    s.push_str(&format!(
        "Promotions: {} pending, {} done, {} problem(s) ({} already promoted, {} not matching)\n",
        r.pending.len(),
        r.done.len(),
        r.problems.len(),
        r.already_promoted,
        r.not_matching
    ));
    for p in &r.pending {
        let done = r
            .done
            .iter()
            .any(|d| d.target == p.target && d.source_digest == p.source_digest);
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
    if r.done.iter().any(|_| true) {
        s.push_str(&format!(
            "  copy: {} manifest(s) pushed, {} blob(s) mounted, {} copied ({} bytes), {} already there\n",
            r.copy.manifests_pushed, r.copy.blobs_mounted, r.copy.blobs_copied, r.copy.bytes_copied, r.copy.blobs_present
        ));
    }
    s
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
        s.push_str(&format!("\n**Promotions:** {why}\n"));
        return s;
    }
    if r.pending.is_empty() && r.problems.is_empty() {
        if r.already_promoted + r.not_matching > 0 {
            s.push_str(&format!(
                "\n**Promotions:** none pending ({} already promoted, {} not matching)\n",
                r.already_promoted, r.not_matching
            ));
        }
        return s;
    }
    s.push_str("\n**Promotions**\n\n| Policy | Source | Digest | Target | Action |\n|---|---|---|---|---|\n");
    for p in &r.pending {
        s.push_str(&format!(
            "| {} | `{}` | `{}` | `{}` | {} |\n",
            p.policy.as_deref().unwrap_or("manual"),
            p.source,
            short(&p.source_digest),
            p.target,
            action_word(p.action)
        ));
    }
    for p in &r.problems {
        s.push_str(&format!(
            "| {} | `{}` | | | error: {} |\n",
            p.policy.as_deref().unwrap_or("manual"),
            p.source.as_deref().unwrap_or(""),
            p.message.replace('|', "\\|")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_manual_references() {
        let (r, t) = parse_ref("127.0.0.1:5000/dev/web:1.0").unwrap();
        assert_eq!(
            (r.to_string(), t.as_str()),
            ("127.0.0.1:5000/dev/web".into(), "1.0")
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let (_, t) = parse_ref(&format!("reg.test/x@{d}")).unwrap();
        assert_eq!(t, d);
        let (r, _) = parse_ref("docker.io/ubuntu:24.04").unwrap();
        assert_eq!(r.repository, "library/ubuntu");
        for bad in [
            "web:1",
            "reg.test/x",
            "reg.test/X:1",
            "reg.test/x@sha256:zz",
            "reg.test/x:-a",
        ] {
            assert!(parse_ref(bad).is_err(), "{bad}");
        }
    }
}
