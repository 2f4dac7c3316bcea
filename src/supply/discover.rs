//! Discovery: what is attached to an image digest.
//!
//! Input: a registry [`Api`], a repository, the subject digest, which kinds are wanted
//! ([`Want`]) and, when the caller already listed the repository's tags, that list. Output:
//! [`Attached`] — every artefact found, each with its manifest (read by digest, so its bytes
//! are checked) and how it was found — plus the referrers tag-schema index when that is where
//! the referrers were listed.
//!
//! Where berth looks, in order:
//! 1. the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`, with an `artifactType`
//!    filter when one type is all the caller wants); when the registry lacks it (404), the
//!    referrers tag schema: the image index tagged `sha256-<hex>`;
//! 2. cosign's tags `sha256-<hex>.sig`, `.att` and `.sbom` (cosign ≤ 2 writes these whatever
//!    the registry offers), skipped when a known tag list does not have them.
//!
//! Each referrer's own manifest decides what it is ([`classify`]): its `artifactType`, else
//! its config media type, and its layers' media types — never the artifactType of the index
//! entry alone (cosign 3.0.x writes an empty one in the tag-schema index). An entry is read
//! only when it can be one of the wanted kinds. Requests: one referrers call (plus one GET of
//! the tag-schema index without the API), one GET per cosign tag not excluded by a known tag
//! list, one GET per referrer read.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::registry::{Api, Descriptor, Manifest, Parsed, RegistryError, Repo};
use crate::supply::{
    BUNDLE_V03, COSIGN_SIG_ARTIFACT, DSSE_ENVELOPE, SARIF, SIMPLE_SIGNING, is_sbom_type,
};

/// What an artefact is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// cosign simple-signing signatures (`.sig` tag, or an OCI 1.1 cosign signature artifact).
    SimpleSigning,
    /// A Sigstore bundle (v0.3): a signature or an attestation, its statement says which.
    Bundle,
    /// An SBOM document (SPDX, CycloneDX).
    Sbom,
    /// A SARIF scan report.
    ScanReport,
    /// DSSE attestations (cosign `.att`).
    Attestation,
    Other,
}

impl Kind {
    /// The word recorded in index.json for a promoted artefact.
    pub fn word(self) -> &'static str {
        match self {
            Kind::SimpleSigning | Kind::Bundle => "signature",
            Kind::Sbom => "sbom",
            Kind::ScanReport => "scan-report",
            Kind::Attestation => "attestation",
            Kind::Other => "other",
        }
    }
}

/// Where an artefact was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    ReferrersApi,
    TagSchema,
    /// A cosign tag (`sha256-<hex>.sig`).
    CosignTag(String),
}

/// One artefact attached to a digest.
#[derive(Clone, Debug)]
pub struct Artefact {
    pub manifest: Manifest,
    pub kind: Kind,
    pub via: Via,
    /// Parsed fields of the artefact manifest.
    pub info: ArtefactManifest,
}

/// The fields of an artefact manifest discovery and verification read.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtefactManifest {
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// Which kinds the caller needs read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Want {
    pub signatures: bool,
    pub sbom: bool,
    pub reports: bool,
    /// Everything (a promotion copies all referrers).
    pub all: bool,
}

impl Want {
    pub const ALL: Want = Want {
        signatures: true,
        sbom: true,
        reports: true,
        all: true,
    };

    fn any(self) -> bool {
        self.signatures || self.sbom || self.reports || self.all
    }

    fn wants(self, k: Kind) -> bool {
        self.all
            || match k {
                Kind::SimpleSigning => self.signatures,
                // A bundle is a signature or an attestation (an SBOM one, maybe).
                Kind::Bundle | Kind::Attestation => self.signatures || self.sbom,
                Kind::Sbom => self.sbom,
                Kind::ScanReport => self.reports,
                Kind::Other => false,
            }
    }

    /// The one artifactType to ask the referrers API for, when one suffices.
    fn filter(self) -> Option<&'static str> {
        (!self.all && !self.signatures && !self.sbom && self.reports).then_some(SARIF)
    }
}

/// Everything found attached to one digest.
#[derive(Clone, Debug, Default)]
pub struct Attached {
    pub subject: String,
    /// The registry offers the referrers API.
    pub api: bool,
    /// The referrers tag-schema index (`sha256-<hex>`), when referrers were listed there.
    pub tag_index: Option<Manifest>,
    pub artefacts: Vec<Artefact>,
}

impl Attached {
    /// The artefacts that are OCI 1.1 referrers (API or tag schema), not cosign tags.
    pub fn referrers(&self) -> impl Iterator<Item = &Artefact> {
        self.artefacts
            .iter()
            .filter(|a| !matches!(a.via, Via::CosignTag(_)))
    }
}

/// `sha256-<hex>`: the tag of the referrers tag schema (and the stem of cosign's tags).
pub fn tag_schema_tag(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    Some(format!("{alg}-{hex}"))
}

/// Is `tag` one that tools write for attached artefacts (`sha256-<64 hex>` with or without
/// a `.sig` / `.att` / `.sbom` suffix)? Such tags are never promotion candidates.
pub fn is_artefact_tag(tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix("sha256-") else {
        return false;
    };
    let (hex, suffix) = match rest.split_once('.') {
        Some((h, s)) => (h, Some(s)),
        None => (rest, None),
    };
    hex.len() == 64
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && suffix.is_none_or(|s| ["sig", "att", "sbom"].contains(&s))
}

/// What an artefact manifest is: its artifactType, else its config media type, and its
/// layers' media types decide.
pub fn classify(m: &ArtefactManifest) -> Kind {
    let mut types: Vec<&str> = Vec::new();
    if let Some(t) = m.artifact_type.as_deref() {
        types.push(t);
    }
    if let Some(c) = &m.config {
        types.push(c.media_type.as_str());
    }
    let layers: Vec<&str> = m.layers.iter().map(|l| l.media_type.as_str()).collect();
    let any = |pred: &dyn Fn(&str) -> bool| types.iter().chain(&layers).any(|t| pred(t));
    if any(&|t| t == BUNDLE_V03 || t.starts_with("application/vnd.dev.sigstore.bundle")) {
        Kind::Bundle
    } else if any(&|t| t == SIMPLE_SIGNING || t == COSIGN_SIG_ARTIFACT) {
        Kind::SimpleSigning
    } else if any(&|t| t == SARIF) {
        Kind::ScanReport
    } else if any(&is_sbom_type) {
        Kind::Sbom
    } else if any(&|t| t == DSSE_ENVELOPE || t.starts_with("application/vnd.in-toto")) {
        Kind::Attestation
    } else {
        Kind::Other
    }
}

/// A kind an index entry's artifactType rules in, when it says anything.
fn entry_kind(d: &Descriptor) -> Option<Kind> {
    let t = d.artifact_type.as_deref().filter(|t| !t.is_empty())?;
    Some(classify(&ArtefactManifest {
        artifact_type: Some(t.to_string()),
        ..ArtefactManifest::default()
    }))
}

/// Find what is attached to `digest` in `repo` (see the module doc). `tags`: the
/// repository's tags when already listed (cosign tags missing from it are not requested).
pub async fn discover<A: Api>(
    api: &A,
    repo: &Repo,
    digest: &str,
    want: Want,
    tags: Option<&BTreeSet<String>>,
) -> Result<Attached, RegistryError> {
    let mut out = Attached {
        subject: digest.to_string(),
        ..Attached::default()
    };
    if !want.any() {
        return Ok(out);
    }
    let Some(stem) = tag_schema_tag(digest) else {
        return Ok(out);
    };
    let (entries, via) = match api.referrers(repo, digest, want.filter()).await? {
        Some(list) => {
            out.api = true;
            (list, Via::ReferrersApi)
        }
        None => {
            let listed = tags.is_none_or(|t| t.contains(&stem));
            let idx = if listed {
                api.manifest(repo, &stem).await?
            } else {
                None
            };
            let entries = match idx.as_ref().map(|m| &m.parsed) {
                Some(Parsed::Index { children }) => children.clone(),
                _ => Vec::new(),
            };
            out.tag_index = idx.filter(|_| !entries.is_empty());
            (entries, Via::TagSchema)
        }
    };
    let mut seen = BTreeSet::new();
    for e in entries {
        if !seen.insert(e.digest.clone()) {
            continue;
        }
        if let Some(k) = entry_kind(&e)
            && k != Kind::Other
            && !want.wants(k)
        {
            continue;
        }
        if let Some(a) = read(api, repo, &e.digest, via.clone()).await?
            && want.wants(a.kind)
        {
            out.artefacts.push(a);
        }
    }
    for (suffix, needed) in [
        ("sig", want.all || want.signatures),
        ("att", want.all || want.sbom || want.signatures),
        ("sbom", want.all || want.sbom),
    ] {
        let tag = format!("{stem}.{suffix}");
        if !needed || tags.is_some_and(|t| !t.contains(&tag)) {
            continue;
        }
        if let Some(m) = api.manifest(repo, &tag).await? {
            let info = parse_info(&m);
            let kind = match suffix {
                "sbom" => Kind::Sbom,
                "att" => Kind::Attestation,
                _ => classify(&info),
            };
            out.artefacts.push(Artefact {
                manifest: m,
                kind,
                via: Via::CosignTag(tag),
                info,
            });
        }
    }
    Ok(out)
}

fn parse_info(m: &Manifest) -> ArtefactManifest {
    serde_json::from_slice(&m.bytes).unwrap_or_default()
}

/// Read one referrer by digest and classify it; `None` when it is gone.
async fn read<A: Api>(
    api: &A,
    repo: &Repo,
    digest: &str,
    via: Via,
) -> Result<Option<Artefact>, RegistryError> {
    let Some(m) = api.manifest(repo, digest).await? else {
        return Ok(None);
    };
    let info = parse_info(&m);
    let kind = match &m.parsed {
        Parsed::Index { .. } => Kind::Other,
        _ => classify(&info),
    };
    Ok(Some(Artefact {
        manifest: m,
        kind,
        via,
        info,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artefact_tags() {
        let hex = "a".repeat(64);
        for t in [
            format!("sha256-{hex}"),
            format!("sha256-{hex}.sig"),
            format!("sha256-{hex}.att"),
            format!("sha256-{hex}.sbom"),
        ] {
            assert!(is_artefact_tag(&t), "{t}");
        }
        for t in [
            format!("sha256-{}", "a".repeat(63)),
            format!("sha256-{hex}.txt"),
            format!("sha256-{}", "g".repeat(64)),
            "1.0".to_string(),
            "sha256-".to_string(),
        ] {
            assert!(!is_artefact_tag(&t), "{t}");
        }
        assert_eq!(
            tag_schema_tag(&format!("sha256:{hex}")),
            Some(format!("sha256-{hex}"))
        );
    }

    #[test]
    fn the_manifest_decides_the_kind() {
        let m = |at: Option<&str>, cfg: &str, layer: &str| ArtefactManifest {
            artifact_type: at.map(str::to_string),
            config: Some(Descriptor {
                media_type: cfg.into(),
                ..Descriptor::default()
            }),
            layers: vec![Descriptor {
                media_type: layer.into(),
                ..Descriptor::default()
            }],
            ..ArtefactManifest::default()
        };
        let empty = crate::supply::EMPTY_CONFIG;
        let img_cfg = "application/vnd.oci.image.config.v1+json";
        assert_eq!(
            classify(&m(Some(BUNDLE_V03), empty, BUNDLE_V03)),
            Kind::Bundle
        );
        // cosign 3.0.x in the tag schema: the manifest itself still says it.
        assert_eq!(classify(&m(None, empty, BUNDLE_V03)), Kind::Bundle);
        assert_eq!(
            classify(&m(None, img_cfg, SIMPLE_SIGNING)),
            Kind::SimpleSigning
        );
        assert_eq!(classify(&m(Some(SARIF), empty, SARIF)), Kind::ScanReport);
        assert_eq!(
            classify(&m(
                Some("application/spdx+json"),
                empty,
                "application/spdx+json"
            )),
            Kind::Sbom
        );
        assert_eq!(
            classify(&m(None, empty, "application/vnd.cyclonedx+json")),
            Kind::Sbom
        );
        assert_eq!(
            classify(&m(None, img_cfg, DSSE_ENVELOPE)),
            Kind::Attestation
        );
        assert_eq!(classify(&m(None, img_cfg, "text/plain")), Kind::Other);
    }
}
