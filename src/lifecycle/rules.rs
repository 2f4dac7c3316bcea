//! The small rules the engine's steps share: the status for a stage and a verification
//! outcome, the verification entry and facts recorded from a registry answer, the record of a
//! cancelled attempt, and how digests and stages are shown in change messages.

use semver::Version;

use crate::lifecycle::VerifyOutcome;
use crate::model::reference::ImageRef;
use crate::model::{AttemptEntry, Stage, Status, VerificationEntry, VerifyState, VersionEntry};

pub(super) fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Testing => "testing",
        Stage::Released => "released",
        Stage::Cancelled => "cancelled",
    }
}

/// Does a declared `release.version` name this recorded version?
pub(super) fn declared_matches(declared: &str, recorded: &str) -> bool {
    match (Version::parse(declared.trim()), Version::parse(recorded)) {
        (Ok(a), Ok(b)) => a == b,
        _ => declared.trim() == recorded,
    }
}

pub(super) fn status_for(stage: Stage, outcome: &VerifyOutcome) -> Status {
    match (outcome, stage) {
        (VerifyOutcome::Failed(_), _) => Status::CheckFailed,
        (_, Stage::Testing) => Status::Testing,
        (_, Stage::Released) => Status::Released,
        (_, Stage::Cancelled) => Status::Cancelled,
    }
}

pub(super) fn verification_entry(o: &VerifyOutcome) -> VerificationEntry {
    match o {
        VerifyOutcome::Skipped => VerificationEntry {
            state: VerifyState::Skipped,
            level: None,
            reason: None,
        },
        VerifyOutcome::Passed(f) => VerificationEntry {
            state: VerifyState::Passed,
            level: Some(f.level.clone()),
            reason: None,
        },
        VerifyOutcome::Failed(r) => VerificationEntry {
            state: VerifyState::Failed,
            level: None,
            reason: Some(r.clone()),
        },
        // The engine records nothing for a confirmed digest; were it asked, it passed.
        VerifyOutcome::Unchanged(_) => VerificationEntry {
            state: VerifyState::Passed,
            level: None,
            reason: None,
        },
    }
}

pub(super) fn apply_facts(v: &mut VersionEntry, r: &ImageRef, o: &VerifyOutcome) {
    match o {
        VerifyOutcome::Passed(f) => {
            v.digest = Some(f.digest.clone());
            v.pull = Some(r.pinned(&f.digest));
            v.platforms = f.platforms.clone();
            v.size = f.size;
            v.config_labels = f.config_labels.clone().into();
            v.supply_chain = f.supply.clone();
        }
        VerifyOutcome::Failed(_) => {
            v.supply_chain = None;
            v.digest = None;
            v.pull = None;
            v.platforms.clear();
            v.size = None;
            v.config_labels.clear();
        }
        // Skipped keeps what an earlier verification recorded for this same reference; so
        // does a confirmation that the tag is still at the recorded digest.
        VerifyOutcome::Skipped | VerifyOutcome::Unchanged(_) => {}
    }
}

/// The history entry of a cancelled attempt at a version number.
pub(super) fn attempt_of(v: &VersionEntry) -> AttemptEntry {
    AttemptEntry {
        catalogue_commit: v.catalogue_commit.clone(),
        digest: v.digest.clone(),
        recorded_at: v.recorded_at.clone(),
        reference: v.reference.clone(),
        release_type: v.release_type,
        updated_at: v.updated_at.clone(),
    }
}

/// `sha256:` and the first 12 hex digits, then `…`: how change lines show digests.
pub(super) fn short_digest(d: &str) -> String {
    match d.get(..19) {
        Some(head) if d.len() > 19 => format!("{head}…"),
        _ => d.to_string(),
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
