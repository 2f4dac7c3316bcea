//! Policy evaluation and execution over a [`Registry`].
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
use crate::promote::engine::{CopyStats, PromoteError, Registry, Repo, Session};

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

/// Evaluate every policy of the catalogue.
pub async fn plan<R: Registry>(
    sess: &Session<'_, R>,
    cat: &Catalogue,
    index: &Index,
    now: DateTime<Utc>,
) -> Report {
    let mut report = Report::default();
    let mut policies: Vec<&Source<Policy>> = cat.policies.iter().collect();
    policies.sort_by(|a, b| a.path.cmp(&b.path));
    for src in policies {
        plan_policy(sess, &cat.root, src, index, now, &mut report).await;
    }
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
    report
}

async fn plan_policy<R: Registry>(
    sess: &Session<'_, R>,
    root: &std::path::Path,
    src: &Source<Policy>,
    index: &Index,
    now: DateTime<Utc>,
    report: &mut Report,
) {
    let p = &src.value;
    let name = p.name.value.clone();
    let file = display_path(&src.path);
    let problem = |source: Option<String>, message: String| Problem {
        policy: Some(name.clone()),
        file: Some(file.clone()),
        source,
        message,
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
            report.problems.push(problem(None, why.join("; ")));
            return;
        }
    };
    let target = Repo::new(&c.target_host, &c.target_repository);
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
                report.problems.push(problem(
                    None,
                    format!("listing repositories of {}: {e}", c.source_host),
                ));
                return;
            }
        }
    };
    let promoted: BTreeSet<&str> = index
        .promotions
        .iter()
        .filter(|r| r.policy.as_deref() == Some(name.as_str()))
        .map(|r| r.source_digest.as_str())
        .collect();
    let mut seen_digests: BTreeSet<String> = BTreeSet::new();
    for repo_name in repos {
        let repo = Repo::new(&c.source_host, &repo_name);
        if repo == target {
            continue; // never promote a repository onto itself
        }
        let mut tags = match sess.reg.tags(&repo).await {
            Ok(t) => t,
            Err(e) => {
                report
                    .problems
                    .push(problem(None, format!("listing tags of {repo}: {e}")));
                continue;
            }
        };
        tags.sort();
        for tag in tags {
            if !c.criteria.tag_holds(&tag) {
                report.not_matching += 1;
                continue;
            }
            let source = ImageRef::new(Some(&repo.host), &repo.repository, &tag);
            let src_s = source.to_string();
            if let Err(m) = plan_tag(
                sess,
                &c,
                &target,
                &repo,
                &tag,
                now,
                &promoted,
                &mut seen_digests,
                report,
                &name,
                &file,
            )
            .await
            {
                report.problems.push(problem(Some(src_s), m));
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn plan_tag<R: Registry>(
    sess: &Session<'_, R>,
    c: &CompiledPolicy,
    target_repo: &Repo,
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
    let facts = Facts {
        tag: tag.to_string(),
        labels: info.as_ref().map(|i| i.labels.clone()).unwrap_or_default(),
        platforms: info
            .as_ref()
            .map(|i| i.platforms.clone())
            .unwrap_or_default(),
    };
    if c.criteria.evaluate(&facts).is_err() {
        report.not_matching += 1;
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
        source: ImageRef::new(Some(&repo.host), &repo.repository, tag).to_string(),
        source_digest: digest,
        target: target.to_string(),
        action,
        previous_digest,
    });
    Ok(())
}

/// Decide what to do at the target tag.
pub async fn target_action<R: Registry>(
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

/// Perform pending promotions (up to `concurrency` at once) and record each success.
pub async fn execute<R: Registry>(
    sess: &Session<'_, R>,
    report: &mut Report,
    now: DateTime<Utc>,
    initiated_by: InitiatedBy,
    concurrency: usize,
) {
    let when = crate::model::time::format(&now);
    let pending = report.pending.clone();
    let results: Vec<(Pending, Result<(), PromoteError>)> =
        futures_util::stream::iter(pending.into_iter().map(|p| async move {
            let r = match p.action {
                Action::Present => Ok(()),
                Action::Copy | Action::Overwrite => {
                    let (src, tgt) = match (
                        ImageRef::parse_canonical(&p.source),
                        ImageRef::parse_canonical(&p.target),
                    ) {
                        (Some(s), Some(t)) => (s, t),
                        _ => {
                            return (
                                p.clone(),
                                Err(PromoteError::Registry(format!(
                                    "cannot parse {} or {}",
                                    p.source, p.target
                                ))),
                            );
                        }
                    };
                    sess.copy(
                        &Repo::new(&src.registry, &src.repository),
                        &p.source_digest,
                        &Repo::new(&tgt.registry, &tgt.repository),
                        &tgt.tag,
                    )
                    .await
                }
            };
            (p, r)
        }))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    for (p, r) in results {
        match r {
            Ok(()) => report.done.push(PromotionRecord {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promote::fake::Fake;
    use std::path::PathBuf;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn cat(policies: &[&str]) -> Catalogue {
        let mut c = Catalogue::default();
        for (i, text) in policies.iter().enumerate() {
            let value: Policy =
                crate::catalogue::load::parse_yaml(text).unwrap_or_else(|e| panic!("{e:?}"));
            c.policies.push(Source {
                path: PathBuf::from(format!("policies/p{i}.yaml")),
                value,
            });
        }
        c
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-04T15:06:07Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    const MSR: &str = r#"
name: website-to-qa
source: { registry: reg.test, repository: dev/website }
criteria:
  - tag: { endsWith: "-stable" }
  - label: { name: org.opencontainers.image.vendor, equals: acme }
  - platform: linux/amd64
target: { registry: reg.test, repository: qa/website, tag: "%n-%Y%m%d%H%M%S" }
"#;

    fn seed_dev(f: &Fake) -> Repo {
        let dev = Repo::new("reg.test", "dev/website");
        let acme = [("org.opencontainers.image.vendor", "acme")];
        f.image(&dev, Some("1.0-stable"), "a", &acme, "linux/amd64");
        f.image(&dev, Some("1.1-stable"), "b", &acme, "linux/amd64");
        f.image(&dev, Some("1.2-beta"), "c", &acme, "linux/amd64");
        f.image(
            &dev,
            Some("2.0-stable"),
            "d",
            &[("org.opencontainers.image.vendor", "evil")],
            "linux/amd64",
        );
        f.image(&dev, Some("3.0-stable"), "e", &acme, "linux/arm64");
        dev
    }

    #[test]
    fn msr_scenario_then_idempotent_rerun() {
        let f = Fake::default();
        seed_dev(&f);
        let c = cat(&[MSR]);
        let mut index = Index::default();
        let sess = Session::new(&f);
        let mut r = block(plan(&sess, &c, &index, now()));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let targets: Vec<(&str, &str, Action)> = r
            .pending
            .iter()
            .map(|p| (p.source.as_str(), p.target.as_str(), p.action))
            .collect();
        assert_eq!(
            targets,
            vec![
                (
                    "reg.test/dev/website:1.0-stable",
                    "reg.test/qa/website:1.0-stable-20260304150607",
                    Action::Copy
                ),
                (
                    "reg.test/dev/website:1.1-stable",
                    "reg.test/qa/website:1.1-stable-20260304150607",
                    Action::Copy
                ),
            ]
        );
        // 1.2-beta fails the tag criterion: its manifest is never requested.
        assert_eq!(r.not_matching, 3);
        block(execute(&sess, &mut r, now(), InitiatedBy::Policy, 4));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.done.len(), 2);
        assert_eq!(r.done[0].promoted_at, "2026-03-04T15:06:07Z");
        assert_eq!(r.done[0].initiated_by, InitiatedBy::Policy);
        let qa = Repo::new("reg.test", "qa/website");
        assert_eq!(
            f.tag_digest(&qa, "1.0-stable-20260304150607"),
            f.tag_digest(&Repo::new("reg.test", "dev/website"), "1.0-stable")
        );
        // Same registry: every blob mounted (the two images share their config), none streamed.
        assert_eq!(r.copy.blobs_mounted + r.copy.blobs_present, 4);
        assert!(r.copy.blobs_mounted >= 3);
        assert_eq!(f.calls("copy_blob"), 0);

        // Rerun an hour later with the recorded history: nothing pending, nothing copied.
        index.promotions = r.done.clone();
        let later = now() + chrono::Duration::hours(1);
        let puts = f.calls("put_manifest");
        let sess2 = Session::new(&f);
        let mut r2 = block(plan(&sess2, &c, &index, later));
        assert!(r2.pending.is_empty(), "{:?}", r2.pending);
        assert_eq!(r2.already_promoted, 2);
        block(execute(&sess2, &mut r2, later, InitiatedBy::Policy, 4));
        assert!(r2.done.is_empty());
        assert_eq!(f.calls("put_manifest"), puts);
    }

    #[test]
    fn manifests_fetched_once_per_digest_and_only_for_candidates() {
        let f = Fake::default();
        let dev = Repo::new("reg.test", "dev/website");
        let d = f.image(
            &dev,
            Some("1-stable"),
            "a",
            &[("org.opencontainers.image.vendor", "acme")],
            "linux/amd64",
        );
        f.repos
            .borrow_mut()
            .get_mut(&dev)
            .unwrap()
            .tags
            .insert("also-stable".into(), d);
        for i in 0..20 {
            f.image(
                &dev,
                Some(&format!("nightly-{i}")),
                &format!("n{i}"),
                &[],
                "linux/amd64",
            );
        }
        let sess = Session::new(&f);
        let r = block(plan(&sess, &cat(&[MSR]), &Index::default(), now()));
        assert_eq!(r.pending.len(), 1, "{:?}", r.pending);
        // Two candidate tags resolved (HEAD) + one target check; one GET for the shared digest.
        assert_eq!(f.calls("manifest_digest"), 3);
        assert_eq!(f.calls("manifest"), 1);
        assert_eq!(f.calls("blob"), 1);
    }

    #[test]
    fn overwrite_protection() {
        let f = Fake::default();
        let dev = seed_dev(&f);
        let qa = Repo::new("reg.test", "qa/website");
        let policy = |ow: bool| {
            format!(
                "name: fixed\nsource: {{ registry: reg.test, repository: dev/website }}\ncriteria:\n  - tag: {{ equals: 1.0-stable }}\ntarget: {{ registry: reg.test, repository: qa/website, tag: current }}\noverwrite: {ow}\n"
            )
        };
        let old = f.image(&qa, Some("current"), "old", &[], "linux/amd64");
        let sess = Session::new(&f);
        let r = block(plan(
            &sess,
            &cat(&[&policy(false)]),
            &Index::default(),
            now(),
        ));
        assert!(r.pending.is_empty());
        assert_eq!(r.problems.len(), 1);
        assert!(
            r.problems[0].message.contains("overwrite: true"),
            "{}",
            r.problems[0].message
        );
        assert_eq!(f.tag_digest(&qa, "current").as_deref(), Some(old.as_str()));

        let mut r = block(plan(
            &sess,
            &cat(&[&policy(true)]),
            &Index::default(),
            now(),
        ));
        assert_eq!(r.pending[0].action, Action::Overwrite);
        assert_eq!(r.pending[0].previous_digest.as_deref(), Some(old.as_str()));
        block(execute(&sess, &mut r, now(), InitiatedBy::Policy, 2));
        assert_eq!(
            f.tag_digest(&qa, "current"),
            f.tag_digest(&dev, "1.0-stable")
        );

        // Target already has the digest (and no history): present, recorded, nothing copied.
        let puts = f.calls("put_manifest");
        let mut r = block(plan(
            &sess,
            &cat(&[&policy(false)]),
            &Index::default(),
            now(),
        ));
        assert_eq!(r.pending[0].action, Action::Present);
        block(execute(&sess, &mut r, now(), InitiatedBy::Policy, 2));
        assert_eq!(r.done.len(), 1);
        assert_eq!(f.calls("put_manifest"), puts);
    }

    #[test]
    fn multi_arch_index_across_registries() {
        let f = Fake::default();
        let src = Repo::new("a.test", "team/app");
        let d = f.index(
            &src,
            "v1.2.3",
            "x",
            &[("vendor", "acme")],
            &["linux/amd64", "linux/arm64"],
        );
        let p = r#"
name: cross
source: { registry: a.test, repository: "team/**" }
criteria:
  - tag: { semver: ">=1.0" }
  - platform: linux/arm64
  - label: { name: vendor }
target: { registry: b.test, repository: mirror/app, tag: "{{ version.major }}.{{ version.minor }}" }
"#;
        let sess = Session::new(&f);
        let mut r = block(plan(&sess, &cat(&[p]), &Index::default(), now()));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.pending.len(), 1);
        assert_eq!(r.pending[0].target, "b.test/mirror/app:1.2");
        block(execute(&sess, &mut r, now(), InitiatedBy::Policy, 2));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let dst = Repo::new("b.test", "mirror/app");
        assert_eq!(f.tag_digest(&dst, "1.2").as_deref(), Some(d.as_str()));
        // Two children + the index; 2 configs + 2 layers streamed, nothing mounted.
        assert_eq!(r.copy.manifests_pushed, 3);
        assert_eq!(r.copy.blobs_copied, 4);
        assert_eq!(r.copy.blobs_mounted, 0);
        assert_eq!(f.calls("mount_blob"), 0);
    }

    /// One rule for source patterns: what `berth validate` accepts is what the planner runs,
    /// and `{dev,qa}/web` means `dev/web` and `qa/web` to both.
    #[test]
    fn validate_and_planner_agree_on_brace_patterns() {
        let policy = |pattern: &str| {
            format!(
                "name: braces\nsource: {{ registry: reg.test, repository: \"{pattern}\" }}\ntarget: {{ registry: reg.test, repository: qa/mirror, tag: \"%n\" }}\n"
            )
        };
        let f = Fake::default();
        for (i, repo) in ["dev/web", "qa/web", "prod/web", "dev/web/x"]
            .iter()
            .enumerate()
        {
            let tag = (i + 1).to_string();
            f.image(
                &Repo::new("reg.test", repo),
                Some(&tag),
                repo,
                &[],
                "linux/amd64",
            );
        }
        let good = cat(&[&policy("{dev,qa}/web")]);
        let diags = crate::catalogue::validate::check(&good, None);
        assert!(diags.is_empty(), "{:?}", diags.into_sorted());
        let r = block(plan(&Session::new(&f), &good, &Index::default(), now()));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let sources: Vec<&str> = r.pending.iter().map(|p| p.source.as_str()).collect();
        assert_eq!(sources, vec!["reg.test/dev/web:1", "reg.test/qa/web:2"]);

        // A pattern validate refuses is not run by the planner either, for the same reason.
        let bad = cat(&[&policy("{dev,qa/web")]);
        let diags = crate::catalogue::validate::check(&bad, None).into_sorted();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].code, crate::model::diag::Code::InvalidPattern);
        let r = block(plan(&Session::new(&f), &bad, &Index::default(), now()));
        assert!(r.pending.is_empty());
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].message, format!("E0206 {}", diags[0].message));
    }

    #[test]
    fn timestamp_only_template_collides() {
        let f = Fake::default();
        seed_dev(&f);
        let p = MSR.replace("%n-%Y%m%d%H%M%S", "%Y%m%d-%H%M%S");
        let r = block(plan(
            &Session::new(&f),
            &cat(&[&p]),
            &Index::default(),
            now(),
        ));
        assert_eq!(r.pending.len(), 1);
        assert_eq!(r.problems.len(), 1);
        assert!(
            r.problems[0].message.contains("unique"),
            "{}",
            r.problems[0].message
        );
    }

    #[test]
    fn invalid_rendered_tag_is_a_problem_never_pushed() {
        let f = Fake::default();
        seed_dev(&f);
        let p = MSR.replace("%n-%Y%m%d%H%M%S", "{{ promoted_at }}");
        let sess = Session::new(&f);
        let mut r = block(plan(&sess, &cat(&[&p]), &Index::default(), now()));
        assert!(r.pending.is_empty());
        assert_eq!(r.problems.len(), 2);
        assert!(r.problems[0].message.contains("not a valid OCI tag"));
        block(execute(&sess, &mut r, now(), InitiatedBy::Policy, 2));
        assert_eq!(f.calls("put_manifest"), 0);
    }
}
