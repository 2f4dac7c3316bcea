//! Transitions of an existing version of one image: stage changes on the same reference,
//! moving on to a new reference, the refusal to release a moved tag (E0401), release notes and
//! QA/delisting marks; plus the small rules they share (status for a stage and an outcome,
//! verification entries, facts recorded from a registry answer).

use crate::lifecycle::*;
use crate::model::diag::Code;
use crate::model::reference::ImageRef;
use crate::model::{
    QaEntry, QaStatus, RefusedReleaseEntry, ReleaseType, Stage, Status, VerifyState, VersionEntry,
};

use crate::lifecycle::rules::*;
use crate::lifecycle::run::ImageRun;

impl ImageRun<'_> {
    /// The listing still points at the newest version's reference: apply stage transitions.
    pub(super) fn same_reference(
        &mut self,
        v: &mut VersionEntry,
        want: &ImageRef,
        stage: Stage,
        kind: ReleaseType,
    ) {
        let pos = self.l().release.stage.pos;
        let from = v.status;
        let target = match (from, stage) {
            (Status::Delisted, _) => return,
            (Status::Released, Stage::Released) => return,
            (Status::Cancelled, Stage::Cancelled) => return,
            (Status::Released, _) => {
                self.error(
                    Code::InvalidTransition,
                    pos,
                    format!("version {} is released and immutable; it cannot become {}", v.version, stage_name(stage)),
                    Some("delist it with `berth mark CODE@VERSION --delist`, or list a new tag to make a new version"),
                );
                return;
            }
            (Status::Cancelled, _) if kind != ReleaseType::ReRelease => {
                self.error(
                    Code::InvalidTransition,
                    pos,
                    format!("version {} was cancelled", v.version),
                    Some("set release.type: re-release to release this number again, or list a new tag"),
                );
                return;
            }
            (_, Stage::Cancelled) => Status::Cancelled,
            // Testing/check-failed (or a cancelled version being re-released) moving on.
            (_, s) => {
                self.moving_on(v, want, s, kind);
                return;
            }
        };
        if target != from {
            v.status = target;
            v.release_refused = None;
            v.updated_at = self.ctx.now.clone();
            v.catalogue_commit = self.ctx.commit.clone();
            self.change(
                Some(&v.version.clone()),
                ChangeKind::Status,
                format!("{from} → {target}"),
            );
        }
    }

    /// A mutable version (or a cancelled one being re-released) whose listing still names its
    /// reference, staying in or moving to stage `s` (testing or released).
    ///
    /// Its tag is re-resolved on every online run: a testing version with a verified digest
    /// asks for one HEAD (`known_digest`), anything else for a full verification. A tag that
    /// moved away from the tested digest is re-verified and recorded ("re-pushed"), so the
    /// debug project pulls what the index says. Releasing pins the tested digest; when the
    /// tag moved in the run that would release it, the release is refused (E0401), the
    /// version stays testing with the new digest, and stays refused until the listing goes
    /// back to `stage: testing`. Offline nothing is re-resolved: the recorded digest stays,
    /// and a failed check stays failed.
    pub(super) fn moving_on(
        &mut self,
        v: &mut VersionEntry,
        want: &ImageRef,
        s: Stage,
        kind: ReleaseType,
    ) {
        let from = v.status;
        let version = v.version.clone();
        let before = v.clone();
        // What the debug project has had: the verified digest of a testing version.
        let tested = (from == Status::Testing && v.verification.state == VerifyState::Passed)
            .then(|| v.digest.clone())
            .flatten();
        let known = if s == Stage::Testing {
            tested.clone()
        } else {
            // A release (or a recheck) verifies fully: the pin is forever.
            None
        };
        let outcome = self.verify(&version, want, known);
        if s == Stage::Testing && v.release_refused.take().is_some() {
            self.change(
                Some(&version),
                ChangeKind::Status,
                "release refusal cleared: back to testing".to_string(),
            );
        }
        let confirmed = match &outcome {
            VerifyOutcome::Unchanged(_) => true,
            VerifyOutcome::Passed(f) => tested.as_deref() == Some(f.digest.as_str()),
            _ => false,
        };
        let moved = match (&outcome, &tested) {
            (VerifyOutcome::Passed(f), Some(t)) if f.digest != *t => {
                Some((t.clone(), f.digest.clone()))
            }
            _ => None,
        };
        let skipped = outcome == VerifyOutcome::Skipped;
        let failed = matches!(outcome, VerifyOutcome::Failed(_));
        if skipped && from == Status::CheckFailed {
            // Not checking is not passing: a failed check stays failed until a real
            // verification succeeds.
        } else if s == Stage::Testing && (confirmed || (skipped && from == Status::Testing)) {
            // Still the recorded digest (or nothing known offline): nothing to record but
            // what is attached to it now (signatures, SBOM, scan report may come and go).
            if let VerifyOutcome::Passed(f) = &outcome
                && f.supply.is_some()
            {
                v.supply_chain = f.supply.clone();
            }
        } else if s == Stage::Released
            && !failed
            && let Some(tested) = v
                .release_refused
                .as_ref()
                .map(|r| r.tested_digest.clone())
                .or_else(|| moved.as_ref().map(|(a, _)| a.clone()))
        {
            // The tag moved in this run, or an earlier refusal was not acknowledged.
            self.refuse_release(v, want, &outcome, moved, tested);
        } else {
            v.verification = verification_entry(&outcome);
            apply_facts(v, want, &outcome);
            v.status = status_for(s, &outcome);
            if let Some((a, b)) = &moved {
                self.change(
                    Some(&version),
                    ChangeKind::RePushed,
                    format!("re-pushed: {} → {}", short_digest(a), short_digest(b)),
                );
            }
            if from == Status::Cancelled && v.status != Status::Cancelled {
                // Re-released: the cancelled attempt is kept in the history.
                v.attempts.push(attempt_of(&before));
                v.release_type = kind;
            }
        }
        if *v != before {
            v.updated_at = self.ctx.now.clone();
            v.catalogue_commit = self.ctx.commit.clone();
        }
        let st = v.status;
        if st != from {
            let why = match &outcome {
                VerifyOutcome::Failed(r) => format!(" ({r})"),
                _ => String::new(),
            };
            self.change(
                Some(&version),
                ChangeKind::Status,
                format!("{from} → {st}{why}"),
            );
        }
    }

    /// Refuse to release `v`, whose `tested` digest is not what its tag points at: the tag
    /// moved in this run (`moved`: tested → now), or an earlier refusal was not acknowledged
    /// by going back to testing. What the tag points at now is recorded (when verified); the
    /// version stays (or becomes) testing.
    pub(super) fn refuse_release(
        &mut self,
        v: &mut VersionEntry,
        want: &ImageRef,
        outcome: &VerifyOutcome,
        moved: Option<(String, String)>,
        tested: String,
    ) {
        let version = v.version.clone();
        let earlier = v.release_refused.clone();
        if let VerifyOutcome::Passed(f) = outcome
            && (v.digest.as_deref() != Some(f.digest.as_str()) || v.status != Status::Testing)
        {
            v.verification = verification_entry(outcome);
            apply_facts(v, want, outcome);
            v.status = Status::Testing;
        }
        if let Some((a, b)) = &moved {
            self.change(
                Some(&version),
                ChangeKind::RePushed,
                format!("re-pushed: {} → {}", short_digest(a), short_digest(b)),
            );
        }
        let tag_digest = v
            .digest
            .clone()
            .or(earlier.as_ref().map(|r| r.tag_digest.clone()))
            .unwrap_or_default();
        let message = match (&earlier, &moved) {
            (None, Some((a, b))) => format!(
                "release of {version} refused: tag {} moved from {a} (tested) to {b}; {version} stays testing with {b}",
                v.reference
            ),
            _ => format!(
                "release of {version} refused: tag {} moved from {tested} (tested) to {tag_digest} when it was to be released, and {version} has not been back to testing since",
                v.reference
            ),
        };
        v.release_refused = Some(RefusedReleaseEntry {
            tag_digest,
            tested_digest: tested,
        });
        self.error(
            Code::ReleaseTagMoved,
            self.l().release.stage.pos,
            message,
            Some("release again after testing it: set stage: testing, test the new digest, then release"),
        );
    }

    pub(super) fn notes(&mut self, v: &mut VersionEntry, notes: Option<&str>) {
        if v.notes.as_deref() != notes && v.status != Status::Delisted {
            v.notes = notes.map(str::to_string);
            self.change(
                Some(&v.version.clone()),
                ChangeKind::Notes,
                "release notes updated".to_string(),
            );
        }
    }

    /// Apply `versions:` marks: QA verdicts (declarative) and delisting (final).
    pub(super) fn marks(&mut self, versions: &mut [VersionEntry]) {
        let marks = self.l().versions.clone();
        for (key, mark) in &marks {
            let Some(v) = versions.iter_mut().find(|v| v.version == key.value) else {
                let known: Vec<&str> = versions.iter().map(|v| v.version.as_str()).collect();
                self.error(
                    Code::MarkUnknownVersion,
                    mark.pos,
                    format!("mark for version {key}, which is not recorded for this image"),
                    Some(&format!(
                        "recorded versions: {}",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )),
                );
                continue;
            };
            let qa = mark.qa.as_ref().map(|status| QaEntry {
                status: status.value,
                reason: mark.reason.as_ref().map(|r| r.value.clone()),
            });
            if v.qa != qa {
                let show = |q: &Option<QaEntry>| match q {
                    None => "none".to_string(),
                    Some(q) if q.status == QaStatus::Failed => "failed".to_string(),
                    Some(_) => "passed".to_string(),
                };
                self.changes.push(Change {
                    code: self.src.value.code.value.clone(),
                    version: Some(key.value.clone()),
                    kind: ChangeKind::Qa,
                    message: format!("qa {} → {}", show(&v.qa), show(&qa)),
                });
                v.qa = qa;
                v.updated_at = self.ctx.now.clone();
                v.catalogue_commit = self.ctx.commit.clone();
            }
            if mark.delisted && v.status != Status::Delisted {
                self.changes.push(Change {
                    code: self.src.value.code.value.clone(),
                    version: Some(key.value.clone()),
                    kind: ChangeKind::Status,
                    message: format!("{} → delisted", v.status),
                });
                v.status = Status::Delisted;
                v.updated_at = self.ctx.now.clone();
                v.catalogue_commit = self.ctx.commit.clone();
            }
        }
        for v in versions.iter_mut() {
            if v.qa.is_some() && !marks.contains_key(&v.version) {
                self.changes.push(Change {
                    code: self.src.value.code.value.clone(),
                    version: Some(v.version.clone()),
                    kind: ChangeKind::Qa,
                    message: "qa mark removed".to_string(),
                });
                v.qa = None;
                v.updated_at = self.ctx.now.clone();
                v.catalogue_commit = self.ctx.commit.clone();
            }
        }
    }
}
