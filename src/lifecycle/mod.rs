//! Stage: plan — the lifecycle engine.
//!
//! Input: the loaded catalogue (desired state), the previous index (recorded state) and the
//! verification outcomes known so far. Output: the next index, the list of changes, the
//! diagnostics (declared versions that do not match, impossible transitions, marks for
//! unknown versions) and the verification requests the changes need.
//!
//! The engine is pure and cheap, so callers run it twice: once with no outcomes to learn
//! which references need verifying, then again with the outcomes (see `plan.rs`).
//! Invariants: released versions are never renumbered or re-pointed (their pin stays);
//! a new number is allocated only when the newest version is finished; an image with an
//! error keeps its previous entry untouched while other images proceed; output ordering is
//! deterministic (BTreeMap by code, versions ascending by semver).

pub mod channels;
pub mod resolve;
pub mod version;

use std::collections::BTreeMap;
use std::path::Path;

use semver::Version;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::lifecycle::channels::Audience;
use crate::lifecycle::version::VersionError;
use crate::model::diag::{Code, Diagnostic, Diagnostics};
use crate::model::reference::ImageRef;
use crate::model::span::Pos;
use crate::model::{Catalogue, Source};
use crate::model::{
    DockerfileEntry, DriftEntry, ImageEntry, Index, Listing, QaEntry, QaStatus, ReleaseType, Stage,
    Status, VerificationEntry, VerifyState, VersionEntry,
};

/// What pull verification found for one reference.
#[derive(Clone, Debug, PartialEq)]
pub enum VerifyOutcome {
    /// Not checked (offline / `--skip-verify`).
    Skipped,
    Passed(ImageFacts),
    /// The reason is user-facing (404, unauthorized, missing blob …) and never holds secrets.
    Failed(String),
}

/// Facts read from the registry for a verified reference.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ImageFacts {
    pub digest: String,
    pub platforms: Vec<String>,
    pub size: Option<u64>,
    pub config_labels: BTreeMap<String, String>,
    /// `manifest`, `blobs` or `full`.
    pub level: String,
}

/// A reference the plan needs verified.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VerifyRequest {
    pub code: String,
    pub version: String,
    pub reference: String,
    /// Credential name from berth.yaml, if the listing names one.
    pub credential: Option<String>,
}

/// Kind of a planned change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    NewImage,
    NewVersion,
    Retag,
    Renumber,
    Status,
    Qa,
    Notes,
    Metadata,
    Removed,
    Drift,
}

/// One planned change.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Change {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub kind: ChangeKind,
    pub message: String,
}

/// `code@version: message` (or `code: message` for image-level changes).
impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}@{v}: {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

/// When and from which commit changes are recorded.
#[derive(Clone, Debug)]
pub struct Context {
    /// RFC 3339 UTC time stamped on changed entries.
    pub now: String,
    /// Catalogue commit (None outside git).
    pub commit: Option<String>,
    /// Re-verify the newest released version of each image; a moved tag is drift.
    pub check_drift: bool,
}

/// Result of one engine run.
#[derive(Clone, Debug)]
pub struct Reconciled {
    pub index: Index,
    pub changes: Vec<Change>,
    pub diags: Diagnostics,
    pub requests: Vec<VerifyRequest>,
}

/// Run the engine. `outcomes` maps canonical references (`host/repo:tag`) to results;
/// a reference missing from it counts as [`VerifyOutcome::Skipped`].
pub fn reconcile(
    cat: &Catalogue,
    prev: &Index,
    outcomes: &BTreeMap<String, VerifyOutcome>,
    ctx: &Context,
) -> Reconciled {
    let mut out = Reconciled {
        index: Index {
            schema_version: crate::model::INDEX_SCHEMA_VERSION,
            source_commit: prev.source_commit.clone(),
            images: BTreeMap::new(),
            promotions: prev.promotions.clone(),
        },
        changes: Vec::new(),
        diags: Diagnostics::new(),
        requests: Vec::new(),
    };
    let mut seen_codes = std::collections::BTreeSet::new();
    for src in &cat.listings {
        let code = src.value.code.value.clone();
        if !seen_codes.insert(code.clone()) {
            // Duplicate codes are reported by validate; the first listing wins here.
            continue;
        }
        let prev_entry = prev.images.get(&code);
        let mut img = ImageRun {
            src,
            root: &cat.root,
            ctx,
            outcomes,
            changes: Vec::new(),
            diags: Diagnostics::new(),
            requests: Vec::new(),
        };
        let entry = img.run(prev_entry);
        if img.diags.has_errors() {
            // One image's error never blocks the others: keep its recorded state as it was.
            if let Some(p) = prev_entry {
                out.index.images.insert(code.clone(), p.clone());
            }
            out.diags.extend(img.diags);
            continue;
        }
        out.diags.extend(img.diags);
        out.changes.extend(img.changes);
        out.requests.extend(img.requests);
        out.index.images.insert(code, entry);
    }
    for (code, p) in &prev.images {
        if !seen_codes.contains(code) {
            let (entry, changes) = removed_listing(p, ctx);
            out.changes.extend(changes);
            out.index.images.insert(code.clone(), entry);
        }
    }
    if out.index != *prev && !out.changes.is_empty() {
        // sourceCommit names the commit of the last effective change, so a run with nothing
        // to do leaves the index byte-identical even though HEAD moved.
        out.index.source_commit = ctx.commit.clone();
    }
    out.requests.sort();
    out.requests.dedup();
    out
}

/// A listing whose file was deleted: its history stays, nothing stays installable.
fn removed_listing(p: &ImageEntry, ctx: &Context) -> (ImageEntry, Vec<Change>) {
    let mut e = p.clone();
    let mut changes = Vec::new();
    for v in &mut e.versions {
        let to = match v.status {
            Status::Released => Status::Delisted,
            Status::Testing | Status::CheckFailed => Status::Cancelled,
            _ => continue,
        };
        changes.push(Change {
            code: e.code.clone(),
            version: Some(v.version.clone()),
            kind: ChangeKind::Removed,
            message: format!("listing removed: {} → {to}", v.status),
        });
        v.status = to;
        v.updated_at = ctx.now.clone();
        v.catalogue_commit = ctx.commit.clone();
    }
    finish_channels(&mut e);
    (e, changes)
}

fn finish_channels(e: &mut ImageEntry) {
    sort_versions(&mut e.versions);
    e.channels = channels::compute(&e.versions, Audience::Everyone);
    e.testing_channels = channels::compute(&e.versions, Audience::DebugProject);
}

fn sort_versions(vs: &mut [VersionEntry]) {
    vs.sort_by_cached_key(|v| semver_key(&v.version));
}

fn semver_key(v: &str) -> (Option<Version>, String) {
    (Version::parse(v).ok(), v.to_string())
}

struct ImageRun<'a> {
    src: &'a Source<Listing>,
    root: &'a Path,
    ctx: &'a Context,
    outcomes: &'a BTreeMap<String, VerifyOutcome>,
    changes: Vec<Change>,
    diags: Diagnostics,
    requests: Vec<VerifyRequest>,
}

impl ImageRun<'_> {
    fn l(&self) -> &Listing {
        &self.src.value
    }

    fn code(&self) -> String {
        self.l().code.value.clone()
    }

    fn error(&mut self, code: Code, pos: Pos, msg: impl Into<String>, hint: Option<&str>) {
        let mut d = Diagnostic::error(code, &self.src.path, pos, msg);
        if let Some(h) = hint {
            d = d.with_hint(h);
        }
        self.diags.push(d);
    }

    fn change(&mut self, version: Option<&str>, kind: ChangeKind, message: String) {
        self.changes.push(Change {
            code: self.code(),
            version: version.map(str::to_string),
            kind,
            message,
        });
    }

    /// Ask for verification of `r` and return the outcome known so far.
    fn verify(&mut self, version: &str, r: &ImageRef) -> VerifyOutcome {
        let reference = r.to_string();
        self.requests.push(VerifyRequest {
            code: self.code(),
            version: version.to_string(),
            reference: reference.clone(),
            credential: self.l().image.credential.as_ref().map(|c| c.value.clone()),
        });
        self.outcomes
            .get(&reference)
            .cloned()
            .unwrap_or(VerifyOutcome::Skipped)
    }

    fn run(&mut self, prev: Option<&ImageEntry>) -> ImageEntry {
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

    fn metadata(&mut self, prev: Option<&ImageEntry>) -> ImageEntry {
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
            channels: BTreeMap::new(),
            testing_channels: BTreeMap::new(),
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
    fn release(&mut self, versions: &mut Vec<VersionEntry>) {
        let l = self.l().clone();
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

        let outcome = self.verify(&number, &want);
        let mut entry = VersionEntry {
            version: number.clone(),
            release_type: kind,
            status: status_for(stage, &outcome),
            qa: None,
            reference: want_s.clone(),
            digest: None,
            pull: None,
            platforms: Vec::new(),
            size: None,
            config_labels: BTreeMap::new(),
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
    fn drift(&mut self, versions: &mut [VersionEntry]) {
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
        let VerifyOutcome::Passed(f) = self.verify(&v.version.clone(), &r) else {
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

    /// The listing still points at the newest version's reference: apply stage transitions.
    fn same_reference(
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
                let unverified = v.verification.state != VerifyState::Passed;
                let needs_check = from == Status::CheckFailed
                    || from == Status::Cancelled
                    || unverified
                    || s == Stage::Released;
                if !needs_check && from == Status::Testing && s == Stage::Testing {
                    return;
                }
                // Releasing pins the digest the tag has now; a failed check records why.
                let outcome = self.verify(&v.version.clone(), want);
                if from == Status::CheckFailed && outcome == VerifyOutcome::Skipped {
                    // Not checking is not passing: a failed check stays failed until a real
                    // verification succeeds.
                    return;
                }
                let st = status_for(s, &outcome);
                let before = v.clone();
                v.verification = verification_entry(&outcome);
                apply_facts(v, want, &outcome);
                v.status = st;
                if *v != before {
                    v.updated_at = self.ctx.now.clone();
                    v.catalogue_commit = self.ctx.commit.clone();
                }
                if st != from {
                    let why = match &outcome {
                        VerifyOutcome::Failed(r) => format!(" ({r})"),
                        _ => String::new(),
                    };
                    self.change(
                        Some(&v.version.clone()),
                        ChangeKind::Status,
                        format!("{from} → {st}{why}"),
                    );
                }
                return;
            }
        };
        if target != from {
            v.status = target;
            v.updated_at = self.ctx.now.clone();
            v.catalogue_commit = self.ctx.commit.clone();
            self.change(
                Some(&v.version.clone()),
                ChangeKind::Status,
                format!("{from} → {target}"),
            );
        }
    }

    fn notes(&mut self, v: &mut VersionEntry, notes: Option<&str>) {
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
    fn marks(&mut self, versions: &mut [VersionEntry]) {
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

fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Testing => "testing",
        Stage::Released => "released",
        Stage::Cancelled => "cancelled",
    }
}

/// Does a declared `release.version` name this recorded version?
fn declared_matches(declared: &str, recorded: &str) -> bool {
    match (Version::parse(declared.trim()), Version::parse(recorded)) {
        (Ok(a), Ok(b)) => a == b,
        _ => declared.trim() == recorded,
    }
}

fn status_for(stage: Stage, outcome: &VerifyOutcome) -> Status {
    match (outcome, stage) {
        (VerifyOutcome::Failed(_), _) => Status::CheckFailed,
        (_, Stage::Testing) => Status::Testing,
        (_, Stage::Released) => Status::Released,
        (_, Stage::Cancelled) => Status::Cancelled,
    }
}

fn verification_entry(o: &VerifyOutcome) -> VerificationEntry {
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
    }
}

fn apply_facts(v: &mut VersionEntry, r: &ImageRef, o: &VerifyOutcome) {
    match o {
        VerifyOutcome::Passed(f) => {
            v.digest = Some(f.digest.clone());
            v.pull = Some(r.pinned(&f.digest));
            v.platforms = f.platforms.clone();
            v.size = f.size;
            v.config_labels = f.config_labels.clone();
        }
        VerifyOutcome::Failed(_) => {
            v.digest = None;
            v.pull = None;
            v.platforms.clear();
            v.size = None;
            v.config_labels.clear();
        }
        // Skipped keeps what an earlier verification recorded for this same reference.
        VerifyOutcome::Skipped => {}
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
