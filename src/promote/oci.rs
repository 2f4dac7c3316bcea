//! The parts of OCI / Docker v2 manifests that promotion needs.
//!
//! Input: manifest and config bytes as served by a registry. Output: [`Parsed`] (an index
//! with its children and their platforms, or an image with its config and layers) and the
//! [`ImageInfo`] criteria look at (platforms, labels, created). Manifest bytes are never
//! re-serialized: a copy pushes the exact bytes, so the digest stays the same.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Media types sent in `Accept` when reading manifests.
pub const ACCEPT: &[&str] = &[OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let mut s = String::from("sha256:");
    for b in Sha256::digest(bytes) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A content descriptor.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
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
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    pub fn render(&self) -> String {
        match &self.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{v}", self.os, self.architecture),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }
}

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

/// A parsed manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Multi-arch index / manifest list.
    Index { children: Vec<Descriptor> },
    /// Single-platform image.
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

impl Parsed {
    /// Blobs an image manifest references (config first); empty for an index.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        match self {
            Parsed::Index { .. } => Vec::new(),
            Parsed::Image { config, layers } => std::iter::once(config)
                .chain(layers.iter().filter(|l| l.urls.is_empty()))
                .collect(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid manifest: {0}")]
pub struct ManifestError(pub String);

/// Parse manifest bytes; `media_type` is the `Content-Type` the registry sent (the body's
/// own `mediaType` wins when present).
pub fn parse(bytes: &[u8], media_type: &str) -> Result<(Parsed, String), ManifestError> {
    let raw: RawManifest =
        serde_json::from_slice(bytes).map_err(|e| ManifestError(e.to_string()))?;
    let mt = raw
        .media_type
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| media_type.to_string());
    if let Some(children) = raw.manifests {
        return Ok((Parsed::Index { children }, mt));
    }
    match raw.config {
        Some(config) => Ok((
            Parsed::Image {
                config,
                layers: raw.layers.unwrap_or_default(),
            },
            mt,
        )),
        None => Err(ManifestError(
            "neither an index (manifests) nor an image manifest (config)".into(),
        )),
    }
}

/// What criteria and templates learn from an image.
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

/// Labels, created time and platform of an image config blob.
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

/// Platforms listed by an index, without attestation entries (`unknown/unknown`).
pub fn index_platforms(children: &[Descriptor]) -> Vec<String> {
    let mut out: Vec<String> = children
        .iter()
        .filter_map(|c| c.platform.as_ref())
        .filter(|p| p.os != "unknown")
        .map(Platform::render)
        .collect();
    out.sort();
    out.dedup();
    out
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
        let (p, mt) = parse(img, DOCKER_MANIFEST).unwrap();
        assert_eq!(mt, DOCKER_MANIFEST);
        let blobs: Vec<&str> = p.blobs().iter().map(|d| d.digest.as_str()).collect();
        assert_eq!(blobs, vec!["sha256:c1", "sha256:l1"]);
        assert!(parse(b"{}", "").is_err());
        assert!(parse(b"nope", "").is_err());
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
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
