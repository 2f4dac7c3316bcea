//! One image's run through the engine: metadata, the release step (new versions, mutable
//! testing versions, re-resolution of testing tags) and drift of released pins.
//!
//! Input: one listing, its recorded entry, the run's [`Context`] and verification outcomes.
//! Output: the image's next entry, with changes, diagnostics and verification requests
//! collected on the [`ImageRun`]. Transitions of an existing version (stage changes, release
//! refusal, notes, QA marks) are in `transitions.rs`; the rules both share in `rules.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use semver::Version;
use sha2::{Digest, Sha256};

use crate::lifecycle::version::VersionError;
use crate::lifecycle::*;
use crate::model::Source;
use crate::model::diag::{Code, Diagnostic, Diagnostics};
use crate::model::reference::ImageRef;
use crate::model::span::Pos;
use crate::model::{
    DockerfileEntry, DriftEntry, ImageEntry, Listing, ReleaseType, Stage, Status, VersionEntry,
};

use crate::lifecycle::rules::{
    apply_facts, attempt_of, declared_matches, hex, status_for, verification_entry,
};

pub(super) struct ImageRun<'a> {
    pub(super) src: &'a Source<Listing>,
    pub(super) root: &'a Path,
    pub(super) ctx: &'a Context,
    pub(super) outcomes: &'a BTreeMap<String, VerifyOutcome>,
    pub(super) changes: Vec<Change>,
    pub(super) diags: Diagnostics,
    pub(super) requests: Vec<VerifyRequest>,
}

impl<'a> ImageRun<'a> {
    pub(super) fn l(&self) -> &Listing {
        &self.src.value
    }

    pub(super) fn code(&self) -> String {
        self.l().code.value.clone()
    }

    pub(super) fn error(
        &mut self,
        code: Code,
        pos: Pos,
        msg: impl Into<String>,
        hint: Option<&str>,
    ) {
        let mut d = Diagnostic::error(code, &self.src.path, pos, msg);
        if let Some(h) = hint {
            d = d.with_hint(h);
        }
        self.diags.push(d);
    }

    pub(super) fn change(&mut self, version: Option<&str>, kind: ChangeKind, message: String) {
        self.changes.push(Change {
            code: self.code(),
            version: version.map(str::to_string),
            kind,
            message,
        });
    }

    /// Ask for verification of `r` and return the outcome known so far. With `known` (the
    /// digest recorded for `r`), an unchanged tag may be answered by
    /// [`VerifyOutcome::Unchanged`]; without it, never.
    pub(super) fn verify(
        &mut self,
        version: &str,
        r: &ImageRef,
        known: Option<String>,
    ) -> VerifyOutcome {
        let reference = r.to_string();
        self.requests.push(VerifyRequest {
            code: self.code(),
            version: version.to_string(),
            reference: reference.clone(),
            credential: self.l().image.credential.as_ref().map(|c| c.value.clone()),
            known_digest: known.clone(),
            supply: self.l().verify.as_ref().map(|v| {
                v.value
                    .signature
                    .iter()
                    .map(|s| s.value.key.value.trim().to_string())
                    .collect()
            }),
        });
        match self.outcomes.get(&reference) {
            Some(VerifyOutcome::Unchanged(d)) if known.as_ref() != Some(d) => {
                VerifyOutcome::Skipped
            }
            Some(o) => o.clone(),
            None => VerifyOutcome::Skipped,
        }
    }

    pub(super) fn run(&mut self, prev: Option<&ImageEntry>) -> ImageEntry {
        let mut e = self.metadata(prev);
        let mut versions: Vec<VersionEntry> = prev.map(|p| p.versions.clone()).unwrap_or_default();
        sort_versions(&mut versions);
        if prev.is_none() {
            self.change(
                None,
                ChangeKind::NewImage,
                format!("new image {}", self.l().name.value),
            );
        }
        self.release(&mut versions);
        if self.ctx.check_drift {
            self.drift(&mut versions);
        }
        self.marks(&mut versions);
        e.versions = versions;
        finish_channels(&mut e);
        e
    }

    pub(super) fn metadata(&mut self, prev: Option<&ImageEntry>) -> ImageEntry {
        let l = self.l();
        let dockerfile = l.dockerfile.as_ref().map(|d| DockerfileEntry {
            path: d.value.clone(),
            sha256: std::fs::read(self.root.join(&d.value))
                .ok()
                .map(|bytes| hex(&Sha256::digest(&bytes))),
        });
        let e = ImageEntry {
            code: l.code.value.clone(),
            name: l.name.value.clone(),
            summary: l.summary.value.clone(),
            description: l.description.clone(),
            publisher: l.publisher.value.clone(),
            category: l.category.as_ref().map(|c| c.value.clone()),
            agent_scope: l.agent_scope.iter().map(|s| s.value.clone()).collect(),
            labels: l.labels.iter().map(|s| s.value.clone()).collect(),
            debug_project: l.debug_project.as_ref().map(|c| c.value.clone()),
            dockerfile,
            versions: Vec::new(),
            channels: Default::default(),
            testing_channels: Default::default(),
        };
        if let Some(p) = prev {
            let mut fields = Vec::new();
            macro_rules! cmp {
                ($($f:ident),*) => {$( if p.$f != e.$f { fields.push(stringify!($f)); } )*};
            }
            cmp!(
                name,
                summary,
                description,
                publisher,
                category,
                agent_scope,
                labels,
                debug_project,
                dockerfile
            );
            if !fields.is_empty() {
                self.change(
                    None,
                    ChangeKind::Metadata,
                    format!("metadata changed: {}", fields.join(", ")),
                );
            }
        }
        e
    }

    /// Bring the versions in line with `image` + `release` of the listing.
    pub(super) fn release(&mut self, versions: &mut Vec<VersionEntry>) {
        // The listing outlives the run: borrow it, not `self` (which is changed below).
        let l: &'a Listing = &self.src.value;
        let want = ImageRef::of_spec(&l.image);
        let want_s = want.to_string();
        let kind = l.release.kind.value;
        let stage = l.release.stage.value;
        let declared = l.release.version.as_ref().map(|v| v.value.as_str());
        let declared_pos = l
            .release
            .version
            .as_ref()
            .map(|v| v.pos)
            .unwrap_or(l.release.kind.pos);

        let newest_idx = versions.len().checked_sub(1);
        let same_ref = newest_idx.is_some_and(|i| versions[i].reference == want_s);

        if same_ref {
            let i = newest_idx.unwrap();
            if let Some(d) = declared
                && !declared_matches(d, &versions[i].version)
            {
                self.error(
                    Code::VersionMismatch,
                    declared_pos,
                    format!(
                        "release.version `{d}` does not match version {} already recorded for {want_s}",
                        versions[i].version
                    ),
                    Some("remove release.version or set it to the recorded version; a new version needs a new tag"),
                );
                return;
            }
            self.same_reference(&mut versions[i], &want, stage, kind);
            self.notes(&mut versions[i], l.release.notes.as_deref());
            return;
        }

        // The listing points at a reference the newest version does not have.
        let newest_mutable = newest_idx.is_some_and(|i| versions[i].status.is_mutable());
        let base_idx = if newest_mutable {
            // The mutable newest is re-planned from the finished version below it.
            versions[..versions.len() - 1]
                .iter()
                .rposition(|v| !v.status.is_mutable())
        } else {
            newest_idx
        };
        let base = base_idx.map(|i| &versions[i]);
        if kind == ReleaseType::ReRelease && base.is_some_and(|b| b.status != Status::Cancelled) {
            let b = base.unwrap();
            self.error(
                Code::InvalidTransition,
                l.release.kind.pos,
                format!(
                    "re-release reuses a cancelled version's number, but {} is {}",
                    b.version, b.status
                ),
                Some("use fix, feature or incompatible to allocate a new number"),
            );
            return;
        }
        if stage == Stage::Cancelled && !newest_mutable {
            self.diags.push(
                Diagnostic::warning(
                    Code::InvalidTransition,
                    &self.src.path,
                    l.release.stage.pos,
                    format!(
                        "stage is cancelled but {want_s} was never recorded; nothing to cancel"
                    ),
                )
                .with_hint("set stage: testing to record the new tag"),
            );
            return;
        }
        let base_v = base.and_then(|b| Version::parse(&b.version).ok());
        let computed =
            version::next(base_v.as_ref(), kind).and_then(|c| version::with_declared(c, declared));
        let number = match computed {
            Ok(n) => n.to_string(),
            Err(err) => {
                let (code, pos, hint) = match err {
                    VersionError::Mismatch { .. } | VersionError::InvalidDeclared(..) => (
                        Code::VersionMismatch,
                        declared_pos,
                        "release.version must equal the version computed from release.type (a -suffix may be added)",
                    ),
                    _ => (
                        Code::InvalidTransition,
                        l.release.kind.pos,
                        "use fix, feature or incompatible for images that already have versions",
                    ),
                };
                self.error(code, pos, err.to_string(), Some(hint));
                return;
            }
        };

        // Replacing: the mutable newest (same or other number) or a cancelled one being re-released.
        let replace_idx = if newest_mutable {
            newest_idx
        } else if kind == ReleaseType::ReRelease {
            base_idx
        } else {
            None
        };
        if let Some(existing) = versions
            .iter()
            .enumerate()
            .find(|(i, v)| v.version == number && Some(*i) != replace_idx)
        {
            let (status, reference) = (existing.1.status, existing.1.reference.clone());
            self.error(
                Code::VersionMismatch,
                declared_pos,
                format!("version {number} is already recorded ({status}, {reference}); numbers are never reused"),
                Some("pick the release type that moves past the newest version"),
            );
            return;
        }

        let outcome = self.verify(&number, &want, None);
        let mut entry = VersionEntry {
            attempts: Vec::new(),
            release_refused: None,
            version: number.clone(),
            release_type: kind,
            status: status_for(stage, &outcome),
            supply_chain: None,
            qa: None,
            reference: want_s.clone(),
            digest: None,
            pull: None,
            platforms: Vec::new(),
            size: None,
            config_labels: Default::default(),
            notes: l.release.notes.clone(),
            recorded_at: self.ctx.now.clone(),
            updated_at: self.ctx.now.clone(),
            catalogue_commit: self.ctx.commit.clone(),
            verification: verification_entry(&outcome),
            drift: None,
        };
        apply_facts(&mut entry, &want, &outcome);
        match replace_idx.map(|i| versions.remove(i)) {
            Some(old) if old.version == number => {
                entry.recorded_at = old.recorded_at.clone();
                entry.qa = old.qa.clone();
                // The number's history stays: a cancelled attempt is kept, not overwritten.
                entry.attempts = old.attempts.clone();
                if old.status == Status::Cancelled {
                    entry.attempts.push(attempt_of(&old));
                }
                let what = if old.status == Status::Cancelled {
                    format!(
                        "re-release {number}: {} → {want_s} ({})",
                        old.reference, entry.status
                    )
                } else {
                    format!(
                        "{number} retagged: {} → {want_s} ({})",
                        old.reference, entry.status
                    )
                };
                self.change(Some(&number), ChangeKind::Retag, what);
            }
            Some(old) => {
                self.change(
                    Some(&number),
                    ChangeKind::Renumber,
                    format!(
                        "{} ({}, {}) replaced by {number} ({kind}, {want_s}, {})",
                        old.version, old.release_type, old.status, entry.status
                    ),
                );
            }
            None => {
                self.change(
                    Some(&number),
                    ChangeKind::NewVersion,
                    format!("new version {number} ({kind}) {want_s} → {}", entry.status),
                );
            }
        }
        if let VerifyOutcome::Failed(reason) = &outcome {
            self.change(
                Some(&number),
                ChangeKind::Status,
                format!("check failed: {reason}"),
            );
        }
        versions.push(entry);
        sort_versions(versions);
    }

    /// Drift check of the newest released version: its pin never changes; `drift` records
    /// the digest its tag points at now (cleared when the tag is back at the pin). A failed
    /// check changes nothing here (the plan reports the failed verification).
    pub(super) fn drift(&mut self, versions: &mut [VersionEntry]) {
        let Some(v) = versions
            .iter_mut()
            .rev()
            .find(|v| v.status == Status::Released && v.digest.is_some())
        else {
            return;
        };
        let Some(r) = ImageRef::parse_canonical(&v.reference) else {
            return;
        };
        let VerifyOutcome::Passed(f) = self.verify(&v.version.clone(), &r, None) else {
            return;
        };
        let pinned = v.digest.clone().unwrap_or_default();
        let now = (f.digest != pinned).then(|| DriftEntry {
            digest: f.digest.clone(),
        });
        if v.drift == now {
            return;
        }
        let message = match &now {
            Some(d) => format!(
                "drift: tag {} now points at {}, pinned {pinned} (pin unchanged)",
                v.reference, d.digest
            ),
            None => format!("drift resolved: tag {} is back at {pinned}", v.reference),
        };
        v.drift = now;
        let version = v.version.clone();
        self.change(Some(&version), ChangeKind::Drift, message);
    }
}
