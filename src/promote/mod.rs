//! Stage: promote — promotion policies (dev → qa when criteria hold) and manual promotion.
//!
//! Input: the catalogue (policies, berth.yaml), the recorded index (promotion history) and
//! the registries. Output: a [`Report`] of pending promotions for `berth plan`; for
//! `berth apply` the promotions made, appended to `index.json` `promotions`; `berth promote`
//! copies one image and records it as manual.
//! Submodules: [`engine`] (copy by digest over the registry [`crate::registry::Api`]),
//! `artefacts` (the signatures, SBOMs and reports attached to a promoted image, copied with
//! it) and [`planner`] (policy evaluation and execution). Registries are reached through
//! [`crate::registry::Live`] (unit tests use the registry's in-memory fake); manifests are
//! read with the one model of `crate::registry::manifest`. Policies themselves (patterns,
//! criteria, tag templates) are compiled by `crate::policy`.
//! Invariants: registry work runs on a tokio runtime built here (the rest of berth is
//! synchronous); one promotion's failure is a [`Problem`] and never blocks the others.

mod artefacts;
pub mod engine;
pub mod planner;

use std::collections::BTreeMap;

pub use planner::{Action, Pending, Problem, Rejected, Report};

use crate::model::progress::Handle;
use crate::model::reference::{Reference, normalize_registry};
use crate::model::{Catalogue, Index, InitiatedBy, PromotionRecord};
use crate::promote::engine::Session;
use crate::registry::{Api as _, Live, Repo};

/// Promotions run at most this many images at once (each bounded further per host by the
/// registry client's `maxConcurrency`).
const CONCURRENCY: usize = 16;

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

/// Evaluate every policy against the registries (`berth plan`), reporting the stage
/// "planning promotions" to `progress`. Offline: nothing is requested and the report says so.
pub fn plan_promotions(cat: &Catalogue, index: &Index, offline: bool, progress: &Handle) -> Report {
    if cat.policies.is_empty() {
        return Report::default();
    }
    if offline {
        return Report::skipped("offline: promotion policies not evaluated");
    }
    let live = Live::new(&cat.config, policy_credentials(cat));
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return Report::skipped(&format!("cannot start the async runtime: {e}")),
    };
    rt.block_on(async {
        let sess = Session::new(&live).with_progress(progress.clone(), live.stats.clone());
        planner::plan(&sess, cat, index, crate::model::time::now()).await
    })
}

/// Perform the pending promotions of a plan (`berth apply`): copies, reported to `progress`
/// as the stage "copying"; the records of what was done are in `report.done` for the caller
/// to append to the next index.
pub fn execute_planned(cat: &Catalogue, report: &mut Report, progress: &Handle) {
    if report.pending.is_empty() {
        return;
    }
    let live = Live::new(&cat.config, policy_credentials(cat));
    match runtime() {
        Ok(rt) => rt.block_on(async {
            let sess = Session::new(&live).with_progress(progress.clone(), live.stats.clone());
            planner::execute(
                &sess,
                report,
                crate::model::time::now(),
                InitiatedBy::Policy,
                CONCURRENCY,
            )
            .await
        }),
        Err(e) => report.problems.push(Problem {
            policy: None,
            file: None,
            source: None,
            message: format!("cannot start the async runtime: {e}"),
        }),
    }
}

/// A reference typed by a person (`host/repo:tag`, `host/repo@sha256:…`, or a Docker Hub
/// name such as `library/nginx:1`) → (repository, tag-or-digest). The one parser is
/// [`Reference::parse`]; a digest wins over a tag when both are given.
fn parse_ref(s: &str) -> Result<(Repo, String), String> {
    let r = Reference::parse(s).map_err(|e| e.to_string())?;
    let reference = match (&r.digest, &r.tag) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) => t.clone(),
        (None, None) => {
            return Err(format!(
                "`{s}` names no tag or digest (expected [host/]repository:tag or [host/]repository@sha256:…)"
            ));
        }
    };
    Ok((Repo::new(&r.registry, &r.repository), reference))
}

/// Is the tag-or-digest of [`parse_ref`] a digest? (A tag never contains `:`.)
fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

/// What a manual promotion did.
#[derive(Debug)]
pub struct Manual {
    pub record: PromotionRecord,
    pub action: Action,
    pub stats: engine::CopyStats,
}

/// A manual promotion's arguments were not references (a usage error, not a finding).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadReference(pub String);

/// `berth promote SOURCE TARGET`: copy `source` (`host/repo:tag` or `host/repo@sha256:…`) by
/// digest to `target` (`host/repo:tag`); never moves an existing tag. The copy is the
/// progress stage "copying" (one image). `Err(BadReference)` for unusable arguments;
/// `Ok(Err(message))` when the registries refused.
pub fn manual(
    cat: &Catalogue,
    source: &str,
    target: &str,
    progress: &Handle,
) -> Result<Result<Manual, String>, BadReference> {
    let (src, src_ref) = parse_ref(source).map_err(|m| BadReference(format!("source: {m}")))?;
    let (dst, dst_tag) = match parse_ref(target) {
        Ok((_, t)) if is_digest(&t) => {
            return Err(BadReference("target: give a tag, not a digest".into()));
        }
        Ok(x) => x,
        Err(m) => return Err(BadReference(format!("target: {m}"))),
    };
    let live = Live::new(&cat.config, policy_credentials(cat));
    let when = crate::model::time::now();
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return Ok(Err(format!("cannot start the async runtime: {e}"))),
    };
    Ok(rt.block_on(async {
        let sess = Session::new(&live).with_progress(progress.clone(), live.stats.clone());
        sess.progress.start("copying", 1);
        let copied = manual_copy(&sess, (&src, &src_ref), (&dst, &dst_tag)).await;
        if copied.is_ok() {
            sess.advance();
        }
        sess.progress.finish();
        let (digest, action, artefacts) = copied?;
        let source = if is_digest(&src_ref) {
            format!("{src}@{src_ref}")
        } else {
            format!("{src}:{src_ref}")
        };
        let stats = sess.stats.borrow().clone();
        Ok(Manual {
            record: PromotionRecord {
                artefacts,
                policy: None,
                source,
                source_digest: digest,
                target: format!("{dst}:{dst_tag}"),
                promoted_at: crate::model::time::format(&when),
                initiated_by: InitiatedBy::Manual,
            },
            action,
            stats,
        })
    }))
}

/// The registry work of [`manual`]: resolve the source, copy it unless the target has it,
/// then its artefacts. Returns the digest, what was done and the artefacts copied.
async fn manual_copy(
    sess: &Session<'_, Live>,
    (src, src_ref): (&Repo, &str),
    (dst, dst_tag): (&Repo, &str),
) -> Result<(String, Action, Vec<crate::model::PromotedArtefact>), String> {
    let digest = if is_digest(src_ref) {
        src_ref.to_string()
    } else {
        sess.reg
            .manifest_digest(src, src_ref)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{src}:{src_ref} not found"))?
    };
    let (action, _) = planner::target_action(sess, dst, dst_tag, &digest, false).await?;
    if action != Action::Present {
        sess.copy(src, &digest, dst, dst_tag)
            .await
            .map_err(|e| e.to_string())?;
    }
    let artefacts = sess
        .copy_artefacts(src, &digest, dst)
        .await
        .map_err(|e| format!("copying signatures and SBOMs: {e}"))?;
    Ok((digest, action, artefacts))
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
        // Distribution rules: `library` and `web` are not hosts (no `.`/`:`, not localhost).
        let (r, t) = parse_ref("library/nginx:1").unwrap();
        assert_eq!(
            (r.to_string(), t.as_str()),
            ("docker.io/library/nginx".into(), "1")
        );
        let (r, _) = parse_ref("web:1").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/web");
        let (_, t) = parse_ref(&format!("reg.test/x:1@{d}")).unwrap();
        assert_eq!(t, d, "a digest wins over a tag");
        for bad in [
            "reg.test/x",
            "reg.test/X:1",
            "reg.test/x@sha256:zz",
            "reg.test/x:-a",
            "library/nginx",
        ] {
            assert!(parse_ref(bad).is_err(), "{bad}");
        }
    }
}
