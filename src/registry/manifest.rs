//! The one OCI manifest / index model of berth, for verification and promotion alike.
//!
//! Input: manifest and image-config bytes as served (OCI image index and manifest, Docker
//! manifest list and schema 2 manifest). Output: [`Manifest`] (the exact bytes, their digest,
//! media type and [`Parsed`] content) and [`ImageInfo`] (platforms, config labels, created).
//!
//! Why berth's own types and not oci-client's: a copy must push exactly the bytes it read
//! and must not refuse what it does not need to understand, so the reader is lenient (only
//! the fields berth uses, defaults for absent ones, unknown fields ignored), sizes are
//! unsigned, and one place says which index entries are images.
//!
//! Rules (both stages use them, nowhere else restated):
//! - An index entry is an *attestation*, not a pullable image, when it carries docker's
//!   `vnd.docker.reference.type` annotation or its platform is `unknown/unknown` (BuildKit's
//!   provenance and SBOM manifests): [`Descriptor::is_attestation`]. Attestations are copied
//!   with their index (it names them) but never count as platforms, never give an image's
//!   labels, and are not verified as images.
//! - A layer with `urls` is foreign (Windows base layers): it lives elsewhere, so it is
//!   counted in the size but neither checked nor copied ([`Parsed::blobs`]).
//! - Manifest bytes are never re-serialized.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Media types accepted when reading a manifest (`Accept`).
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

const INDEX_TYPES: [&str; 2] = [OCI_INDEX, DOCKER_LIST];

/// Annotation BuildKit puts on attestation entries of an index.
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    hex_digest(Sha256::new_with_prefix(bytes))
}

/// `sha256:<hex>` of what `h` has hashed.
pub(super) fn hex_digest(h: Sha256) -> String {
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in h.finalize() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A content descriptor (an index entry, a config, a layer).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    /// Foreign layers (Windows base layers) live elsewhere and are never copied.
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The type of an artifact this descriptor points at (referrers lists, OCI 1.1).
    #[serde(default)]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// A build attestation (provenance, SBOM) in an index, not a pullable image.
    pub fn is_attestation(&self) -> bool {
        self.annotations.contains_key(REFERENCE_TYPE)
            || self
                .platform
                .as_ref()
                .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
    }

    /// Stored in another place (`urls`): not in the registry.
    pub fn is_foreign(&self) -> bool {
        !self.urls.is_empty()
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// `os/arch` or `os/arch/variant`.
    pub fn render(&self) -> String {
        match &self.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{v}", self.os, self.architecture),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }
}

/// What a manifest holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Multi-platform index (OCI index or Docker manifest list).
    Index { children: Vec<Descriptor> },
    /// Single image manifest (OCI or Docker schema 2).
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

impl Parsed {
    /// Blobs of an image manifest that live in the registry: the config, then every layer
    /// that is not foreign. Empty for an index.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        match self {
            Parsed::Index { .. } => Vec::new(),
            Parsed::Image { config, layers } => std::iter::once(config)
                .chain(layers.iter().filter(|l| !l.is_foreign()))
                .collect(),
        }
    }

    /// Entries of an index that are images (attestations left out); empty for an image.
    pub fn images(&self) -> Vec<&Descriptor> {
        match self {
            Parsed::Index { children } => children.iter().filter(|c| !c.is_attestation()).collect(),
            Parsed::Image { .. } => Vec::new(),
        }
    }
}

/// A manifest as served by a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// `sha256:…` of [`Self::bytes`], a digest the registry serves them under.
    pub digest: String,
    pub media_type: String,
    /// The exact bytes served.
    pub bytes: bytes::Bytes,
    pub parsed: Parsed,
}

impl Manifest {
    /// Parse `bytes`; `content_type` is what the registry sent (the body's own `mediaType`
    /// wins). The digest is computed here; whether the registry serves it is the caller's
    /// check (see `Registry::resolve`).
    pub fn from_bytes(bytes: bytes::Bytes, content_type: &str) -> Result<Self, ManifestError> {
        let (parsed, media_type) = parse(&bytes, content_type)?;
        Ok(Manifest {
            digest: sha256_digest(&bytes),
            media_type,
            bytes,
            parsed,
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ManifestError(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

/// Parse manifest bytes into what they hold and their media type. An index is a body whose
/// media type is an index type or that lists `manifests`; an image has a `config`.
pub fn parse(bytes: &[u8], content_type: &str) -> Result<(Parsed, String), ManifestError> {
    let raw: RawManifest =
        serde_json::from_slice(bytes).map_err(|e| ManifestError(e.to_string()))?;
    let media_type = raw
        .media_type
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            content_type
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        });
    if raw.manifests.is_some() || INDEX_TYPES.contains(&media_type.as_str()) {
        let children = raw.manifests.unwrap_or_default();
        return Ok((Parsed::Index { children }, media_type));
    }
    match raw.config {
        Some(config) => Ok((
            Parsed::Image {
                config,
                layers: raw.layers.unwrap_or_default(),
            },
            media_type,
        )),
        None => Err(ManifestError(
            "neither an index (manifests) nor an image manifest (config)".into(),
        )),
    }
}

/// Platforms an index lists for its images (attestations left out), sorted, distinct.
pub fn index_platforms(children: &[Descriptor]) -> Vec<String> {
    let mut out: Vec<String> = children
        .iter()
        .filter(|c| !c.is_attestation())
        .filter_map(|c| c.platform.as_ref())
        .map(Platform::render)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What berth learns from an image: for criteria, templates and the index record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageInfo {
    pub platforms: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub created: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawConfig {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    config: Option<RawConfigInner>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawConfigInner {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Labels, created time and platform of an image config blob. Absent fields are empty; a
/// config that is not a JSON object of the known field types is an error.
pub fn config_info(bytes: &[u8]) -> Result<ImageInfo, ManifestError> {
    let raw: RawConfig = serde_json::from_slice(bytes).map_err(|e| ManifestError(e.to_string()))?;
    let platforms = match (&raw.os, &raw.architecture) {
        (Some(os), Some(arch)) => vec![
            Platform {
                os: os.clone(),
                architecture: arch.clone(),
                variant: raw.variant.clone(),
            }
            .render(),
        ],
        _ => Vec::new(),
    };
    Ok(ImageInfo {
        platforms,
        labels: raw.config.and_then(|c| c.labels).unwrap_or_default(),
        created: raw.created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index_and_image() {
        let idx = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":10,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":11,"platform":{"os":"linux","architecture":"amd64"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","size":12,"platform":{"os":"unknown","architecture":"unknown"}}]}"#;
        let (p, mt) = parse(idx, "").unwrap();
        assert_eq!(mt, OCI_INDEX);
        let Parsed::Index { children } = &p else {
            panic!("index expected")
        };
        assert_eq!(
            index_platforms(children),
            vec!["linux/amd64", "linux/arm64/v8"]
        );
        assert!(p.blobs().is_empty());

        let img = br#"{"schemaVersion":2,"config":{"mediaType":"c","digest":"sha256:c1","size":5},
            "layers":[{"mediaType":"l","digest":"sha256:l1","size":7},
                      {"mediaType":"f","digest":"sha256:f1","size":9,"urls":["https://x"]}]}"#;
        let (p, mt) = parse(img, &format!("{DOCKER_MANIFEST}; charset=utf-8")).unwrap();
        assert_eq!(mt, DOCKER_MANIFEST);
        let blobs: Vec<&str> = p.blobs().iter().map(|d| d.digest.as_str()).collect();
        assert_eq!(blobs, vec!["sha256:c1", "sha256:l1"]);
        assert!(p.images().is_empty());
        assert!(parse(b"{}", "").is_err());
        assert!(parse(b"nope", "").is_err());
        // An index media type without entries is an empty index, not an error.
        assert_eq!(
            parse(
                br#"{"mediaType":"application/vnd.oci.image.index.v1+json"}"#,
                ""
            )
            .unwrap()
            .0,
            Parsed::Index { children: vec![] }
        );
    }

    /// One attestation rule: the annotation (with or without a platform) or `unknown/unknown`.
    #[test]
    fn attestations_are_not_images() {
        let idx = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a0","size":1,
             "annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"sha256:b0"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:b0","size":2,"platform":{"os":"linux","architecture":"amd64"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:c0","size":3,"platform":{"os":"unknown","architecture":"unknown"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:d0","size":4,"platform":{"os":"unknown","architecture":"amd64"}}]}"#;
        let (p, _) = parse(idx, "").unwrap();
        let images: Vec<&str> = p.images().iter().map(|d| d.digest.as_str()).collect();
        assert_eq!(images, vec!["sha256:b0", "sha256:d0"]);
        let Parsed::Index { children } = &p else {
            panic!("index expected")
        };
        assert_eq!(
            index_platforms(children),
            vec!["linux/amd64", "unknown/amd64"]
        );
        assert!(children[0].is_attestation() && children[2].is_attestation());
    }

    #[test]
    fn manifest_keeps_bytes_and_digest() {
        let bytes = bytes::Bytes::from_static(br#"{"manifests":[]}"#);
        let m = Manifest::from_bytes(bytes.clone(), DOCKER_LIST).unwrap();
        assert_eq!(m.bytes, bytes);
        assert_eq!(m.digest, sha256_digest(&bytes));
        assert_eq!(m.media_type, DOCKER_LIST);
    }

    #[test]
    fn config_labels_and_digest() {
        let cfg =
            br#"{"created":"2026-01-02T03:04:05Z","os":"linux","architecture":"arm","variant":"v7",
            "config":{"Labels":{"org.opencontainers.image.vendor":"acme"}}}"#;
        let info = config_info(cfg).unwrap();
        assert_eq!(info.platforms, vec!["linux/arm/v7"]);
        assert_eq!(info.labels["org.opencontainers.image.vendor"], "acme");
        assert_eq!(info.created.as_deref(), Some("2026-01-02T03:04:05Z"));
        assert_eq!(config_info(b"{}").unwrap(), ImageInfo::default());
        assert_eq!(
            config_info(br#"{"config":{"Labels":null}}"#).unwrap(),
            ImageInfo::default()
        );
        assert!(config_info(b"[1]").is_err());
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
