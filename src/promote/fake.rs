//! In-memory registry for unit tests of planning and copying (the real-registry tests are
//! in tests/promote_registry.rs). Counts every call so tests can assert what was (not)
//! requested.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use crate::promote::engine::{Fetched, PromoteError, Registry, Repo};
use crate::promote::oci::{self, Descriptor};

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
            urls: vec![],
            platform: None,
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

    pub fn tag_digest(&self, repo: &Repo, tag: &str) -> Option<String> {
        self.repos.borrow().get(repo)?.tags.get(tag).cloned()
    }
}

impl Registry for Fake {
    async fn repositories(&self, host: &str) -> Result<Vec<String>, PromoteError> {
        self.count("repositories");
        Ok(self
            .repos
            .borrow()
            .keys()
            .filter(|r| r.host == host)
            .map(|r| r.repository.clone())
            .collect())
    }
    async fn tags(&self, repo: &Repo) -> Result<Vec<String>, PromoteError> {
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
    ) -> Result<Option<String>, PromoteError> {
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
    ) -> Result<Option<Fetched>, PromoteError> {
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
        Ok(r.manifests.get(&d).map(|(mt, b)| Fetched {
            digest: d.clone(),
            media_type: mt.clone(),
            bytes: b.clone(),
        }))
    }
    async fn blob(&self, repo: &Repo, digest: &str) -> Result<Vec<u8>, PromoteError> {
        self.count("blob");
        self.repos
            .borrow()
            .get(repo)
            .and_then(|r| r.blobs.get(digest).cloned())
            .ok_or_else(|| PromoteError::NotFound {
                reference: format!("{repo}@{digest}"),
            })
    }
    async fn blob_exists(&self, repo: &Repo, digest: &str) -> Result<bool, PromoteError> {
        self.count("blob_exists");
        Ok(self
            .repos
            .borrow()
            .get(repo)
            .is_some_and(|r| r.blobs.contains_key(digest)))
    }
    async fn mount_blob(&self, to: &Repo, digest: &str, from: &Repo) -> Result<bool, PromoteError> {
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
    ) -> Result<(), PromoteError> {
        self.count("copy_blob");
        let b = self.blob(from, &blob.digest).await?;
        assert_eq!(oci::sha256_digest(&b), blob.digest);
        self.repos
            .borrow_mut()
            .entry(to.clone())
            .or_default()
            .blobs
            .insert(blob.digest.clone(), b);
        Ok(())
    }
    async fn put_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        mt: &str,
        bytes: &[u8],
    ) -> Result<(), PromoteError> {
        self.count("put_manifest");
        // A registry refuses a manifest whose blobs or children it does not have.
        let (parsed, _) = oci::parse(bytes, mt).unwrap();
        let repos = self.repos.borrow();
        let have = repos.get(repo);
        match &parsed {
            oci::Parsed::Index { children } => {
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
