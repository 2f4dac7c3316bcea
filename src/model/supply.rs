//! Supply-chain artefacts in the models: what a listing or policy requires of the signatures,
//! SBOMs and scan reports attached to an image, and what index.json records of them.
//!
//! Input side (YAML): a listing's `verify: { signature: { key } }`, and the policy criteria
//! `signature: { key }`, `sbom: present`, `vulnerabilities: { critical: 0, high: 3 }`. Output
//! side (index.json): per version a [`SupplyChainEntry`], per promotion the
//! [`PromotedArtefact`]s copied with the image. Keys are paths relative to the catalogue root.
//! Index types declare their fields in sorted (camelCase) order, like every index type.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::span::Sp;

/// What a listing requires of the artefacts attached to its image (`verify:`). With this
/// block, the signatures, SBOMs and scan reports attached to the image are looked up every
/// time it is verified, and recorded in index.json.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct VerifySpec {
    /// A cosign key-based signature over the image digest is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Sp<SignatureSpec>>,
}

/// A required signature.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct SignatureSpec {
    /// PEM public key (ECDSA P-256, as `cosign generate-key-pair` writes `cosign.pub`), path
    /// relative to the catalogue root.
    pub key: Sp<String>,
}

/// Policy criterion `signature: { key: keys/team.pub }`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct SignatureCriterion {
    /// PEM public key (ECDSA P-256), path relative to the catalogue root.
    pub key: Sp<String>,
}

/// Policy criterion `sbom: present`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SbomCriterion {
    /// An SBOM (SPDX or CycloneDX referrer, cosign `.sbom` tag or SBOM attestation) is attached.
    Present,
}

/// Policy criterion `vulnerabilities:` — maximum counts per severity in the attached SARIF
/// scan report (no report: the criterion fails).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct VulnerabilityLimits {
    /// `security-severity` ≥ 9.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<u64>,
    /// `security-severity` ≥ 7.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<u64>,
    /// `security-severity` ≥ 4.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<u64>,
    /// Anything lower (or without a severity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<u64>,
}

/// Vulnerabilities per severity, from a SARIF report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VulnerabilityCounts {
    pub critical: u64,
    pub high: u64,
    pub low: u64,
    pub medium: u64,
}

/// What was attached to a version's digest when it was verified (listings with `verify:`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SupplyChainEntry {
    /// Keyless (Fulcio/Rekor) signatures found: present, but not verified (they need online
    /// trust roots).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keyless_signatures: u64,
    /// An SBOM is attached.
    pub sbom: bool,
    /// Fingerprints (`sha256:<hex>` of the DER SubjectPublicKeyInfo) of the keys whose
    /// signatures over the digest verified, sorted.
    #[serde(default)]
    pub signature_keys: Vec<String>,
    /// Counts from the attached SARIF scan report (absent: no report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<VulnerabilityCounts>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// An artefact copied with a promoted image.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PromotedArtefact {
    /// Manifest digest of the artefact (the same at source and target).
    pub digest: String,
    /// `signature`, `sbom`, `scan-report`, `attestation` or `other`.
    pub kind: String,
    /// The cosign tag it was found under and copied to (`sha256-<hex>.sig`); absent for an
    /// OCI 1.1 referrer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}
