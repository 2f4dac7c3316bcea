//! Table-driven lifecycle scenarios: each step is a listing state (and a registry answer);
//! the engine runs on the index of the previous step, like successive `berth apply` runs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth::catalogue::load::{Catalogue, Source, parse_yaml};
use berth::lifecycle::{Context, ImageFacts, VerifyOutcome, reconcile};
use berth::model::diag::Code;
use berth::model::{Index, Listing};

/// Registry answer for the listing's reference in a step.
#[derive(Clone, Copy)]
enum Reg {
    Skip,
    Ok(&'static str),
    Fail,
}

struct Step {
    tag: &'static str,
    kind: &'static str,
    stage: &'static str,
    extra: &'static str,
    reg: Reg,
    /// Expected versions after the step: "version status tag[ qa][ @digest]" joined by "; ".
    want: &'static str,
    want_error: Option<Code>,
}

fn step(tag: &'static str, kind: &'static str, stage: &'static str, want: &'static str) -> Step {
    Step {
        tag,
        kind,
        stage,
        extra: "",
        reg: Reg::Skip,
        want,
        want_error: None,
    }
}

impl Step {
    fn extra(mut self, e: &'static str) -> Self {
        self.extra = e;
        self
    }
    fn reg(mut self, r: Reg) -> Self {
        self.reg = r;
        self
    }
    fn err(mut self, c: Code) -> Self {
        self.want_error = Some(c);
        self
    }
}

fn listing(s: &Step) -> Listing {
    let yaml = format!(
        "code: app\nname: App\nsummary: s\npublisher: p\ndebugProject: dbg\nimage:\n  registry: reg.example.com\n  repository: team/app\n  tag: \"{}\"\nrelease:\n  type: {}\n  stage: {}\n{}",
        s.tag, s.kind, s.stage, s.extra
    );
    parse_yaml::<Listing>(&yaml).unwrap_or_else(|e| panic!("{yaml}\n{e:?}"))
}

fn summary(idx: &Index) -> String {
    let Some(img) = idx.images.get("app") else {
        return String::new();
    };
    img.versions
        .iter()
        .map(|v| {
            let tag = v.reference.rsplit(':').next().unwrap();
            let mut s = format!("{} {} {}", v.version, v.status, tag);
            if let Some(q) = &v.qa {
                s.push_str(&format!(" qa={:?}", q.status).to_lowercase());
            }
            if let Some(d) = &v.digest {
                s.push_str(&format!(" @{}", &d[7..11]));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A catalogue holding just the step's listing.
fn catalogue(s: &Step) -> Catalogue {
    Catalogue {
        root: PathBuf::from("/nonexistent"),
        listings: vec![Source {
            path: PathBuf::from("images/app.yaml"),
            value: listing(s),
        }],
        ..Catalogue::default()
    }
}

fn ctx(now: &str, commit: Option<&str>) -> Context {
    Context {
        now: now.into(),
        commit: commit.map(str::to_string),
        check_drift: false,
    }
}

fn run_steps(name: &str, steps: Vec<Step>) -> Index {
    let mut prev = berth::index::empty();
    for (i, s) in steps.iter().enumerate() {
        let cat = catalogue(s);
        let reference = format!("reg.example.com/team/app:{}", s.tag);
        let mut outcomes = BTreeMap::new();
        match s.reg {
            Reg::Skip => {}
            Reg::Ok(d) => {
                outcomes.insert(
                    reference,
                    VerifyOutcome::Passed(ImageFacts {
                        digest: format!("sha256:{d}{}", "0".repeat(64 - d.len())),
                        platforms: vec!["linux/amd64".into()],
                        size: Some(10),
                        config_labels: BTreeMap::new(),
                        level: "blobs".into(),
                    }),
                );
            }
            Reg::Fail => {
                outcomes.insert(
                    reference,
                    VerifyOutcome::Failed("manifest unknown (404)".into()),
                );
            }
        }
        let context = ctx(
            &format!("2026-11-{:02}T00:00:00Z", i + 1),
            Some(&format!("c{i}")),
        );
        let r = reconcile(&cat, &prev, &outcomes, &context);
        let errors: Vec<Code> = r
            .diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        assert_eq!(
            errors.first().copied(),
            s.want_error,
            "{name} step {i}: diagnostics {:?}",
            r.diags
        );
        assert_eq!(summary(&r.index), s.want, "{name} step {i}");
        // Running the same step again on its own result is a no-op, byte for byte.
        let again = reconcile(
            &cat,
            &r.index,
            &outcomes,
            &ctx("2030-01-01T00:00:00Z", Some("later")),
        );
        if s.want_error.is_none() {
            assert!(
                again.changes.is_empty(),
                "{name} step {i}: rerun changed {:?}",
                again.changes
            );
            assert_eq!(
                berth::index::to_canonical_json(&again.index),
                berth::index::to_canonical_json(&r.index),
                "{name} step {i}: rerun not byte-identical"
            );
        }
        prev = r.index;
    }
    prev
}

#[test]
fn versions_move_by_release_type() {
    run_steps(
        "types",
        vec![
            step("1", "new", "testing", "1.0.0 testing 1"),
            step("1", "new", "released", "1.0.0 released 1"),
            step("2", "fix", "testing", "1.0.0 released 1; 1.0.1 testing 2"),
            // Mutable: a new tag keeps the number.
            step("3", "fix", "testing", "1.0.0 released 1; 1.0.1 testing 3"),
            // Mutable: a new type re-plans the number from the finished base.
            step(
                "4",
                "feature",
                "testing",
                "1.0.0 released 1; 1.1.0 testing 4",
            ),
            step(
                "4",
                "feature",
                "released",
                "1.0.0 released 1; 1.1.0 released 4",
            ),
            step(
                "5",
                "incompatible",
                "released",
                "1.0.0 released 1; 1.1.0 released 4; 2.0.0 released 5",
            ),
            step(
                "6",
                "fix",
                "testing",
                "1.0.0 released 1; 1.1.0 released 4; 2.0.0 released 5; 2.0.1 testing 6",
            ),
        ],
    );
}

#[test]
fn check_failed_is_rechecked_and_release_pins_digest() {
    let idx = run_steps(
        "check",
        vec![
            step("1", "new", "testing", "1.0.0 check-failed 1").reg(Reg::Fail),
            // Still failing: stays check-failed.
            step("1", "new", "testing", "1.0.0 check-failed 1").reg(Reg::Fail),
            // Offline (verification skipped): a failed check is not cleared, nor released.
            step("1", "new", "testing", "1.0.0 check-failed 1"),
            step("1", "new", "released", "1.0.0 check-failed 1"),
            step("1", "new", "testing", "1.0.0 testing 1 @aaaa").reg(Reg::Ok("aaaa")),
            // Tag moved while testing: release pins what it points at now.
            step("1", "new", "released", "1.0.0 released 1 @bbbb").reg(Reg::Ok("bbbb")),
            // Released is immutable: a later registry answer does not re-pin.
            step("1", "new", "released", "1.0.0 released 1 @bbbb").reg(Reg::Ok("cccc")),
            // A release that fails its check does not become released.
            step(
                "2",
                "fix",
                "released",
                "1.0.0 released 1 @bbbb; 1.0.1 check-failed 2",
            )
            .reg(Reg::Fail),
        ],
    );
    let v = &idx.images["app"].versions[1];
    assert_eq!(
        v.verification.reason.as_deref(),
        Some("manifest unknown (404)")
    );
    assert_eq!(
        idx.images["app"].versions[0].pull.as_deref(),
        Some(&*format!(
            "reg.example.com/team/app@sha256:bbbb{}",
            "0".repeat(60)
        ))
    );
}

#[test]
fn cancel_and_re_release() {
    run_steps(
        "cancel",
        vec![
            step("1", "new", "released", "1.0.0 released 1"),
            step(
                "2",
                "feature",
                "testing",
                "1.0.0 released 1; 1.1.0 testing 2",
            ),
            step(
                "2",
                "feature",
                "cancelled",
                "1.0.0 released 1; 1.1.0 cancelled 2",
            ),
            // Same tag again without re-release: refused, state kept.
            step(
                "2",
                "feature",
                "testing",
                "1.0.0 released 1; 1.1.0 cancelled 2",
            )
            .err(Code::InvalidTransition),
            step(
                "3",
                "re-release",
                "testing",
                "1.0.0 released 1; 1.1.0 testing 3",
            ),
            step(
                "3",
                "re-release",
                "released",
                "1.0.0 released 1; 1.1.0 released 3",
            ),
            // re-release needs a cancelled newest version.
            step(
                "4",
                "re-release",
                "testing",
                "1.0.0 released 1; 1.1.0 released 3",
            )
            .err(Code::InvalidTransition),
            step(
                "4",
                "fix",
                "testing",
                "1.0.0 released 1; 1.1.0 released 3; 1.1.1 testing 4",
            ),
        ],
    );
}

#[test]
fn released_is_immutable_and_new_is_first_only() {
    run_steps(
        "immutable",
        vec![
            step("1", "new", "released", "1.0.0 released 1"),
            step("1", "new", "testing", "1.0.0 released 1").err(Code::InvalidTransition),
            step("1", "new", "cancelled", "1.0.0 released 1").err(Code::InvalidTransition),
            step("2", "new", "testing", "1.0.0 released 1").err(Code::InvalidTransition),
        ],
    );
}

#[test]
fn declared_versions_and_suffixes() {
    run_steps(
        "declared",
        vec![
            step("1", "new", "released", "1.0.0 released 1").extra("  version: 1.0.0\n"),
            step("2", "incompatible", "testing", "1.0.0 released 1")
                .extra("  version: 1.1.0\n")
                .err(Code::VersionMismatch),
            step(
                "2",
                "incompatible",
                "released",
                "1.0.0 released 1; 2.0.0-rc.1 released 2",
            )
            .extra("  version: 2.0.0-rc.1\n"),
            // Finishing a pre-release: incompatible from 2.0.0-rc.1 is 2.0.0.
            step(
                "3",
                "incompatible",
                "released",
                "1.0.0 released 1; 2.0.0-rc.1 released 2; 2.0.0 released 3",
            ),
            // Same reference, declared number of another version: caught.
            step(
                "3",
                "incompatible",
                "released",
                "1.0.0 released 1; 2.0.0-rc.1 released 2; 2.0.0 released 3",
            )
            .extra("  version: 1.0.0\n")
            .err(Code::VersionMismatch),
        ],
    );
}

#[test]
fn marks_qa_and_delist_drive_channels() {
    let idx = run_steps(
        "marks",
        vec![
            step("1", "new", "released", "1.0.0 released 1"),
            step("2", "fix", "released", "1.0.0 released 1; 1.0.1 released 2"),
            step("2", "fix", "released", "1.0.0 released 1; 1.0.1 released 2 qa=failed")
                .extra("versions:\n  \"1.0.1\": { qa: failed, reason: \"run 4411\" }\n"),
            step("2", "fix", "released", "1.0.0 delisted 1; 1.0.1 released 2 qa=failed")
                .extra("versions:\n  \"1.0.1\": { qa: failed, reason: \"run 4411\" }\n  \"1.0.0\": { delisted: true }\n"),
            step("2", "fix", "released", "1.0.0 delisted 1; 1.0.1 released 2 qa=failed")
                .extra("versions:\n  \"1.0.1\": { qa: failed, reason: \"run 4411\" }\n  \"1.0.0\": { delisted: true }\n  \"9.9.9\": { delisted: true }\n")
                .err(Code::MarkUnknownVersion),
        ],
    );
    let img = &idx.images["app"];
    // 1.0.1 failed QA, 1.0.0 delisted: no latest; 1.latest falls back to the delisted 1.0.0.
    assert!(!img.channels.contains_key("latest"), "{:?}", img.channels);
    assert_eq!(img.channels["1.latest"].version, "1.0.0");
    assert!(img.channels["1.latest"].deprecated);
}

#[test]
fn testing_channel_only_for_debug_project() {
    let idx = run_steps(
        "channels",
        vec![
            step("1", "new", "released", "1.0.0 released 1"),
            step(
                "2",
                "feature",
                "testing",
                "1.0.0 released 1; 1.1.0 testing 2",
            ),
        ],
    );
    let img = &idx.images["app"];
    assert_eq!(img.channels["latest"].version, "1.0.0");
    assert_eq!(img.testing_channels["latest"].version, "1.1.0");
    assert_eq!(img.channels["latest"].pull, "reg.example.com/team/app:1");
}

#[test]
fn removed_listing_delists_and_keeps_history() {
    let idx = run_steps(
        "removed",
        vec![
            step("1", "new", "released", "1.0.0 released 1"),
            step("2", "fix", "testing", "1.0.0 released 1; 1.0.1 testing 2"),
        ],
    );
    let cat = Catalogue::default();
    let r = reconcile(&cat, &idx, &BTreeMap::new(), &ctx("t", None));
    assert_eq!(summary(&r.index), "1.0.0 delisted 1; 1.0.1 cancelled 2");
    assert_eq!(r.changes.len(), 2);
    assert!(r.index.images["app"].channels["1.latest"].deprecated);
}

#[test]
fn verification_requests_only_for_changed_versions() {
    let idx = run_steps(
        "req",
        vec![step("1", "new", "released", "1.0.0 released 1 @aaaa").reg(Reg::Ok("aaaa"))],
    );
    let s = step("1", "new", "released", "");
    let cat = catalogue(&s);
    let r = reconcile(&cat, &idx, &BTreeMap::new(), &ctx("t", None));
    assert!(
        r.requests.is_empty(),
        "released and unchanged: no requests, got {:?}",
        r.requests
    );
    let s2 = step("2", "fix", "testing", "");
    let cat2 = catalogue(&s2);
    let r2 = reconcile(&cat2, &idx, &BTreeMap::new(), &ctx("t", None));
    assert_eq!(r2.requests.len(), 1);
    assert_eq!(r2.requests[0].reference, "reg.example.com/team/app:2");
    assert_eq!(r2.requests[0].version, "1.0.1");
}
