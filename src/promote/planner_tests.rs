//! Tests of the promotion planner against the in-memory registry (`crate::registry::fake`).

use super::*;
use crate::registry::fake::Fake;
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

/// Supply-chain criteria: a signed image with an SBOM and a clean report is promoted with
/// its artefacts; an unsigned one and a critical-vulnerable one are rejected with the
/// criterion that failed; artefact tags are never candidates; artefacts are looked up only
/// for candidates every other criterion accepted.
#[test]
fn supply_criteria_reject_with_the_failing_criterion_and_artefacts_go_along() {
    use crate::supply::testing as t;
    let f = Fake::default();
    let dev = Repo::new("reg.test", "dev/app");
    let s = t::signer(9);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    let pem = {
        use p256::pkcs8::EncodePublicKey;
        p256::ecdsa::VerifyingKey::from(&s.sk)
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
    };
    std::fs::write(dir.path().join("keys/team.pub"), pem).unwrap();
    let good = f.image(&dev, Some("1-ok"), "a", &[], "linux/amd64");
    t::cosign_sig(&f, &dev, &good, &s);
    t::sbom(&f, &dev, &good);
    t::sarif(&f, &dev, &good, 0, 2);
    let unsigned = f.image(&dev, Some("2-unsigned"), "b", &[], "linux/amd64");
    t::sbom(&f, &dev, &unsigned);
    t::sarif(&f, &dev, &unsigned, 0, 0);
    let vulnerable = f.image(&dev, Some("3-vulnerable"), "c", &[], "linux/amd64");
    t::bundle(&f, &dev, &vulnerable, &s);
    t::sbom(&f, &dev, &vulnerable);
    t::sarif(&f, &dev, &vulnerable, 1, 0);
    let arm = f.image(&dev, Some("4-arm"), "d", &[], "linux/arm64");
    t::cosign_sig(&f, &dev, &arm, &s);
    let p = r#"
name: signed-to-qa
source: { registry: reg.test, repository: dev/app }
criteria:
  - signature: { key: keys/team.pub }
  - sbom: present
  - vulnerabilities: { critical: 0, high: 3 }
  - platform: linux/amd64
target: { registry: reg.test, repository: qa/app, tag: "%n" }
"#;
    let mut c = cat(&[p]);
    c.root = dir.path().to_path_buf();
    let sess = Session::new(&f);
    let mut r = block(plan(&sess, &c, &Index::default(), now()));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let pending: Vec<&str> = r.pending.iter().map(|p| p.source.as_str()).collect();
    assert_eq!(pending, vec!["reg.test/dev/app:1-ok"]);
    let rejected: Vec<(&str, &str)> = r
        .rejected
        .iter()
        .map(|x| (x.source.as_str(), x.criterion.as_str()))
        .collect();
    let short = &s.key.fingerprint[..19];
    assert_eq!(
        rejected,
        vec![
            (
                "reg.test/dev/app:2-unsigned",
                format!(
                    "signature keys/team.pub: no valid signature by keys/team.pub ({short}…): no signature is attached to {unsigned}"
                )
                .as_str()
            ),
            (
                "reg.test/dev/app:3-vulnerable",
                "vulnerabilities: 1 critical > 0"
            ),
            ("reg.test/dev/app:4-arm", "platform linux/amd64"),
        ]
    );
    assert_eq!(r.not_matching, 3);
    // The arm64 image failed a local criterion: its artefacts were never looked up.
    assert_eq!(sess.stats.borrow().referrer_lookups, 3);
    assert_eq!(r.copy.referrer_lookups, 3);
    block(execute(&sess, &mut r, now(), InitiatedBy::Policy, 2));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    // The report counts the planning lookups and the one made to copy the promoted image's.
    assert_eq!(r.copy.referrer_lookups, 4);
    let kinds: Vec<&str> = r.done[0]
        .artefacts
        .iter()
        .map(|a| a.kind.as_str())
        .collect();
    assert_eq!(kinds.len(), 3);
    for k in ["signature", "sbom", "scan-report"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    let qa = Repo::new("reg.test", "qa/app");
    assert_eq!(
        f.tag_digest(&qa, &format!("sha256-{}.sig", &good[7..])),
        f.tag_digest(&dev, &format!("sha256-{}.sig", &good[7..]))
    );
}
