//! Copy by digest, over a small registry interface.
//!
//! Input: a [`Registry`] (the real client in `registry_adapter.rs`, an in-memory one in
//! tests) and source/target repositories. Output: the target tag pointing at exactly the
//! source manifest bytes, and [`CopyStats`] saying how each blob got there.
//! Invariants: manifests are pushed byte-for-byte (their sha256 is checked against the
//! source digest before the push), children of an index before the index, blobs before the
//! manifest that references them. A blob already in the target repository is not touched; in
//! the same registry it is mounted from the source repository (no bytes move); otherwise it
//! is streamed and its digest checked by the registry client. Manifests fetched are cached
//! by digest for the whole session, so a digest seen under several tags is read once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures_util::future::try_join_all;

use crate::promote::oci::{self, Descriptor, ImageInfo, Parsed};

/// A repository on a registry host.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repo {
    pub host: String,
    pub repository: String,
}

impl Repo {
    pub fn new(host: &str, repository: &str) -> Self {
        Repo {
            host: host.to_string(),
            repository: repository.to_string(),
        }
    }
}

impl std::fmt::Display for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.host, self.repository)
    }
}

/// A manifest as served: exact bytes, their digest and media type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub digest: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    #[error("{0}")]
    Registry(String),
    #[error("{reference}: not found")]
    NotFound { reference: String },
    #[error("{reference}: registry served content with digest {actual}, expected {expected}")]
    DigestMismatch {
        reference: String,
        expected: String,
        actual: String,
    },
    #[error("{reference}: {message}")]
    Manifest { reference: String, message: String },
}

/// The registry operations promotion needs. Implementations handle auth, retries, limits,
/// pagination (`Link` headers, capped page sizes) and streaming.
#[allow(async_fn_in_trait)]
pub trait Registry {
    /// Every repository of a registry (`/v2/_catalog`, all pages).
    async fn repositories(&self, host: &str) -> Result<Vec<String>, PromoteError>;
    /// Every tag of a repository (all pages); empty when the repository does not exist.
    async fn tags(&self, repo: &Repo) -> Result<Vec<String>, PromoteError>;
    /// Digest a tag (or digest) resolves to (HEAD), `None` when it does not exist.
    async fn manifest_digest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<String>, PromoteError>;
    /// Manifest bytes by tag or digest, `None` when it does not exist.
    async fn manifest(&self, repo: &Repo, reference: &str)
    -> Result<Option<Fetched>, PromoteError>;
    /// A small blob (image config), read whole.
    async fn blob(&self, repo: &Repo, digest: &str) -> Result<Vec<u8>, PromoteError>;
    async fn blob_exists(&self, repo: &Repo, digest: &str) -> Result<bool, PromoteError>;
    /// Cross-repository mount within one registry; `false` when the registry declined.
    async fn mount_blob(&self, to: &Repo, digest: &str, from: &Repo) -> Result<bool, PromoteError>;
    /// Streamed copy of one blob, digest-checked, between any two repositories.
    async fn copy_blob(
        &self,
        from: &Repo,
        to: &Repo,
        blob: &Descriptor,
    ) -> Result<(), PromoteError>;
    /// Push manifest bytes under a tag or digest.
    async fn put_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), PromoteError>;
}

/// How the blobs and manifests of a run were moved.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CopyStats {
    pub manifests_pushed: u64,
    pub blobs_present: u64,
    pub blobs_mounted: u64,
    pub blobs_copied: u64,
    pub bytes_copied: u64,
}

/// One promotion session: a registry plus caches shared by planning and copying.
pub struct Session<'r, R: Registry> {
    pub reg: &'r R,
    manifests: RefCell<HashMap<String, Rc<Fetched>>>,
    infos: RefCell<HashMap<String, Rc<ImageInfo>>>,
    pub stats: RefCell<CopyStats>,
}

impl<'r, R: Registry> Session<'r, R> {
    pub fn new(reg: &'r R) -> Self {
        Session {
            reg,
            manifests: RefCell::new(HashMap::new()),
            infos: RefCell::new(HashMap::new()),
            stats: RefCell::new(CopyStats::default()),
        }
    }

    /// Manifest by digest, cached; the bytes are checked against the digest.
    pub async fn manifest_by_digest(
        &self,
        repo: &Repo,
        digest: &str,
    ) -> Result<Rc<Fetched>, PromoteError> {
        if let Some(m) = self.manifests.borrow().get(digest) {
            return Ok(m.clone());
        }
        let reference = format!("{repo}@{digest}");
        let m = self
            .reg
            .manifest(repo, digest)
            .await?
            .ok_or_else(|| PromoteError::NotFound {
                reference: reference.clone(),
            })?;
        let actual = oci::sha256_digest(&m.bytes);
        if actual != digest {
            return Err(PromoteError::DigestMismatch {
                reference,
                expected: digest.to_string(),
                actual,
            });
        }
        let m = Rc::new(Fetched {
            digest: digest.to_string(),
            ..m
        });
        self.manifests
            .borrow_mut()
            .insert(digest.to_string(), m.clone());
        Ok(m)
    }

    fn parse(&self, repo: &Repo, m: &Fetched) -> Result<Parsed, PromoteError> {
        oci::parse(&m.bytes, &m.media_type)
            .map(|(p, _)| p)
            .map_err(|e| PromoteError::Manifest {
                reference: format!("{repo}@{}", m.digest),
                message: e.to_string(),
            })
    }

    /// Platforms, labels and created time of an image or index, cached by digest. For an
    /// index the labels and created time come from its first real platform image (the
    /// platforms of one build share them).
    pub async fn info(&self, repo: &Repo, digest: &str) -> Result<Rc<ImageInfo>, PromoteError> {
        if let Some(i) = self.infos.borrow().get(digest) {
            return Ok(i.clone());
        }
        let m = self.manifest_by_digest(repo, digest).await?;
        let info = match self.parse(repo, &m)? {
            Parsed::Image { config, .. } => {
                let bytes = self.reg.blob(repo, &config.digest).await?;
                oci::config_info(&bytes).map_err(|e| PromoteError::Manifest {
                    reference: format!("{repo}@{}", config.digest),
                    message: e.to_string(),
                })?
            }
            Parsed::Index { children } => {
                let platforms = oci::index_platforms(&children);
                let first = children
                    .iter()
                    .find(|c| c.platform.as_ref().is_none_or(|p| p.os != "unknown"));
                let mut info = match first {
                    Some(c) => (*Box::pin(self.info(repo, &c.digest)).await?).clone(),
                    None => ImageInfo::default(),
                };
                info.platforms = platforms;
                info
            }
        };
        let info = Rc::new(info);
        self.infos
            .borrow_mut()
            .insert(digest.to_string(), info.clone());
        Ok(info)
    }

    /// Make the target tag point at the source digest: blobs, children, then the manifest.
    pub async fn copy(
        &self,
        from: &Repo,
        digest: &str,
        to: &Repo,
        tag: &str,
    ) -> Result<(), PromoteError> {
        self.copy_manifest(from, digest, to, tag).await
    }

    async fn copy_manifest(
        &self,
        from: &Repo,
        digest: &str,
        to: &Repo,
        reference: &str,
    ) -> Result<(), PromoteError> {
        let m = self.manifest_by_digest(from, digest).await?;
        match self.parse(from, &m)? {
            Parsed::Index { children } => {
                // Children are pushed by digest before the index that names them.
                try_join_all(children.iter().map(|c| async move {
                    if self.reg.manifest_digest(to, &c.digest).await?.is_some() {
                        return Ok(());
                    }
                    Box::pin(self.copy_manifest(from, &c.digest, to, &c.digest)).await
                }))
                .await?;
            }
            parsed @ Parsed::Image { .. } => {
                try_join_all(
                    parsed
                        .blobs()
                        .into_iter()
                        .map(|b| self.copy_blob(from, to, b)),
                )
                .await?;
            }
        }
        // The bytes were checked against `digest` when fetched; pushing them unchanged keeps
        // the digest, which is the whole point of a copy by digest.
        self.reg
            .put_manifest(to, reference, &m.media_type, &m.bytes)
            .await?;
        self.stats.borrow_mut().manifests_pushed += 1;
        Ok(())
    }

    async fn copy_blob(&self, from: &Repo, to: &Repo, b: &Descriptor) -> Result<(), PromoteError> {
        if self.reg.blob_exists(to, &b.digest).await? {
            self.stats.borrow_mut().blobs_present += 1;
            return Ok(());
        }
        if from.host == to.host && self.reg.mount_blob(to, &b.digest, from).await? {
            self.stats.borrow_mut().blobs_mounted += 1;
            return Ok(());
        }
        self.reg.copy_blob(from, to, b).await?;
        let mut s = self.stats.borrow_mut();
        s.blobs_copied += 1;
        s.bytes_copied += b.size;
        Ok(())
    }
}
