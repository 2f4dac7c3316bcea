//! Typed models of every file berth reads or writes.
//!
//! Inputs: `berth.yaml` ([`Config`]), `images/**/*.yaml` ([`Listing`]), `policies/**/*.yaml`
//! ([`Policy`]) and the generated `index.json` ([`Index`]). The same types drive the JSON
//! Schemas in `schema/` (see `schema.rs`), so a field added here is documented there.
//!
//! Invariants: YAML models reject unknown fields — not through serde's
//! `deny_unknown_fields`, which would fail the whole file at the first one, but through
//! `catalogue::unknown`, which collects them (with positions) while the rest of the file is
//! read and checked; their JSON Schemas still say `additionalProperties: false`
//! (`#[schemars(deny_unknown_fields)]`). Every YAML model must be parsed through
//! `catalogue::load` for that reason. Fields and map keys that semantic checks must point at
//! are wrapped in [`Sp`] to carry their line/column. Index types use
//! `BTreeMap`/sorted `Vec` only, so serializing the same state always yields the same bytes.
//!
//! Submodules hold the other leaf types every layer shares: [`span`] (positions in YAML),
//! [`diag`] (diagnostics), [`reference`] (OCI image references), [`time`] (the one clock and
//! time format), [`fsutil`] (the one atomic file write).

pub mod catalogue;
pub mod diag;
pub mod fsutil;
pub mod progress;
pub mod reference;
pub mod schema;
pub mod span;
pub mod supply;
pub mod template;
pub mod time;
pub mod vec_map;

pub use catalogue::{CONFIG_FILE, Catalogue, Source};
pub use supply::{
    PromotedArtefact, SbomCriterion, SignatureCriterion, SignatureSpec, SupplyChainEntry,
    VerifySpec, VulnerabilityCounts, VulnerabilityLimits,
};

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::span::Sp;
pub use crate::model::vec_map::VecMap;

// ---------------------------------------------------------------------------------------------
// berth.yaml

/// Catalogue configuration (`berth.yaml`). Every field is optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Config {
    /// Path of the generated index, relative to the catalogue root. Default `index.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Sp<String>>,
    /// Per-registry settings, keyed by host (`reg.example.com`, `localhost:5000`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub registries: BTreeMap<Sp<String>, Sp<RegistryConfig>>,
    /// Named credentials that listings refer to with `image.credential`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials: BTreeMap<Sp<String>, Sp<CredentialConfig>>,
    /// How `berth apply --commit` writes its commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitConfig>,
}

/// Settings for one registry host.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Allow plain http to this registry.
    #[serde(default)]
    pub insecure: bool,
    /// Maximum concurrent requests to this registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<Sp<u32>>,
    /// Maximum requests per second to this registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<Sp<f64>>,
}

/// Where a credential's secret comes from. Secrets never live in the catalogue itself.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct CredentialConfig {
    /// Environment variable holding the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_env: Option<Sp<String>>,
    /// Environment variable holding the password or token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<Sp<String>>,
    /// Use `~/.docker/config.json` (`auths`, `credsStore`, `credHelpers`).
    #[serde(default)]
    pub docker_config: bool,
}

/// Commit settings for `berth apply --commit`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct CommitConfig {
    /// Author name of the commit (default `berth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    /// Author e-mail of the commit (default `berth@localhost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_email: Option<String>,
    /// Commit message template (minijinja: `{{ summary }}`, `{{ changed }}`, `{{ versions }}`,
    /// `{{ source }}`; the old `{summary}` form is still read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Sp<String>>,
}

// ---------------------------------------------------------------------------------------------
// images/**/*.yaml

/// One image listing (`images/<code>.yaml`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Listing {
    /// Unique store identity, `^[a-zA-Z_][A-Za-z0-9_-]{0,31}$`; equals the file stem.
    #[schemars(regex(pattern = r"^[a-zA-Z_][A-Za-z0-9_-]{0,31}$"))]
    pub code: Sp<String>,
    /// Display name, 1-40 characters, unique across the catalogue.
    #[schemars(length(min = 1, max = 40))]
    pub name: Sp<String>,
    /// One-line summary.
    pub summary: Sp<String>,
    /// Optional markdown description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Owning team or person.
    pub publisher: Sp<String>,
    /// Optional category; `pipeline-job` requires `agentScope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Sp<String>>,
    /// Agent scopes a pipeline job may run on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent_scope: Vec<Sp<String>>,
    /// Free-form search labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Sp<String>>,
    /// The project that also sees `testing` versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_project: Option<Sp<String>>,
    /// The image this listing publishes.
    pub image: Sp<ImageSpec>,
    /// Optional repo-relative Dockerfile path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<Sp<String>>,
    /// The release being made with the current image reference.
    pub release: Sp<ReleaseSpec>,
    /// Per-version marks: QA results and delisting.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<Sp<String>, Sp<VersionMark>>,
    /// Requirements on the artefacts attached to the image (signatures); with this block the
    /// signatures, SBOMs and scan reports found are recorded in index.json.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Sp<VerifySpec>>,
}

/// Image reference of a listing.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ImageSpec {
    /// Registry host; blank or omitted means docker.io.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<Sp<String>>,
    /// Repository path, e.g. `acme/ci-base`.
    pub repository: Sp<String>,
    /// Tag; never `latest`.
    pub tag: Sp<String>,
    /// Optional credential name from berth.yaml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Sp<String>>,
}

/// Release declaration of a listing.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ReleaseSpec {
    /// How the version number moves.
    #[serde(rename = "type")]
    pub kind: Sp<ReleaseType>,
    /// Where the release stands.
    pub stage: Sp<Stage>,
    /// Release notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Optional expected version; must equal the computed one (a semver suffix is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Sp<String>>,
}

/// Release type, deciding the next version number.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseType {
    /// First version of a new image: 1.0.0.
    New,
    /// Breaking change: (M+1).0.0.
    Incompatible,
    /// New feature: M.(m+1).0.
    Feature,
    /// Fix: M.m.(p+1).
    Fix,
    /// Same number again, after a cancelled version.
    ReRelease,
}

impl ReleaseType {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseType::New => "new",
            ReleaseType::Incompatible => "incompatible",
            ReleaseType::Feature => "feature",
            ReleaseType::Fix => "fix",
            ReleaseType::ReRelease => "re-release",
        }
    }
}

impl fmt::Display for ReleaseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declared stage of the current release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Testing,
    Released,
    Cancelled,
}

/// Marks on one version of a listing.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct VersionMark {
    /// QA verdict for this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qa: Option<Sp<QaStatus>>,
    /// Why (required for `qa: failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Sp<String>>,
    /// Remove this version from channels.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delisted: bool,
}

/// QA verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum QaStatus {
    Passed,
    Failed,
}

// ---------------------------------------------------------------------------------------------
// policies/**/*.yaml

/// A promotion policy (`policies/<name>.yaml`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Policy {
    /// Unique policy name.
    pub name: Sp<String>,
    /// Where candidate images come from.
    pub source: Sp<PolicySource>,
    /// Conditions that must all hold for a tag to be promoted.
    #[serde(default)]
    pub criteria: Vec<Sp<Criterion>>,
    /// Where promoted images go.
    pub target: Sp<PolicyTarget>,
    /// Allow moving an existing target tag to another digest.
    #[serde(default)]
    pub overwrite: bool,
}

/// Source of a policy.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct PolicySource {
    /// Registry host (blank: docker.io).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<Sp<String>>,
    /// Repository, may be a doublestar pattern (`dev/**`).
    pub repository: Sp<String>,
    /// Optional credential name from berth.yaml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Sp<String>>,
}

/// Target of a policy.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct PolicyTarget {
    /// Registry host (blank: docker.io).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<Sp<String>>,
    /// Target repository.
    pub repository: Sp<String>,
    /// Tag template: minijinja when it contains `{{ }}`, MSR `%` codes otherwise.
    pub tag: Sp<String>,
    /// Optional credential name from berth.yaml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Sp<String>>,
}

/// One promotion criterion.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub enum Criterion {
    /// Condition on the source tag.
    Tag(Sp<StringMatch>),
    /// Condition on an image config label.
    Label(Sp<LabelMatch>),
    /// The image must provide this platform (`os/arch[/variant]`).
    Platform(Sp<String>),
    /// The image digest must carry a cosign signature by this key.
    Signature(Sp<SignatureCriterion>),
    /// An SBOM must be attached (`sbom: present`).
    Sbom(Sp<SbomCriterion>),
    /// Maximum vulnerability counts per severity in the attached SARIF report.
    Vulnerabilities(Sp<VulnerabilityLimits>),
}

/// String operators; every operator given must hold.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct StringMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Sp<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_one_of: Option<Vec<String>>,
    /// Regular expression (Rust `regex` syntax), matched against the whole value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<Sp<String>>,
    /// Semver range (`>=1.2, <2`), for values that parse as semver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<Sp<String>>,
}

/// Label condition: the label `name` must exist and satisfy every operator given.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct LabelMatch {
    pub name: Sp<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Sp<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_one_of: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<Sp<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<Sp<String>>,
}

impl LabelMatch {
    /// The operators of this label condition as a [`StringMatch`].
    pub fn operators(&self) -> StringMatch {
        StringMatch {
            equals: self.equals.clone(),
            starts_with: self.starts_with.clone(),
            ends_with: self.ends_with.clone(),
            contains: self.contains.clone(),
            one_of: self.one_of.clone(),
            not_one_of: self.not_one_of.clone(),
            matches: self.matches.clone(),
            semver: self.semver.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// index.json
//
// Every struct below declares its fields in the order of their serialized (camelCase) names:
// index.json is written by serializing these types directly, and canonical JSON needs sorted
// keys. `index::tests::direct_serialization_is_canonical` (and a debug assertion in
// `index::to_canonical_json`) fail when a field is added out of order.

/// Current index schema version.
pub const INDEX_SCHEMA_VERSION: u32 = 1;

/// The generated state of record (`index.json`), read by pipelines.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Index {
    // (`Arc`: the next index of a plan shares the recorded entries of the images that did not
    // change, so a large index is not held twice.)
    /// Images by code.
    pub images: BTreeMap<String, Arc<ImageEntry>>,
    /// Every promotion ever made, oldest first.
    #[serde(default)]
    pub promotions: Vec<PromotionRecord>,
    /// Version of this file's schema.
    pub schema_version: u32,
    /// Catalogue commit the index was generated from (null outside git).
    pub source_commit: Option<String>,
}

/// One image in the index.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageEntry {
    #[serde(default)]
    pub agent_scope: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `latest` and `M.latest` for everyone.
    pub channels: VecMap<String, ChannelEntry>,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Dockerfile path and the sha256 of its content at generation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<DockerfileEntry>,
    #[serde(default)]
    pub labels: Vec<String>,
    pub name: String,
    pub publisher: String,
    pub summary: String,
    /// Channels as the debug project sees them (testing versions included).
    pub testing_channels: VecMap<String, ChannelEntry>,
    /// Versions, ascending by semver precedence.
    pub versions: Vec<VersionEntry>,
}

/// Dockerfile reference of an image.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DockerfileEntry {
    pub path: String,
    /// Hex sha256 of the file, `null` if it was missing.
    pub sha256: Option<String>,
}

/// Lifecycle status of a version.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Pull verification failed; rechecked by the next apply.
    CheckFailed,
    Testing,
    Released,
    Cancelled,
    Delisted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::CheckFailed => "check-failed",
            Status::Testing => "testing",
            Status::Released => "released",
            Status::Cancelled => "cancelled",
            Status::Delisted => "delisted",
        }
    }
    /// Testing and check-failed versions may still change reference; the rest are finished.
    pub fn is_mutable(self) -> bool {
        matches!(self, Status::Testing | Status::CheckFailed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One version of an image.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VersionEntry {
    /// Earlier, cancelled attempts at this number (oldest first), kept when a `re-release`
    /// revives it: the history of what was once listed under this version is never erased.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<AttemptEntry>,
    /// Catalogue commit that recorded the last change (null outside git).
    pub catalogue_commit: Option<String>,
    /// Config labels of the image, when verified.
    #[serde(default, skip_serializing_if = "VecMap::is_empty")]
    pub config_labels: VecMap<String, String>,
    /// Manifest or index digest the tag resolved to (pinned once released).
    pub digest: Option<String>,
    /// Set when the tag of a released version now points at another digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// `os/arch[/variant]` platforms of the image.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// `host/repository@sha256:…`, the reference pipelines should pull.
    pub pull: Option<String>,
    /// QA verdict, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qa: Option<QaEntry>,
    /// When this version was first recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// `host/repository:tag` as listed.
    pub reference: String,
    /// Set when a release was refused because the tag moved away from the tested digest; the
    /// release stays refused until the listing goes back to `stage: testing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_refused: Option<RefusedReleaseEntry>,
    pub release_type: ReleaseType,
    /// Total size in bytes (manifest + config + layers), when verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub status: Status,
    /// Signatures, SBOM and vulnerability counts found attached to the digest (listings with
    /// `verify:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_chain: Option<SupplyChainEntry>,
    /// When its status or reference last changed (RFC 3339, UTC).
    pub updated_at: String,
    /// Outcome of the last pull verification.
    pub verification: VerificationEntry,
    /// Semver version.
    pub version: String,
}

/// QA verdict in the index.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QaEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub status: QaStatus,
}

/// Result of pull verification.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerificationEntry {
    /// `manifest`, `blobs` or `full` when verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Why verification failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub state: VerifyState,
}

/// Verification state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyState {
    Passed,
    Failed,
    Skipped,
}

/// A cancelled attempt at a version number, as it was recorded before a `re-release`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AttemptEntry {
    /// Catalogue commit of the attempt's last change (its cancellation, as a rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue_commit: Option<String>,
    /// Digest the attempt's tag was verified at (absent when it never passed verification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// When the attempt was first recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// `host/repository:tag` the attempt listed.
    pub reference: String,
    pub release_type: ReleaseType,
    /// The attempt's last change (its cancellation, unless a QA mark changed later).
    pub updated_at: String,
}

/// Why a release was refused: the tag no longer pointed at the digest that was tested.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefusedReleaseEntry {
    /// Digest the tag pointed at when the release was refused (now recorded as `digest`).
    pub tag_digest: String,
    /// Digest the debug project had tested.
    pub tested_digest: String,
}

/// Drift of a released version's tag.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DriftEntry {
    /// Digest the tag points at now.
    pub digest: String,
}

/// A channel (`latest`, `1.latest`) resolved to a version.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChannelEntry {
    /// Set when the channel falls back to a delisted version.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// Pinned pull reference, or the tag reference when the digest is unknown.
    pub pull: String,
    pub version: String,
}

/// One promotion, recorded so that it is never repeated.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PromotionRecord {
    /// Signatures, SBOMs and reports copied with the image (sorted by digest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artefacts: Vec<PromotedArtefact>,
    pub initiated_by: InitiatedBy,
    /// Policy name; null for a manual promotion.
    pub policy: Option<String>,
    /// RFC 3339 UTC time of the promotion.
    pub promoted_at: String,
    /// `host/repository:tag` of the source.
    pub source: String,
    pub source_digest: String,
    /// `host/repository:tag` of the target.
    pub target: String,
}

/// Who started a promotion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InitiatedBy {
    Policy,
    Manual,
}
