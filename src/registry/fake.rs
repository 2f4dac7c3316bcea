//! In-memory [`Api`] for unit tests of verification, planning and copying (the
//! real-registry tests are tests/registry_*.rs and tests/promote_*.rs). Counts every call
//! (by method name) so tests can assert what was (not) requested.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use crate::registry::RegistryError;
use crate::registry::api::{Api, Repo};
use crate::registry::manifest::{self as oci, Descriptor, Manifest, Parsed};

#[derive(Default)]
pub struct RepoData {
    pub tags: BTreeMap<String, String>,
    pub manifests: HashMap<String, (String, Vec<u8>)>,
    pub blobs: HashMap<String, Vec<u8>>,
}

#[derive(Default)]
pub struct Fake {
    pub repos: RefCell<BTreeMap<Repo, RepoData>>,
    pub calls: RefCell<BTreeMap<&'static str, u64>>,
    /// Answer `referrers` with `None`, as a registry without the OCI 1.1 API does.
    pub no_referrers_api: std::cell::Cell<bool>,
}

impl Fake {
    fn count(&self, what: &'static str) {
        *self.calls.borrow_mut().entry(what).or_default() += 1;
    }
    pub fn calls(&self, what: &str) -> u64 {
        self.calls.borrow().get(what).copied().unwrap_or(0)
    }

    pub fn put_blob(&self, repo: &Repo, bytes: &[u8]) -> Descriptor {
        let d = oci::sha256_digest(bytes);
        self.repos
            .borrow_mut()
            .entry(repo.clone())
            .or_default()
            .blobs
            .insert(d.clone(), bytes.to_vec());
        Descriptor {
            media_type: "application/octet-stream".into(),
            digest: d,
            size: bytes.len() as u64,
            ..Descriptor::default()
        }
    }

    pub fn put_raw_manifest(
        &self,
        repo: &Repo,
        tag: Option<&str>,
        mt: &str,
        bytes: &[u8],
    ) -> String {
        let d = oci::sha256_digest(bytes);
        let mut repos = self.repos.borrow_mut();
        let r = repos.entry(repo.clone()).or_default();
        r.manifests
            .insert(d.clone(), (mt.to_string(), bytes.to_vec()));
        if let Some(t) = tag {
            r.tags.insert(t.to_string(), d.clone());
        }
        d
    }

    /// A single-platform image with one layer; returns its digest.
    pub fn image(
        &self,
        repo: &Repo,
        tag: Option<&str>,
        seed: &str,
        labels: &[(&str, &str)],
        platform: &str,
    ) -> String {
        let (os, arch) = platform.split_once('/').unwrap();
        let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
        let cfg = serde_json::json!({"os": os, "architecture": arch, "created": "2026-01-01T00:00:00Z",
            "config": {"Labels": labels}, "rootfs": {"type": "layers", "diff_ids": []}});
        let cfg = self.put_blob(repo, cfg.to_string().as_bytes());
        let layer = self.put_blob(repo, format!("layer of {seed}").as_bytes());
        let m = serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg.digest, "size": cfg.size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer.digest, "size": layer.size}]});
        self.put_raw_manifest(repo, tag, oci::OCI_MANIFEST, m.to_string().as_bytes())
    }

    /// A multi-arch index over fresh images for `platforms`.
    pub fn index(
        &self,
        repo: &Repo,
        tag: &str,
        seed: &str,
        labels: &[(&str, &str)],
        platforms: &[&str],
    ) -> String {
        let children: Vec<serde_json::Value> = platforms
            .iter()
            .map(|p| {
                let d = self.image(repo, None, &format!("{seed}-{p}"), labels, p);
                let size = self.repos.borrow()[repo].manifests[&d].1.len();
                let (os, arch) = p.split_once('/').unwrap();
                serde_json::json!({"mediaType": oci::OCI_MANIFEST, "digest": d, "size": size,
                    "platform": {"os": os, "architecture": arch}})
            })
            .collect();
        let idx = serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_INDEX, "manifests": children});
        self.put_raw_manifest(repo, Some(tag), oci::OCI_INDEX, idx.to_string().as_bytes())
    }

    /// A BuildKit-style index under `tag`: an attestation entry first (annotated, no
    /// platform; its manifest a stored `unknown/unknown` image without labels), then a
    /// `linux/amd64` image labelled `vendor=acme`. Returns (index, image, attestation)
    /// digests.
    pub fn attested_index(&self, repo: &Repo, tag: &str) -> (String, String, String) {
        let att = self.image(repo, None, "provenance", &[], "unknown/unknown");
        let img = self.image(repo, None, "app", &[("vendor", "acme")], "linux/amd64");
        let len = |d: &str| self.repos.borrow()[repo].manifests[d].1.len();
        let idx = serde_json::json!({"schemaVersion": 2, "mediaType": oci::OCI_INDEX, "manifests": [
            {"mediaType": oci::OCI_MANIFEST, "digest": att, "size": len(&att),
             "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                             "vnd.docker.reference.digest": img}},
            {"mediaType": oci::OCI_MANIFEST, "digest": img, "size": len(&img),
             "platform": {"os": "linux", "architecture": "amd64"}},
        ]});
        let d = self.put_raw_manifest(repo, Some(tag), oci::OCI_INDEX, idx.to_string().as_bytes());
        (d, img, att)
    }

    pub fn tag_digest(&self, repo: &Repo, tag: &str) -> Option<String> {
        self.repos.borrow().get(repo)?.tags.get(tag).cloned()
    }

    /// Replace a stored blob's bytes (a registry serving corrupted content).
    pub fn corrupt_blob(&self, repo: &Repo, digest: &str, bytes: &[u8]) {
        self.repos
            .borrow_mut()
            .get_mut(repo)
            .expect("repository")
            .blobs
            .insert(digest.to_string(), bytes.to_vec());
    }

    fn stored(&self, repo: &Repo, digest: &str) -> Result<Vec<u8>, RegistryError> {
        self.repos
            .borrow()
            .get(repo)
            .and_then(|r| r.blobs.get(digest).cloned())
            .ok_or_else(|| RegistryError::BlobUnknown {
                digest: digest.to_string(),
            })
    }
}

/// The checks a real download makes: size, then digest.
fn check(blob: &Descriptor, bytes: &[u8]) -> Result<(), RegistryError> {
    let mut d = crate::registry::Digester::new(&blob.digest, blob.size);
    d.update(bytes)?;
    d.finish()
}

impl Api for Fake {
    async fn repositories(&self, host: &str) -> Result<Vec<String>, RegistryError> {
        self.count("repositories");
        Ok(self
            .repos
            .borrow()
            .keys()
            .filter(|r| r.host == host)
            .map(|r| r.repository.clone())
            .collect())
    }
    async fn tags(&self, repo: &Repo) -> Result<Vec<String>, RegistryError> {
        self.count("tags");
        Ok(self
            .repos
            .borrow()
            .get(repo)
            .map(|r| r.tags.keys().cloned().collect())
            .unwrap_or_default())
    }
    async fn manifest_digest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        self.count("manifest_digest");
        let repos = self.repos.borrow();
        let Some(r) = repos.get(repo) else {
            return Ok(None);
        };
        if reference.starts_with("sha256:") {
            return Ok(r
                .manifests
                .contains_key(reference)
                .then(|| reference.to_string()));
        }
        Ok(r.tags.get(reference).cloned())
    }
    async fn manifest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        self.count("manifest");
        let repos = self.repos.borrow();
        let Some(r) = repos.get(repo) else {
            return Ok(None);
        };
        let d = if reference.starts_with("sha256:") {
            reference.to_string()
        } else {
            match r.tags.get(reference) {
                Some(d) => d.clone(),
                None => return Ok(None),
            }
        };
        r.manifests
            .get(&d)
            .map(|(mt, b)| {
                Manifest::from_bytes(bytes::Bytes::from(b.clone()), mt).map_err(|e| {
                    RegistryError::InvalidManifest {
                        reference: format!("{repo}@{d}"),
                        message: e.0,
                    }
                })
            })
            .transpose()
    }
    async fn blob(&self, repo: &Repo, blob: &Descriptor) -> Result<bytes::Bytes, RegistryError> {
        self.count("blob");
        let b = self.stored(repo, &blob.digest)?;
        check(blob, &b)?;
        Ok(bytes::Bytes::from(b))
    }
    async fn blob_size(&self, repo: &Repo, digest: &str) -> Result<Option<u64>, RegistryError> {
        self.count("blob_size");
        Ok(self
            .repos
            .borrow()
            .get(repo)
            .and_then(|r| r.blobs.get(digest))
            .map(|b| b.len() as u64))
    }
    async fn check_blob(&self, repo: &Repo, blob: &Descriptor) -> Result<(), RegistryError> {
        self.count("check_blob");
        check(blob, &self.stored(repo, &blob.digest)?)
    }
    async fn mount_blob(
        &self,
        to: &Repo,
        digest: &str,
        from: &Repo,
    ) -> Result<bool, RegistryError> {
        self.count("mount_blob");
        let b = self
            .repos
            .borrow()
            .get(from)
            .and_then(|r| r.blobs.get(digest).cloned());
        match b {
            Some(b) => {
                self.repos
                    .borrow_mut()
                    .entry(to.clone())
                    .or_default()
                    .blobs
                    .insert(digest.to_string(), b);
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn copy_blob(
        &self,
        from: &Repo,
        to: &Repo,
        blob: &Descriptor,
    ) -> Result<(), RegistryError> {
        self.count("copy_blob");
        let b = self.stored(from, &blob.digest)?;
        check(blob, &b)?;
        self.repos
            .borrow_mut()
            .entry(to.clone())
            .or_default()
            .blobs
            .insert(blob.digest.clone(), b);
        Ok(())
    }
    async fn referrers(
        &self,
        repo: &Repo,
        digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Descriptor>>, RegistryError> {
        self.count("referrers");
        if self.no_referrers_api.get() {
            return Ok(None);
        }
        let repos = self.repos.borrow();
        let Some(r) = repos.get(repo) else {
            return Ok(Some(Vec::new()));
        };
        let mut out = Vec::new();
        for (d, (mt, bytes)) in &r.manifests {
            let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
            if v["subject"]["digest"].as_str() != Some(digest) {
                continue;
            }
            // As the spec says: the manifest's artifactType, else its config's media type.
            let at = v["artifactType"]
                .as_str()
                .or(v["config"]["mediaType"].as_str())
                .map(str::to_string);
            if artifact_type.is_some_and(|t| at.as_deref() != Some(t)) {
                continue;
            }
            let annotations = serde_json::from_value(v["annotations"].clone()).unwrap_or_default();
            out.push(Descriptor {
                media_type: mt.clone(),
                digest: d.clone(),
                size: bytes.len() as u64,
                artifact_type: at,
                annotations,
                ..Descriptor::default()
            });
        }
        Ok(Some(out))
    }
    async fn put_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        mt: &str,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        self.count("put_manifest");
        // A registry refuses a manifest whose blobs or children it does not have.
        let (parsed, _) = oci::parse(bytes, mt).unwrap();
        let repos = self.repos.borrow();
        let have = repos.get(repo);
        match &parsed {
            Parsed::Index { children } => {
                for c in children {
                    assert!(
                        have.is_some_and(|r| r.manifests.contains_key(&c.digest)),
                        "child {} missing",
                        c.digest
                    );
                }
            }
            p => {
                for b in p.blobs() {
                    assert!(
                        have.is_some_and(|r| r.blobs.contains_key(&b.digest)),
                        "blob {} missing",
                        b.digest
                    );
                }
            }
        }
        drop(repos);
        let tag = (!reference.starts_with("sha256:")).then_some(reference);
        self.put_raw_manifest(repo, tag, mt, bytes);
        Ok(())
    }
}
