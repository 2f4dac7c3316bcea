//! Stage: plan — the lifecycle engine.
//!
//! Input: the loaded catalogue (desired state), the previous index (recorded state) and the
//! verification outcomes known so far. Output: the next index, the list of changes, the
//! diagnostics (declared versions that do not match, impossible transitions, marks for
//! unknown versions) and the verification requests the changes need.
//!
//! The engine is pure and cheap, so callers run it twice: once with no outcomes to learn
//! which references need verifying, then again with the outcomes (see `plan.rs`).
//! Invariants: released versions are never renumbered or re-pointed (their pin stays); a
//! release pins the digest that was tested (a tag that moved in the releasing run is refused,
//! E0401, and recorded as testing); a re-released cancelled number keeps the cancelled
//! attempt in `attempts`;
//! a new number is allocated only when the newest version is finished; an image with an
//! error keeps its previous entry untouched while other images proceed; output ordering is
//! deterministic (BTreeMap by code, versions ascending by semver).

pub mod channels;
pub mod resolve;
mod rules;
mod run;
mod transitions;
pub mod version;

use std::collections::BTreeMap;
use std::sync::Arc;

use semver::Version;
use serde::Serialize;

use crate::lifecycle::channels::Audience;
use crate::lifecycle::run::ImageRun;
use crate::model::Catalogue;
use crate::model::diag::Diagnostics;
use crate::model::{ImageEntry, Index, Status, VersionEntry};

/// What pull verification found for one reference.
#[derive(Clone, Debug, PartialEq)]
pub enum VerifyOutcome {
    /// Not checked (offline / `--skip-verify`).
    Skipped,
    Passed(ImageFacts),
    /// The reason is user-facing (404, unauthorized, missing blob …) and never holds secrets.
    Failed(String),
    /// The tag still points at this digest, the one the request named as known (one HEAD;
    /// nothing else was read). Only ever the answer to a request with `known_digest`.
    Unchanged(String),
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
    /// Signatures, SBOM and vulnerability counts attached to the digest (only for requests
    /// with [`VerifyRequest::supply`]).
    pub supply: Option<crate::model::SupplyChainEntry>,
}

/// A reference the plan needs verified.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VerifyRequest {
    pub code: String,
    pub version: String,
    pub reference: String,
    /// Credential name from berth.yaml, if the listing names one.
    pub credential: Option<String>,
    /// The digest recorded (and verified) for this tag: the verifier may confirm it with one
    /// HEAD and answer [`VerifyOutcome::Unchanged`]; only another digest is verified fully.
    pub known_digest: Option<String>,
    /// The listing has a `verify:` block: look up the artefacts attached to the digest
    /// (recorded in the index), and require a verifying signature by each key (paths
    /// relative to the catalogue root). A missing or invalid signature fails the check.
    pub supply: Option<Vec<String>>,
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
    // The tag of a testing version points at another digest than recorded. (A plain
    // comment: a doc comment would split the schema's enum.)
    RePushed,
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
    // Duplicate codes are reported by validate; the first listing wins here.
    let firsts: Vec<_> = cat
        .listings
        .iter()
        .filter(|src| seen_codes.insert(src.value.code.value.as_str()))
        .collect();
    // Images are independent: run them on all cores, then merge in listing order (the
    // result is the same as running them one after the other).
    let runs: Vec<(ImageRun<'_>, Arc<ImageEntry>)> = {
        use rayon::prelude::*;
        firsts
            .par_iter()
            .map(|src| {
                let mut img = ImageRun {
                    src,
                    root: &cat.root,
                    ctx,
                    outcomes,
                    changes: Vec::new(),
                    diags: Diagnostics::new(),
                    requests: Vec::new(),
                };
                let before = prev.images.get(src.value.code.value.as_str());
                let entry = img.run(before.map(|e| &**e));
                (img, share(before, entry))
            })
            .collect()
    };
    for (img, entry) in runs {
        let code = img.src.value.code.value.clone();
        let prev_entry = prev.images.get(&code);
        if img.diags.has_blocking_errors() {
            // One image's error never blocks the others: keep its recorded state as it was.
            // (A refused release is recorded: the image's new state is kept, see diag.rs.)
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
        if !seen_codes.contains(code.as_str()) {
            let (entry, changes) = removed_listing(p, ctx);
            out.changes.extend(changes);
            out.index.images.insert(code.clone(), share(Some(p), entry));
        }
    }
    if !out.changes.is_empty() && !crate::index::same(&out.index, prev) {
        // sourceCommit names the commit of the last effective change, so a run with nothing
        // to do leaves the index byte-identical even though HEAD moved.
        out.index.source_commit = ctx.commit.clone();
    }
    out.requests.sort();
    out.requests.dedup();
    out
}

/// The entry an image ends with: the recorded one itself when nothing changed (shared, not
/// copied: the next index then costs memory only for what changed), else the new one.
fn share(before: Option<&Arc<ImageEntry>>, entry: ImageEntry) -> Arc<ImageEntry> {
    match before {
        Some(b) if **b == entry => Arc::clone(b),
        _ => Arc::new(entry),
    }
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
        v.release_refused = None;
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
