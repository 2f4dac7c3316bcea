//! Table-driven lifecycle scenarios: each step is a listing state (and a registry answer);
//! the engine runs on the index of the previous step, like successive `berth apply` runs,
//! and twice per step as `plan` does: once to learn the requests, once with the answers. The
//! registry answers like the verifier: a request naming the digest the tag still has as
//! known gets `Unchanged` (one HEAD), any other a full `Passed`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth::catalogue::load::{Catalogue, Source, parse_yaml};
use berth::lifecycle::{Context, ImageFacts, VerifyOutcome, VerifyRequest, reconcile};
use berth::model::diag::Code;
use berth::model::{Index, Listing};

/// Registry answer for the listing's reference in a step.
#[derive(Clone, Copy)]
enum Reg {
    /// Offline: nothing is asked.
    Skip,
    /// The tag points at `sha256:<this, zero-padded>`.
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
    /// Expected change lines (`Change` displayed) joined by "; ", when given.
    want_changes: Option<String>,
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
        want_changes: None,
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
    fn changes(mut self, c: impl Into<String>) -> Self {
        self.want_changes = Some(c.into());
        self
    }
}

/// `sha256:` + `d` zero-padded to 64 hex digits.
fn digest(d: &str) -> String {
    format!("sha256:{d}{}", "0".repeat(64 - d.len()))
}

/// What the registry answers to `requests` (the verifier's rules, see the module doc).
fn answers(requests: &[VerifyRequest], reg: Reg) -> BTreeMap<String, VerifyOutcome> {
    let mut out = BTreeMap::new();
    for req in requests {
        let o = match reg {
            Reg::Skip => continue,
            Reg::Ok(d) if req.known_digest.as_deref() == Some(digest(d).as_str()) => {
                VerifyOutcome::Unchanged(digest(d))
            }
            Reg::Ok(d) => VerifyOutcome::Passed(ImageFacts {
                digest: digest(d),
                platforms: vec!["linux/amd64".into()],
                size: Some(10),
                config_labels: BTreeMap::new(),
                level: "blobs".into(),
                supply: None,
            }),
            Reg::Fail => VerifyOutcome::Failed("manifest unknown (404)".into()),
        };
        out.insert(req.reference.clone(), o);
    }
    out
}

/// One engine run the way `plan` does it: requests first, then the registry's answers.
fn plan_run(
    cat: &Catalogue,
    prev: &Index,
    reg: Reg,
    ctx: &Context,
) -> berth::lifecycle::Reconciled {
    let first = reconcile(cat, prev, &BTreeMap::new(), ctx);
    reconcile(cat, prev, &answers(&first.requests, reg), ctx)
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
            if v.release_refused.is_some() {
                s.push_str(" refused");
            }
            for a in &v.attempts {
                let tag = a.reference.rsplit(':').next().unwrap();
                s.push_str(&format!(" (was {} {tag}", a.release_type));
                if let Some(d) = &a.digest {
                    s.push_str(&format!(" @{}", &d[7..11]));
                }
                s.push(')');
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
        let context = ctx(
            &format!("2026-11-{:02}T00:00:00Z", i + 1),
            Some(&format!("c{i}")),
        );
        let r = plan_run(&cat, &prev, s.reg, &context);
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
        if let Some(want) = &s.want_changes {
            let got: Vec<String> = r.changes.iter().map(|c| c.to_string()).collect();
            assert_eq!(&got.join("; "), want, "{name} step {i}: changes");
        }
        // Running the same step again on its own result is a no-op, byte for byte (a
        // refused release is recorded, so it settles too).
        let again = plan_run(
            &cat,
            &r.index,
            s.reg,
            &ctx("2030-01-01T00:00:00Z", Some("later")),
        );
        if s.want_error.is_none_or(Code::is_recorded_refusal) {
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
            // The tag moved and the same run releases it: refused, the new digest is
            // recorded as testing (see `release_pins_the_tested_digest_or_is_refused`).
            step("1", "new", "released", "1.0.0 testing 1 @bbbb refused")
                .reg(Reg::Ok("bbbb"))
                .err(Code::ReleaseTagMoved),
            step("1", "new", "testing", "1.0.0 testing 1 @bbbb").reg(Reg::Ok("bbbb")),
            // Released while the tag stays: the tested digest is pinned.
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

/// `app@1.0.0: re-pushed: sha256:<a>… → sha256:<b>…` with the short digests of a change line.
fn repushed(a: &str, b: &str) -> String {
    let short = |d: &str| format!("{}…", &digest(d)[..19]);
    format!("app@1.0.0: re-pushed: {} → {}", short(a), short(b))
}

#[test]
fn testing_tag_is_re_resolved_and_a_re_push_recorded() {
    let ab = repushed("aaaa", "bbbb");
    run_steps(
        "re-push",
        vec![
            step("1", "new", "testing", "1.0.0 testing 1 @aaaa").reg(Reg::Ok("aaaa")),
            // The tag is where it was: confirmed (Unchanged), nothing to record.
            step("1", "new", "testing", "1.0.0 testing 1 @aaaa")
                .reg(Reg::Ok("aaaa"))
                .changes(""),
            // Re-pushed: re-verified, the new digest recorded, said so.
            step("1", "new", "testing", "1.0.0 testing 1 @bbbb")
                .reg(Reg::Ok("bbbb"))
                .changes(ab),
            // Offline: nothing re-resolved, the recorded digest stays.
            step("1", "new", "testing", "1.0.0 testing 1 @bbbb").changes(""),
            // The tag is gone: check-failed, with the reason.
            step("1", "new", "testing", "1.0.0 check-failed 1")
                .reg(Reg::Fail)
                .changes("app@1.0.0: testing → check-failed (manifest unknown (404))"),
            // Offline never turns check-failed into testing (nor releases it).
            step("1", "new", "testing", "1.0.0 check-failed 1").changes(""),
            step("1", "new", "released", "1.0.0 check-failed 1").changes(""),
            step("1", "new", "testing", "1.0.0 testing 1 @cccc")
                .reg(Reg::Ok("cccc"))
                .changes("app@1.0.0: check-failed → testing"),
        ],
    );
}

#[test]
fn release_pins_the_tested_digest_or_is_refused() {
    let ab = repushed("aaaa", "bbbb");
    let bc = repushed("bbbb", "cccc");
    let idx = run_steps(
        "refuse",
        vec![
            step("1", "new", "testing", "1.0.0 testing 1 @aaaa").reg(Reg::Ok("aaaa")),
            // Tag moved in the run that would release it: refused, B recorded as testing.
            step("1", "new", "released", "1.0.0 testing 1 @bbbb refused")
                .reg(Reg::Ok("bbbb"))
                .err(Code::ReleaseTagMoved)
                .changes(ab),
            // Nothing was tested since: still refused, though the tag stays at B.
            step("1", "new", "released", "1.0.0 testing 1 @bbbb refused")
                .reg(Reg::Ok("bbbb"))
                .err(Code::ReleaseTagMoved)
                .changes(""),
            // Offline too (the refusal is recorded, no registry needed to see it).
            step("1", "new", "released", "1.0.0 testing 1 @bbbb refused")
                .err(Code::ReleaseTagMoved)
                .changes(""),
            // Moved again meanwhile: recorded, still refused.
            step("1", "new", "released", "1.0.0 testing 1 @cccc refused")
                .reg(Reg::Ok("cccc"))
                .err(Code::ReleaseTagMoved)
                .changes(bc),
            // Back to testing acknowledges it ...
            step("1", "new", "testing", "1.0.0 testing 1 @cccc")
                .reg(Reg::Ok("cccc"))
                .changes("app@1.0.0: release refusal cleared: back to testing"),
            // ... and releasing now pins what the debug project has had.
            step("1", "new", "released", "1.0.0 released 1 @cccc")
                .reg(Reg::Ok("cccc"))
                .changes("app@1.0.0: testing → released"),
        ],
    );
    let v = &idx.images["app"].versions[0];
    assert_eq!(
        v.pull.as_deref(),
        Some(&*format!("reg.example.com/team/app@{}", digest("cccc")))
    );
    assert_eq!(idx.images["app"].channels["latest"].version, "1.0.0");
}

#[test]
fn a_refusal_survives_a_failed_check() {
    run_steps(
        "refuse-fail",
        vec![
            step("1", "new", "testing", "1.0.0 testing 1 @aaaa").reg(Reg::Ok("aaaa")),
            step("1", "new", "released", "1.0.0 testing 1 @bbbb refused")
                .reg(Reg::Ok("bbbb"))
                .err(Code::ReleaseTagMoved),
            // The tag is gone: check-failed, the refusal stays on record.
            step("1", "new", "released", "1.0.0 check-failed 1 refused").reg(Reg::Fail),
            // Pushed again: recorded as testing, and still not released.
            step("1", "new", "released", "1.0.0 testing 1 @cccc refused")
                .reg(Reg::Ok("cccc"))
                .err(Code::ReleaseTagMoved)
                .changes("app@1.0.0: check-failed → testing"),
        ],
    );
}

#[test]
fn refused_release_names_both_digests() {
    let first = run_steps(
        "msg",
        vec![step("1", "new", "testing", "1.0.0 testing 1 @aaaa").reg(Reg::Ok("aaaa"))],
    );
    let s = step("1", "new", "released", "");
    let r = plan_run(&catalogue(&s), &first, Reg::Ok("bbbb"), &ctx("t", None));
    let d: Vec<_> = r.diags.iter().collect();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::ReleaseTagMoved);
    assert!(d[0].is_error() && !d[0].blocks_write());
    assert_eq!(
        (d[0].file.as_str(), d[0].line, d[0].column),
        ("images/app.yaml", 12, 10)
    );
    assert_eq!(
        d[0].message,
        format!(
            "release of 1.0.0 refused: tag reg.example.com/team/app:1 moved from {} (tested) to {}; 1.0.0 stays testing with {}",
            digest("aaaa"),
            digest("bbbb"),
            digest("bbbb")
        )
    );
    assert_eq!(
        d[0].hint.as_deref(),
        Some(
            "release again after testing it: set stage: testing, test the new digest, then release"
        )
    );
    // The next run (nothing tested in between) says why it is still refused.
    let again = plan_run(&catalogue(&s), &r.index, Reg::Ok("bbbb"), &ctx("u", None));
    let d: Vec<_> = again.diags.iter().collect();
    assert_eq!(
        d[0].message,
        format!(
            "release of 1.0.0 refused: tag reg.example.com/team/app:1 moved from {} (tested) to {} when it was to be released, and 1.0.0 has not been back to testing since",
            digest("aaaa"),
            digest("bbbb")
        )
    );
    let refused = again.index.images["app"].versions[0]
        .release_refused
        .clone()
        .unwrap();
    assert_eq!(
        (refused.tested_digest, refused.tag_digest),
        (digest("aaaa"), digest("bbbb"))
    );
}

#[test]
fn cancel_and_re_release() {
    run_steps(
        "cancel",
        vec![
            step("1", "new", "released", "1.0.0 released 1"),
            step("2", "feature", "testing", "1.0.0 released 1; 1.1.0 testing 2 @2222")
                .reg(Reg::Ok("2222")),
            step("2", "feature", "cancelled", "1.0.0 released 1; 1.1.0 cancelled 2 @2222")
                .reg(Reg::Ok("2222")),
            // Same tag again without re-release: refused, state kept.
            step("2", "feature", "testing", "1.0.0 released 1; 1.1.0 cancelled 2 @2222")
                .err(Code::InvalidTransition),
            // Re-released under a new tag: the cancelled attempt stays in the history.
            step(
                "3",
                "re-release",
                "testing",
                "1.0.0 released 1; 1.1.0 testing 3 @3333 (was feature 2 @2222)",
            )
            .reg(Reg::Ok("3333"))
            .changes("app@1.1.0: re-release 1.1.0: reg.example.com/team/app:2 → reg.example.com/team/app:3 (testing)"),
            // Cancelled again, then re-released under the first tag: both attempts kept.
            step(
                "3",
                "re-release",
                "cancelled",
                "1.0.0 released 1; 1.1.0 cancelled 3 @3333 (was feature 2 @2222)",
            ),
            step(
                "2",
                "re-release",
                "testing",
                "1.0.0 released 1; 1.1.0 testing 2 @2224 (was feature 2 @2222) (was re-release 3 @3333)",
            )
            .reg(Reg::Ok("2224")),
            step(
                "2",
                "re-release",
                "released",
                "1.0.0 released 1; 1.1.0 released 2 @2224 (was feature 2 @2222) (was re-release 3 @3333)",
            )
            .reg(Reg::Ok("2224")),
            // re-release needs a cancelled newest version.
            step(
                "4",
                "re-release",
                "testing",
                "1.0.0 released 1; 1.1.0 released 2 @2224 (was feature 2 @2222) (was re-release 3 @3333)",
            )
            .err(Code::InvalidTransition),
            step(
                "4",
                "fix",
                "testing",
                "1.0.0 released 1; 1.1.0 released 2 @2224 (was feature 2 @2222) (was re-release 3 @3333); 1.1.1 testing 4",
            ),
        ],
    );
}

#[test]
fn re_release_of_the_same_tag_keeps_the_cancelled_attempt() {
    let idx = run_steps(
        "same-tag",
        vec![
            step("1", "new", "testing", "1.0.0 testing 1 @aaaa").reg(Reg::Ok("aaaa")),
            step("1", "new", "cancelled", "1.0.0 cancelled 1 @aaaa"),
            // The same tag, pushed anew and re-released.
            step(
                "1",
                "re-release",
                "testing",
                "1.0.0 testing 1 @bbbb (was new 1 @aaaa)",
            )
            .reg(Reg::Ok("bbbb"))
            .changes("app@1.0.0: cancelled → testing"),
        ],
    );
    let v = &idx.images["app"].versions[0];
    assert_eq!(v.attempts[0].recorded_at, "2026-11-01T00:00:00Z");
    assert_eq!(v.attempts[0].updated_at, "2026-11-02T00:00:00Z");
    assert_eq!(v.attempts[0].catalogue_commit.as_deref(), Some("c1"));
    assert_eq!(v.recorded_at, "2026-11-01T00:00:00Z");
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
    assert_eq!(
        r2.requests[0].known_digest, None,
        "a new tag is verified fully"
    );
    // Once 1.0.1 is testing with a verified digest, every run re-resolves its tag naming
    // that digest (one HEAD); the released 1.0.0 still costs nothing.
    let r3 = plan_run(&cat2, &idx, Reg::Ok("bbbb"), &ctx("t", None));
    let r4 = reconcile(&cat2, &r3.index, &BTreeMap::new(), &ctx("t", None));
    assert_eq!(r4.requests.len(), 1, "{:?}", r4.requests);
    assert_eq!(r4.requests[0].version, "1.0.1");
    assert_eq!(r4.requests[0].known_digest, Some(digest("bbbb")));
    // Releasing it verifies fully: the pin is forever.
    let s5 = step("2", "fix", "released", "");
    let r5 = reconcile(
        &catalogue(&s5),
        &r3.index,
        &BTreeMap::new(),
        &ctx("t", None),
    );
    assert_eq!(r5.requests.len(), 1);
    assert_eq!(r5.requests[0].known_digest, None);
}

/// The warnings of a run, as `Code: message`.
fn warnings(r: &berth::lifecycle::Reconciled) -> Vec<String> {
    r.diags
        .iter()
        .filter(|d| !d.is_error())
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect()
}

/// Holds the README rule "QA marks are declarative: removing a QA mark removes it from the
/// index" (a mutant that skips the removal loop of `marks` leaves `qa=failed` behind).
#[test]
fn removing_a_qa_mark_clears_it_from_the_index() {
    let failed = "versions:\n  \"1.0.0\": { qa: failed, reason: \"run 4411\" }\n";
    let idx = run_steps(
        "qa-removed",
        vec![
            step("1", "new", "released", "1.0.0 released 1 @aaaa").reg(Reg::Ok("aaaa")),
            step("1", "new", "released", "1.0.0 released 1 qa=failed @aaaa")
                .extra(failed)
                .changes("app@1.0.0: qa none → failed"),
            // The mark is deleted from the listing: the index forgets it too.
            step("1", "new", "released", "1.0.0 released 1 @aaaa")
                .changes("app@1.0.0: qa mark removed"),
        ],
    );
    let img = &idx.images["app"];
    assert_eq!(img.versions[0].qa, None);
    assert_eq!(img.versions[0].updated_at, "2026-11-03T00:00:00Z");
    assert_eq!(img.versions[0].catalogue_commit.as_deref(), Some("c2"));
    // Channels follow: 1.0.0 is `latest` again.
    assert_eq!(img.channels["latest"].version, "1.0.0");
}

/// Holds the README rule "Release notes may be corrected after release; they are
/// documentation, not the image": the notes change, the pin does not.
#[test]
fn release_notes_are_corrected_after_release() {
    let idx = run_steps(
        "notes",
        vec![
            step("1", "new", "released", "1.0.0 released 1 @aaaa")
                .reg(Reg::Ok("aaaa"))
                .extra("  notes: Adds node 20\n"),
            step("1", "new", "released", "1.0.0 released 1 @aaaa")
                .extra("  notes: Adds node 22\n")
                .changes("app@1.0.0: release notes updated"),
        ],
    );
    let v = &idx.images["app"].versions[0];
    assert_eq!(v.notes.as_deref(), Some("Adds node 22"));
    assert_eq!(v.digest, Some(digest("aaaa")));
    assert_eq!(v.status.to_string(), "released");
}

/// Holds the README rule "Stage `cancelled` with a tag that was never recorded creates
/// nothing (warning)", for a first listing and for a new tag after a released version.
#[test]
fn cancelling_a_never_recorded_tag_creates_nothing() {
    let s = step("1", "new", "cancelled", "");
    let r = plan_run(
        &catalogue(&s),
        &berth::index::empty(),
        Reg::Ok("aaaa"),
        &ctx("t", None),
    );
    assert_eq!(summary(&r.index), "");
    assert!(r.index.images["app"].versions.is_empty());
    let changes: Vec<String> = r.changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(changes, vec!["app: new image App"]);
    assert!(r.requests.is_empty(), "{:?}", r.requests);
    assert_eq!(
        warnings(&r),
        vec![
            "E0118: stage is cancelled but reg.example.com/team/app:1 was never recorded; nothing to cancel"
        ]
    );
    assert!(!r.diags.iter().any(|d| d.is_error()), "{:?}", r.diags);

    let idx = run_steps(
        "cancel-unrecorded",
        vec![step("1", "new", "released", "1.0.0 released 1 @aaaa").reg(Reg::Ok("aaaa"))],
    );
    let s = step("2", "fix", "cancelled", "");
    let r = plan_run(&catalogue(&s), &idx, Reg::Ok("bbbb"), &ctx("t", None));
    assert_eq!(summary(&r.index), "1.0.0 released 1 @aaaa");
    assert!(r.changes.is_empty(), "{:?}", r.changes);
    assert!(r.requests.is_empty(), "{:?}", r.requests);
    assert_eq!(
        warnings(&r),
        vec![
            "E0118: stage is cancelled but reg.example.com/team/app:2 was never recorded; nothing to cancel"
        ]
    );
    assert_eq!(
        berth::index::to_canonical_json(&r.index),
        berth::index::to_canonical_json(&idx)
    );
}

/// Holds the README rule "Delisting is final (a removed `delisted: true` does not resurrect
/// a version)": neither removing the mark, nor listing the tag as released or testing again,
/// nor new notes change a delisted version.
#[test]
fn delisting_is_final() {
    let idx = run_steps(
        "delist-final",
        vec![
            step("1", "new", "released", "1.0.0 released 1 @aaaa")
                .reg(Reg::Ok("aaaa"))
                .extra("  notes: n1\n"),
            step("1", "new", "released", "1.0.0 delisted 1 @aaaa")
                .extra("  notes: n1\nversions:\n  \"1.0.0\": { delisted: true }\n")
                .changes("app@1.0.0: released → delisted"),
            // The mark is removed: still delisted, nothing asked of the registry.
            step("1", "new", "released", "1.0.0 delisted 1 @aaaa")
                .reg(Reg::Ok("aaaa"))
                .extra("  notes: n1\n")
                .changes(""),
            step("1", "new", "testing", "1.0.0 delisted 1 @aaaa")
                .reg(Reg::Ok("bbbb"))
                .extra("  notes: n2\n")
                .changes(""),
        ],
    );
    let img = &idx.images["app"];
    assert_eq!(img.versions[0].notes.as_deref(), Some("n1"));
    assert_eq!(img.versions[0].updated_at, "2026-11-02T00:00:00Z");
    assert!(!img.channels.contains_key("latest"), "{:?}", img.channels);
    assert!(img.channels["1.latest"].deprecated);
}

/// Holds README "index.json": "`sourceCommit` is the catalogue commit of the last *effective*
/// change": set by a run that changes a version, kept by runs that change nothing — also by
/// one that only recomputes derived data (channels of an adopted index).
#[test]
fn source_commit_names_the_last_effective_change() {
    let s1 = step("1", "new", "testing", "");
    let r1 = plan_run(
        &catalogue(&s1),
        &berth::index::empty(),
        Reg::Skip,
        &ctx("t1", Some("c1")),
    );
    assert_eq!(r1.index.source_commit.as_deref(), Some("c1"));
    // Nothing to do at a later commit: the index keeps naming c1.
    let r2 = plan_run(
        &catalogue(&s1),
        &r1.index,
        Reg::Skip,
        &ctx("t2", Some("c2")),
    );
    assert!(r2.changes.is_empty(), "{:?}", r2.changes);
    assert_eq!(r2.index.source_commit.as_deref(), Some("c1"));
    // Channels missing from the recorded index are recomputed, which is no change of state.
    let mut stale = r1.index.clone();
    std::sync::Arc::make_mut(stale.images.get_mut("app").unwrap())
        .testing_channels
        .clear();
    let r3 = plan_run(&catalogue(&s1), &stale, Reg::Skip, &ctx("t3", Some("c3")));
    assert!(r3.changes.is_empty(), "{:?}", r3.changes);
    assert_eq!(r3.index, r1.index);
    // A change: the index names its commit.
    let s4 = step("1", "new", "released", "");
    let r4 = plan_run(
        &catalogue(&s4),
        &r1.index,
        Reg::Skip,
        &ctx("t4", Some("c4")),
    );
    assert_eq!(summary(&r4.index), "1.0.0 released 1");
    assert_eq!(r4.index.source_commit.as_deref(), Some("c4"));
}

/// Holds README "index.json": "versions ascending by semver precedence", also for an index
/// adopted with its versions in another order (1.10.0 after 1.9.0, not before it as text).
#[test]
fn versions_are_written_in_semver_order() {
    let idx = run_steps(
        "order",
        vec![
            step("1", "new", "released", "1.0.0 released 1"),
            step(
                "2",
                "feature",
                "released",
                "1.0.0 released 1; 1.1.0 released 2",
            ),
            step(
                "3",
                "feature",
                "released",
                "1.0.0 released 1; 1.1.0 released 2; 1.2.0 released 3",
            ),
        ],
    );
    let mut adopted = idx.clone();
    let img = std::sync::Arc::make_mut(adopted.images.get_mut("app").unwrap());
    img.versions[0].version = "1.9.0".into();
    img.versions[1].version = "1.10.0".into();
    img.versions[2].version = "1.11.0".into();
    img.versions.reverse();
    img.channels.clear();
    img.testing_channels.clear();
    let s = step("3", "feature", "released", "");
    let r = plan_run(&catalogue(&s), &adopted, Reg::Skip, &ctx("t", None));
    assert!(r.changes.is_empty(), "{:?}", r.changes);
    assert!(r.diags.is_empty(), "{:?}", r.diags);
    assert_eq!(
        summary(&r.index),
        "1.9.0 released 1; 1.10.0 released 2; 1.11.0 released 3"
    );
    assert_eq!(r.index.images["app"].channels["latest"].version, "1.11.0");
}

/// Holds the verifier contract of `VerifyOutcome::Unchanged` ("only ever the answer to a
/// request with `known_digest`"): an `Unchanged` answer to a request that named no digest
/// (a release verifies fully) is not a verification — the version is recorded as not
/// verified, never as passed.
#[test]
fn an_unchanged_answer_without_a_known_digest_is_not_a_verification() {
    let idx = run_steps(
        "unchanged",
        vec![step("1", "new", "testing", "1.0.0 testing 1 @aaaa").reg(Reg::Ok("aaaa"))],
    );
    let s = step("1", "new", "released", "");
    let cat = catalogue(&s);
    let first = reconcile(&cat, &idx, &BTreeMap::new(), &ctx("t", None));
    assert_eq!(first.requests.len(), 1);
    assert_eq!(first.requests[0].known_digest, None);
    let answers = BTreeMap::from([(
        first.requests[0].reference.clone(),
        VerifyOutcome::Unchanged(digest("aaaa")),
    )]);
    let r = reconcile(&cat, &idx, &answers, &ctx("t", None));
    let v = &r.index.images["app"].versions[0];
    assert_eq!(v.verification.state, berth::model::VerifyState::Skipped);
    assert_eq!(v.verification.level, None);
}

fn passed(d: &str, level: &str, size: u64) -> VerifyOutcome {
    VerifyOutcome::Passed(ImageFacts {
        digest: digest(d),
        platforms: vec!["linux/amd64".into()],
        size: Some(size),
        config_labels: BTreeMap::new(),
        level: level.into(),
        supply: None,
    })
}

/// Holds README "Verification": "`--check-drift` re-resolves the newest released version of
/// each image: a moved tag is recorded as `drift` (with the digest it points at now) while the
/// pin stays" — cleared when the tag is back, unchanged while it stays moved, untouched by a
/// failed check; older released and testing versions are not asked.
#[test]
fn drift_of_the_newest_released_version() {
    let idx = run_steps(
        "drift",
        vec![
            step("1", "new", "released", "1.0.0 released 1 @aaaa").reg(Reg::Ok("aaaa")),
            step(
                "2",
                "feature",
                "released",
                "1.0.0 released 1 @aaaa; 1.1.0 released 2 @bbbb",
            )
            .reg(Reg::Ok("bbbb")),
            step(
                "3",
                "feature",
                "testing",
                "1.0.0 released 1 @aaaa; 1.1.0 released 2 @bbbb; 1.2.0 testing 3 @cccc",
            )
            .reg(Reg::Ok("cccc")),
        ],
    );
    let s = step("3", "feature", "testing", "");
    let cat = catalogue(&s);
    let drift_ctx = |commit: &str| Context {
        check_drift: true,
        ..ctx("2026-12-01T00:00:00Z", Some(commit))
    };
    let tag = |t: &str| format!("reg.example.com/team/app:{t}");
    // One run; the registry says where tags 2 and 3 point now.
    let run = |prev: &Index, now2: VerifyOutcome| {
        let first = reconcile(&cat, prev, &BTreeMap::new(), &drift_ctx("d"));
        let asked: Vec<(String, Option<String>)> = first
            .requests
            .iter()
            .map(|r| (r.reference.clone(), r.known_digest.clone()))
            .collect();
        assert_eq!(
            asked,
            vec![(tag("2"), None), (tag("3"), Some(digest("cccc")))],
            "only the newest released version (fully) and the testing tag"
        );
        let answers = BTreeMap::from([
            (tag("2"), now2),
            (tag("3"), VerifyOutcome::Unchanged(digest("cccc"))),
        ]);
        reconcile(&cat, prev, &answers, &drift_ctx("d"))
    };
    let lines = |r: &berth::lifecycle::Reconciled| -> Vec<String> {
        r.changes.iter().map(|c| c.to_string()).collect()
    };

    // Tag 2 moved: drift recorded, pin unchanged.
    let moved = run(&idx, passed("dddd", "blobs", 10));
    assert_eq!(
        lines(&moved),
        vec![format!(
            "app@1.1.0: drift: tag {} now points at {}, pinned {} (pin unchanged)",
            tag("2"),
            digest("dddd"),
            digest("bbbb")
        )]
    );
    let v = &moved.index.images["app"].versions[1];
    assert_eq!(v.digest, Some(digest("bbbb")));
    assert_eq!(
        v.drift.as_ref().map(|d| d.digest.clone()),
        Some(digest("dddd"))
    );
    assert_eq!(
        moved.index.images["app"].channels["latest"].version,
        "1.1.0"
    );
    assert_eq!(
        moved.index.images["app"].channels["latest"].pull,
        format!("reg.example.com/team/app@{}", digest("bbbb"))
    );
    // Still moved: nothing new. A failed check: nothing either.
    let again = run(&moved.index, passed("dddd", "blobs", 10));
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert_eq!(again.index, moved.index);
    let failed = run(
        &moved.index,
        VerifyOutcome::Failed("manifest unknown (404)".into()),
    );
    assert!(failed.changes.is_empty(), "{:?}", failed.changes);
    assert_eq!(failed.index, moved.index);
    // Back at the pin: drift cleared, and the entry is what it was before the drift.
    let back = run(&moved.index, passed("bbbb", "blobs", 10));
    assert_eq!(
        lines(&back),
        vec![format!(
            "app@1.1.0: drift resolved: tag {} is back at {}",
            tag("2"),
            digest("bbbb")
        )]
    );
    assert_eq!(
        back.index.images["app"].versions[1],
        idx.images["app"].versions[1]
    );
}

/// Holds README "Testing tags are re-resolved on every run": a registry that sends no
/// `Docker-Content-Digest` answers a known testing tag with a full verification; when that
/// finds the recorded digest, nothing is recorded (no new level, size or time).
#[test]
fn a_full_answer_with_the_recorded_digest_records_nothing() {
    let idx = run_steps(
        "no-header",
        vec![step("1", "new", "testing", "1.0.0 testing 1 @aaaa").reg(Reg::Ok("aaaa"))],
    );
    let s = step("1", "new", "testing", "");
    let cat = catalogue(&s);
    let first = reconcile(&cat, &idx, &BTreeMap::new(), &ctx("later", Some("c9")));
    assert_eq!(first.requests[0].known_digest, Some(digest("aaaa")));
    let answers = BTreeMap::from([(
        first.requests[0].reference.clone(),
        passed("aaaa", "manifest", 11),
    )]);
    let r = reconcile(&cat, &idx, &answers, &ctx("later", Some("c9")));
    assert!(r.changes.is_empty(), "{:?}", r.changes);
    assert_eq!(
        berth::index::to_canonical_json(&r.index),
        berth::index::to_canonical_json(&idx)
    );
}

/// Holds README "Mutable versions": a new tag of a testing version keeps its number and its
/// first record time ("retagged"); a new release type re-plans the number from the last
/// finished version ("replaced by"), recorded anew.
#[test]
fn retag_keeps_the_number_and_a_new_type_replaces_it() {
    let idx = run_steps(
        "mutable",
        vec![
            step("1", "new", "released", "1.0.0 released 1"),
            step("2", "fix", "testing", "1.0.0 released 1; 1.0.1 testing 2"),
            step("3", "fix", "testing", "1.0.0 released 1; 1.0.1 testing 3").changes(
                "app@1.0.1: 1.0.1 retagged: reg.example.com/team/app:2 → reg.example.com/team/app:3 (testing)",
            ),
        ],
    );
    assert_eq!(
        idx.images["app"].versions[1].recorded_at,
        "2026-11-02T00:00:00Z"
    );
    assert_eq!(
        idx.images["app"].versions[1].updated_at,
        "2026-11-03T00:00:00Z"
    );
    let s = step("4", "feature", "testing", "");
    let r = plan_run(
        &catalogue(&s),
        &idx,
        Reg::Skip,
        &ctx("2026-12-01T00:00:00Z", None),
    );
    assert_eq!(summary(&r.index), "1.0.0 released 1; 1.1.0 testing 4");
    let lines: Vec<String> = r.changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        lines,
        vec![
            "app@1.1.0: 1.0.1 (fix, testing) replaced by 1.1.0 (feature, reg.example.com/team/app:4, testing)"
        ]
    );
    assert_eq!(
        r.index.images["app"].versions[1].recorded_at,
        "2026-12-01T00:00:00Z"
    );
}

/// A refused release whose tag still points at the recorded digest records nothing new, also
/// when this run verified at another level (`--verify full`): the refusal stands, the entry
/// stays as it was.
#[test]
fn a_standing_refusal_records_nothing_new() {
    let idx = run_steps(
        "refusal-stands",
        vec![
            step("1", "new", "testing", "1.0.0 testing 1 @aaaa").reg(Reg::Ok("aaaa")),
            step("1", "new", "released", "1.0.0 testing 1 @bbbb refused")
                .reg(Reg::Ok("bbbb"))
                .err(Code::ReleaseTagMoved),
        ],
    );
    let s = step("1", "new", "released", "");
    let cat = catalogue(&s);
    let first = reconcile(&cat, &idx, &BTreeMap::new(), &ctx("later", Some("c9")));
    let answers = BTreeMap::from([(
        first.requests[0].reference.clone(),
        passed("bbbb", "full", 10),
    )]);
    let r = reconcile(&cat, &idx, &answers, &ctx("later", Some("c9")));
    assert_eq!(
        r.diags.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec![Code::ReleaseTagMoved]
    );
    assert!(r.changes.is_empty(), "{:?}", r.changes);
    assert_eq!(
        berth::index::to_canonical_json(&r.index),
        berth::index::to_canonical_json(&idx)
    );
}

/// QA change lines name both verdicts: none → passed → failed → none.
#[test]
fn qa_change_lines_name_the_verdicts() {
    run_steps(
        "qa-lines",
        vec![
            step("1", "new", "released", "1.0.0 released 1"),
            step("1", "new", "released", "1.0.0 released 1 qa=passed")
                .extra("versions:\n  \"1.0.0\": { qa: passed }\n")
                .changes("app@1.0.0: qa none → passed"),
            step("1", "new", "released", "1.0.0 released 1 qa=failed")
                .extra("versions:\n  \"1.0.0\": { qa: failed, reason: \"run 7\" }\n")
                .changes("app@1.0.0: qa passed → failed"),
            step("1", "new", "released", "1.0.0 released 1 qa=passed")
                .extra("versions:\n  \"1.0.0\": { qa: passed }\n")
                .changes("app@1.0.0: qa failed → passed"),
        ],
    );
}

/// The E0118 refusals say what was asked: "it cannot become testing / cancelled".
#[test]
fn refused_transitions_name_the_stage() {
    let idx = run_steps(
        "immutable-msg",
        vec![step("1", "new", "released", "1.0.0 released 1")],
    );
    for stage in ["testing", "cancelled"] {
        let s = step("1", "new", stage, "");
        let r = plan_run(&catalogue(&s), &idx, Reg::Skip, &ctx("t", None));
        let d: Vec<String> = r
            .diags
            .iter()
            .map(|d| format!("{} {}:{}: {}", d.code, d.line, d.column, d.message))
            .collect();
        assert_eq!(
            d,
            vec![format!(
                "E0118 12:10: version 1.0.0 is released and immutable; it cannot become {stage}"
            )]
        );
    }
}

/// A `release.version` kept in the listing while the same tag moves through its stages is
/// fine when it names the recorded version (as semver: `1.0.0` is `1.0.0`), and E0114 when
/// it names another.
#[test]
fn a_declared_version_on_the_recorded_tag_must_name_it() {
    run_steps(
        "declared-same",
        vec![
            step("1", "new", "testing", "1.0.0 testing 1").extra("  version: 1.0.0\n"),
            step("1", "new", "released", "1.0.0 released 1").extra("  version: \"1.0.0\"\n"),
            step("1", "new", "released", "1.0.0 released 1")
                .extra("  version: 1.0.1\n")
                .err(Code::VersionMismatch),
            // Not semver at all: compared as text, and not the recorded version either.
            step("1", "new", "released", "1.0.0 released 1")
                .extra("  version: v1.0.0\n")
                .err(Code::VersionMismatch),
        ],
    );
}

/// Holds `lifecycle::share` ("shared, not copied: the next index then costs memory only for
/// what changed"): an image the run leaves as it was is the recorded entry itself, shared
/// with the previous index, not an equal copy; a changed image is a new entry. (Killed mutant: the guard
/// `**b == entry` made false, which copied every image on every run.)
#[test]
fn an_unchanged_image_is_shared_with_the_previous_index() {
    let s1 = step("1", "new", "testing", "");
    let r1 = plan_run(
        &catalogue(&s1),
        &berth::index::empty(),
        Reg::Skip,
        &ctx("t1", Some("c1")),
    );
    let r2 = plan_run(
        &catalogue(&s1),
        &r1.index,
        Reg::Skip,
        &ctx("t2", Some("c2")),
    );
    assert!(r2.changes.is_empty(), "{:?}", r2.changes);
    assert!(std::sync::Arc::ptr_eq(
        &r1.index.images["app"],
        &r2.index.images["app"]
    ));
    let s3 = step("1", "new", "released", "");
    let r3 = plan_run(
        &catalogue(&s3),
        &r1.index,
        Reg::Skip,
        &ctx("t3", Some("c3")),
    );
    assert!(!std::sync::Arc::ptr_eq(
        &r1.index.images["app"],
        &r3.index.images["app"]
    ));
}
