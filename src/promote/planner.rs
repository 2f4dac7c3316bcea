//! Policy evaluation and execution over a registry [`Api`].
//!
//! Input: the catalogue's policies, the recorded index (its promotion history) and the time
//! of the run. Output: a [`Report`]: pending promotions (copy, overwrite, or already present
//! at the target), problems (per policy or image; one never blocks the others) and counters;
//! [`execute`] then performs the pending ones and returns their [`PromotionRecord`]s.
//! Invariants: tag criteria are evaluated on the tag list before any manifest is read; a
//! source digest already promoted by a policy is never promoted by it again; an existing
//! target tag with another digest is a problem unless the policy says `overwrite: true`;
//! a rendered tag is always a valid OCI tag; output is sorted (policy file, repository, tag).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;

use crate::model::diag::display_path;
use crate::model::reference::{ImageRef, normalize_repository};
use crate::model::{Catalogue, Index, InitiatedBy, Policy, PromotionRecord, Source};
use crate::policy::CompiledPolicy;
use crate::policy::criteria::Facts;
use crate::policy::template::TemplateInput;
use crate::promote::engine::{CopyStats, PromoteError, Session};
use crate::registry::{Api, Repo};

/// What a pending promotion will do at the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The target tag does not exist: copy.
    Copy,
    /// The target tag has another digest and the policy allows moving it.
    Overwrite,
    /// The target tag already has this digest: nothing to copy, only recorded.
    Present,
}

/// One promotion to make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// Policy name; `None` for a manual promotion.
    pub policy: Option<String>,
    /// Policy file, relative to the catalogue root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub source: String,
    pub source_digest: String,
    pub target: String,
    pub action: Action,
    /// Digest the target tag had before an overwrite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_digest: Option<String>,
}

/// A candidate a policy rejected, with the criterion that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    pub policy: String,
    /// Policy file, relative to the catalogue root.
    pub file: String,
    /// `host/repository:tag` of the candidate.
    pub source: String,
    /// Its digest, when it was resolved (tag criteria are checked on the tag alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The criterion that failed, and why (`platform linux/amd64`, `signature keys/team.pub:
    /// no valid signature …`, `vulnerabilities: 2 critical > 0`).
    pub criterion: String,
}

/// A promotion that cannot be made (or a policy that cannot be evaluated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub message: String,
}

/// Outcome of evaluating (and possibly executing) promotions.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Set when policies were not evaluated (offline, catalogue errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub pending: Vec<Pending>,
    /// Promotions made by this run (apply / promote only).
    pub done: Vec<PromotionRecord>,
    pub problems: Vec<Problem>,
    /// Candidates whose digest the policy had promoted before.
    pub already_promoted: usize,
    /// Tags (or images) that did not meet the criteria.
    pub not_matching: usize,
    /// Every candidate a policy rejected, with the criterion that failed (sorted like the
    /// candidates: policy file, repository, tag).
    pub rejected: Vec<Rejected>,
    pub copy: CopyStats,
}

impl Report {
    pub fn skipped(reason: &str) -> Self {
        Report {
            skipped: Some(reason.to_string()),
            ..Report::default()
        }
    }
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }
}

/// Evaluate every policy of the catalogue: first every policy's candidates are listed (tag
/// lists), then each is checked, reported to the session's progress as the stage
/// "planning promotions" over the number of candidates.
pub async fn plan<R: Api>(
    sess: &Session<'_, R>,
    cat: &Catalogue,
    index: &Index,
    now: DateTime<Utc>,
) -> Report {
    let mut report = Report::default();
    let mut policies: Vec<&Source<Policy>> = cat.policies.iter().collect();
    policies.sort_by(|a, b| a.path.cmp(&b.path));
    let mut listed = Vec::new();
    for src in policies {
        listed.push(list_policy(sess, &cat.root, src, index).await);
    }
    let total = listed
        .iter()
        .flat_map(|l| &l.steps)
        .filter(|s| matches!(s, Step::Candidate { .. }))
        .count();
    sess.progress.start("planning promotions", total as u64);
    for l in &listed {
        check_policy(sess, l, now, &mut report).await;
    }
    sess.progress.finish();
    // Two promotions must not race for one target tag (e.g. a timestamp-only template
    // with several matching tags in the same run): the first (in sorted order) wins.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut kept = Vec::new();
    for p in std::mem::take(&mut report.pending) {
        match seen.get(&p.target) {
            Some(d) if *d != p.source_digest => report.problems.push(Problem {
                policy: p.policy.clone(),
                file: p.file.clone(),
                source: Some(p.source.clone()),
                message: format!(
                    "renders target {} which another promotion of this run already uses; make the tag template unique per image (add %n or {{{{ tag }}}})",
                    p.target
                ),
            }),
            _ => {
                seen.insert(p.target.clone(), p.source_digest.clone());
                kept.push(p);
            }
        }
    }
    report.pending = kept;
    report.copy.referrer_lookups = sess.stats.borrow().referrer_lookups;
    report
}

/// One policy with its candidates listed, ready to be checked.
struct Listed<'i> {
    name: String,
    file: String,
    /// The compiled policy, its signature keys and its target repository (`None` when the
    /// policy cannot run: `steps` holds the problem).
    compiled: Option<(CompiledPolicy, Vec<crate::supply::TrustedKey>, Repo)>,
    /// Source digests the policy promoted before.
    promoted: BTreeSet<&'i str>,
    /// Source repositories with their tags.
    repos: Vec<(Repo, BTreeSet<String>)>,
    /// In the order they are reported.
    steps: Vec<Step>,
}

/// What listing a policy found, in order.
enum Step {
    Problem(Problem),
    /// Tag `tag` of `repos[repo]`.
    Candidate {
        repo: usize,
        tag: String,
    },
}

/// Compile a policy, load its keys and list its candidates (repositories and tags).
async fn list_policy<'i, R: Api>(
    sess: &Session<'_, R>,
    root: &std::path::Path,
    src: &Source<Policy>,
    index: &'i Index,
) -> Listed<'i> {
    let p = &src.value;
    let name = p.name.value.clone();
    let file = display_path(&src.path);
    let mut listed = Listed {
        name: name.clone(),
        file: file.clone(),
        compiled: None,
        promoted: BTreeSet::new(),
        repos: Vec::new(),
        steps: Vec::new(),
    };
    let problem = |message: String| {
        Step::Problem(Problem {
            policy: Some(name.clone()),
            file: Some(file.clone()),
            source: None,
            message,
        })
    };
    // The same compilation `berth validate` reports on: a policy runs only when it is valid.
    let c = match crate::policy::compile(root, src) {
        Ok(c) => c,
        Err(diags) => {
            let why: Vec<String> = diags
                .into_sorted()
                .iter()
                .map(|d| format!("{} {}", d.code, d.message))
                .collect();
            listed.steps.push(problem(why.join("; ")));
            return listed;
        }
    };
    let target = Repo::new(&c.target_host, &c.target_repository);
    // Keys of signature criteria, loaded once per policy (validate reports bad ones: E06xx).
    let mut keys = Vec::new();
    for k in c.criteria.signature_keys() {
        match crate::supply::keys::load(root, k) {
            Ok(key) => keys.push(key),
            Err(e) => {
                listed
                    .steps
                    .push(problem(format!("signature key: {}", e.message())));
                return listed;
            }
        }
    }
    let repos: Vec<String> = if c.pattern.is_literal() {
        vec![normalize_repository(&c.source_host, c.pattern.as_str())]
    } else {
        match sess.reg.repositories(&c.source_host).await {
            Ok(all) => {
                let mut r: Vec<String> = all.into_iter().filter(|r| c.pattern.matches(r)).collect();
                r.sort();
                r.dedup();
                r
            }
            Err(e) => {
                listed.steps.push(problem(format!(
                    "listing repositories of {}: {e}",
                    c.source_host
                )));
                return listed;
            }
        }
    };
    listed.promoted = index
        .promotions
        .iter()
        .filter(|r| r.policy.as_deref() == Some(name.as_str()))
        .map(|r| r.source_digest.as_str())
        .collect();
    for repo_name in repos {
        let repo = Repo::new(&c.source_host, &repo_name);
        if repo == target {
            continue; // never promote a repository onto itself
        }
        let mut tags = match sess.reg.tags(&repo).await {
            Ok(t) => t,
            Err(e) => {
                listed
                    .steps
                    .push(problem(format!("listing tags of {repo}: {e}")));
                continue;
            }
        };
        tags.sort();
        let at = listed.repos.len();
        for tag in &tags {
            if crate::supply::is_artefact_tag(tag) {
                continue; // a signature, SBOM or referrers index, never an image to promote
            }
            listed.steps.push(Step::Candidate {
                repo: at,
                tag: tag.clone(),
            });
        }
        listed.repos.push((repo, tags.into_iter().collect()));
    }
    listed.compiled = Some((c, keys, target));
    listed
}

/// Check a listed policy's candidates against its criteria (one progress item each).
async fn check_policy<R: Api>(
    sess: &Session<'_, R>,
    l: &Listed<'_>,
    now: DateTime<Utc>,
    report: &mut Report,
) {
    let mut seen_digests: BTreeSet<String> = BTreeSet::new();
    for step in &l.steps {
        let (repo_at, tag) = match step {
            Step::Problem(p) => {
                report.problems.push(p.clone());
                continue;
            }
            Step::Candidate { repo, tag } => (*repo, tag),
        };
        let Some((c, keys, target)) = &l.compiled else {
            continue; // candidates are listed only for a compiled policy
        };
        let (repo, tag_set) = &l.repos[repo_at];
        let source = ImageRef::new(Some(&repo.host), &repo.repository, tag).to_string();
        if !c.criteria.tag_holds(tag) {
            report.not_matching += 1;
            report.rejected.push(Rejected {
                policy: l.name.clone(),
                file: l.file.clone(),
                source,
                digest: None,
                criterion: "tag criterion".into(),
            });
        } else if let Err(m) = plan_tag(
            sess,
            c,
            target,
            (keys, tag_set),
            repo,
            tag,
            now,
            &l.promoted,
            &mut seen_digests,
            report,
            &l.name,
            &l.file,
        )
        .await
        {
            report.problems.push(Problem {
                policy: Some(l.name.clone()),
                file: Some(l.file.clone()),
                source: Some(source),
                message: m,
            });
        }
        sess.advance();
    }
}

#[allow(clippy::too_many_arguments)]
async fn plan_tag<R: Api>(
    sess: &Session<'_, R>,
    c: &CompiledPolicy,
    target_repo: &Repo,
    (keys, tags): (&[crate::supply::TrustedKey], &BTreeSet<String>),
    repo: &Repo,
    tag: &str,
    now: DateTime<Utc>,
    promoted: &BTreeSet<&str>,
    seen_digests: &mut BTreeSet<String>,
    report: &mut Report,
    name: &str,
    file: &str,
) -> Result<(), String> {
    let digest = match sess
        .reg
        .manifest_digest(repo, tag)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(d) => d,
        None => return Ok(()), // deleted between listing and reading
    };
    if promoted.contains(digest.as_str()) {
        report.already_promoted += 1;
        return Ok(());
    }
    if !seen_digests.insert(digest.clone()) {
        return Ok(()); // same image under another tag of this run: promote it once
    }
    let needs_info = c.criteria.needs_manifest()
        || c.template.source().contains("labels")
        || c.template.source().contains("created");
    let info = if needs_info {
        Some(sess.info(repo, &digest).await.map_err(|e| e.to_string())?)
    } else {
        None
    };
    let empty = BTreeMap::new();
    let mut facts = Facts {
        tag: tag.to_string(),
        labels: info.as_ref().map(|i| i.labels.clone()).unwrap_or_default(),
        platforms: info
            .as_ref()
            .map(|i| i.platforms.clone())
            .unwrap_or_default(),
        supply: None,
    };
    let source = ImageRef::new(Some(&repo.host), &repo.repository, tag).to_string();
    let reject = |report: &mut Report, why: String| {
        report.not_matching += 1;
        report.rejected.push(Rejected {
            policy: name.to_string(),
            file: file.to_string(),
            source: source.clone(),
            digest: Some(digest.clone()),
            criterion: why,
        });
    };
    // Criteria that need no request first; attached artefacts are looked up only for a
    // candidate that meets all of them.
    if let Err(failed) = c.criteria.evaluate_local(&facts) {
        reject(report, failed.why(&facts));
        return Ok(());
    }
    let want = c.criteria.supply_wanted();
    if want != crate::supply::Want::default() {
        sess.stats.borrow_mut().referrer_lookups += 1;
        let attached = crate::supply::discover(sess.reg, repo, &digest, want, Some(tags))
            .await
            .map_err(|e| format!("looking up signatures and SBOMs of {digest}: {e}"))?;
        facts.supply = Some(crate::supply::inspect(sess.reg, repo, &attached, keys, want).await);
    }
    if let Err(failed) = c.criteria.evaluate(&facts) {
        reject(report, failed.why(&facts));
        return Ok(());
    }
    let target_tag = c
        .template
        .render(&TemplateInput {
            tag,
            repository: &repo.repository,
            digest: &digest,
            labels: info.as_ref().map(|i| &i.labels).unwrap_or(&empty),
            created: info.as_ref().and_then(|i| i.created.as_deref()),
            promoted_at: now,
        })
        .map_err(|e| e.to_string())?;
    let target = ImageRef::new(
        Some(&target_repo.host),
        &target_repo.repository,
        &target_tag,
    );
    let (action, previous_digest) =
        target_action(sess, target_repo, &target_tag, &digest, c.overwrite).await?;
    report.pending.push(Pending {
        policy: Some(name.to_string()),
        file: Some(file.to_string()),
        source,
        source_digest: digest,
        target: target.to_string(),
        action,
        previous_digest,
    });
    Ok(())
}

/// Decide what to do at the target tag.
pub async fn target_action<R: Api>(
    sess: &Session<'_, R>,
    target: &Repo,
    tag: &str,
    digest: &str,
    overwrite: bool,
) -> Result<(Action, Option<String>), String> {
    match sess
        .reg
        .manifest_digest(target, tag)
        .await
        .map_err(|e| e.to_string())?
    {
        None => Ok((Action::Copy, None)),
        Some(d) if d == digest => Ok((Action::Present, None)),
        Some(d) if overwrite => Ok((Action::Overwrite, Some(d))),
        Some(d) => Err(format!(
            "target {target}:{tag} already points at {d}, not {digest}; set `overwrite: true` in the policy to move it"
        )),
    }
}

/// Perform pending promotions (up to `concurrency` at once) and record each success; each
/// promotion that ends (copied or failed) is one item of the progress stage "copying".
pub async fn execute<R: Api>(
    sess: &Session<'_, R>,
    report: &mut Report,
    now: DateTime<Utc>,
    initiated_by: InitiatedBy,
    concurrency: usize,
) {
    let when = crate::model::time::format(&now);
    let pending = report.pending.clone();
    // Lookups of the planning session plus those of this one.
    let planned = report.copy.referrer_lookups;
    let before = sess.stats.borrow().referrer_lookups;
    type Copied = Result<Vec<crate::model::PromotedArtefact>, PromoteError>;
    sess.progress.start("copying", pending.len() as u64);
    let results: Vec<(Pending, Copied)> =
        futures_util::stream::iter(pending.into_iter().map(|p| async move {
            let (src, tgt) = match (
                ImageRef::parse_canonical(&p.source),
                ImageRef::parse_canonical(&p.target),
            ) {
                (Some(s), Some(t)) => (s, t),
                _ => {
                    let why = format!("cannot parse {} or {}", p.source, p.target);
                    sess.advance();
                    return (p, Err(PromoteError::Registry(why)));
                }
            };
            let (from, to) = (
                Repo::new(&src.registry, &src.repository),
                Repo::new(&tgt.registry, &tgt.repository),
            );
            let r = match p.action {
                Action::Present => Ok(()),
                Action::Copy | Action::Overwrite => {
                    sess.copy(&from, &p.source_digest, &to, &tgt.tag).await
                }
            };
            // The image's signatures, SBOMs and reports go with it (also when the target
            // already had the image: it may lack them).
            let r = match r {
                Ok(()) => sess.copy_artefacts(&from, &p.source_digest, &to).await,
                Err(e) => Err(e),
            };
            sess.advance();
            (p, r)
        }))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    sess.progress.finish();
    for (p, r) in results {
        match r {
            Ok(artefacts) => report.done.push(PromotionRecord {
                artefacts,
                policy: p.policy.clone(),
                source: p.source.clone(),
                source_digest: p.source_digest.clone(),
                target: p.target.clone(),
                promoted_at: when.clone(),
                initiated_by,
            }),
            Err(e) => report.problems.push(Problem {
                policy: p.policy.clone(),
                file: p.file.clone(),
                source: Some(p.source.clone()),
                message: format!("copy to {} failed: {e}", p.target),
            }),
        }
    }
    report.copy = sess.stats.borrow().clone();
    report.copy.referrer_lookups = planned + (report.copy.referrer_lookups - before);
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
