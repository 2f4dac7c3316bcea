//! Copy by digest, over the registry [`Api`].
//!
//! Input: an [`Api`] (`crate::registry::Live` for real registries, the in-memory fake in
//! tests) and source/target repositories. Output: the target tag pointing at exactly the
//! source manifest bytes, and [`CopyStats`] saying how each blob got there.
//! Invariants: manifests are pushed byte-for-byte (their sha256 is checked against the
//! source digest before the push), children of an index before the index, blobs before the
//! manifest that references them. A blob already in the target repository is not touched; in
//! the same registry it is mounted from the source repository (no bytes move); otherwise it
//! is streamed and its digest checked by the registry client. Manifests fetched are cached
//! by digest for the whole session, so a digest seen under several tags is read once; a blob
//! is put into a target repository once per session — concurrent promotions sharing it wait
//! for the first (docker-registry 2.8 answers 500 or DIGEST_INVALID while one blob is linked
//! concurrently into one repository).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use futures_util::future::try_join_all;

use crate::model::progress::Handle;

use crate::registry::manifest::{config_info, index_platforms, sha256_digest};
use crate::registry::{Api, Descriptor, ImageInfo, Manifest, Parsed, RegistryError, Repo, Stats};

#[derive(Clone, Debug, thiserror::Error)]
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

impl From<RegistryError> for PromoteError {
    fn from(e: RegistryError) -> Self {
        PromoteError::Registry(e.to_string())
    }
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
    /// Digests whose attached artefacts (signatures, SBOMs, reports) were looked up.
    pub referrer_lookups: u64,
    /// Artefacts copied with their images.
    pub artefacts_copied: u64,
    /// Artefacts the target already had.
    pub artefacts_present: u64,
}

/// One promotion session: a registry plus caches shared by planning and copying.
pub struct Session<'r, R: Api> {
    pub reg: &'r R,
    pub(super) manifests: RefCell<HashMap<String, Rc<Manifest>>>,
    infos: RefCell<HashMap<String, Rc<ImageInfo>>>,
    /// One copy (or mount, or presence check) per blob and target repository: concurrent
    /// promotions sharing a blob (a base layer, the empty config of every artefact) wait for
    /// the first instead of racing it — registries mis-answer concurrent links of one blob.
    blobs: RefCell<HashMap<(Repo, String), Rc<BlobCell>>>,
    pub stats: RefCell<CopyStats>,
    /// Where planning ("planning promotions": candidates checked) and copying ("copying":
    /// images copied) report progress; silent unless [`Session::with_progress`] set it.
    pub progress: Handle,
    /// The registry client's request counters, for the retry count progress shows.
    requests: Option<Arc<Stats>>,
}

type BlobCell = tokio::sync::OnceCell<Result<(), PromoteError>>;

impl<'r, R: Api> Session<'r, R> {
    pub fn new(reg: &'r R) -> Self {
        Session {
            reg,
            manifests: RefCell::new(HashMap::new()),
            infos: RefCell::new(HashMap::new()),
            blobs: RefCell::new(HashMap::new()),
            stats: RefCell::new(CopyStats::default()),
            progress: Handle::default(),
            requests: None,
        }
    }

    /// Report progress to `progress`, with the retries `requests` counts.
    pub fn with_progress(mut self, progress: Handle, requests: Arc<Stats>) -> Self {
        self.progress = progress;
        self.requests = Some(requests);
        self
    }

    /// One more item of the current stage is done.
    pub fn advance(&self) {
        let retries = self.requests.as_ref().map_or(0, |s| s.retries());
        self.progress.advance(1, retries);
    }

    /// Manifest by digest, cached; the bytes are checked against the digest.
    pub async fn manifest_by_digest(
        &self,
        repo: &Repo,
        digest: &str,
    ) -> Result<Rc<Manifest>, PromoteError> {
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
        let actual = sha256_digest(&m.bytes);
        if actual != digest {
            return Err(PromoteError::DigestMismatch {
                reference,
                expected: digest.to_string(),
                actual,
            });
        }
        let m = Rc::new(m);
        self.manifests
            .borrow_mut()
            .insert(digest.to_string(), m.clone());
        Ok(m)
    }

    /// Platforms, labels and created time of an image or index, cached by digest. For an
    /// index the labels and created time come from its first image (attestations are not
    /// images: see `crate::registry::manifest`); the platforms of one build share them.
    pub async fn info(&self, repo: &Repo, digest: &str) -> Result<Rc<ImageInfo>, PromoteError> {
        if let Some(i) = self.infos.borrow().get(digest) {
            return Ok(i.clone());
        }
        let m = self.manifest_by_digest(repo, digest).await?;
        let info = match &m.parsed {
            Parsed::Image { config, .. } => {
                let bytes = self.reg.blob(repo, config).await?;
                config_info(&bytes).map_err(|e| PromoteError::Manifest {
                    reference: format!("{repo}@{}", config.digest),
                    message: e.to_string(),
                })?
            }
            Parsed::Index { children } => {
                let mut info = match m.parsed.images().first() {
                    Some(c) => (*Box::pin(self.info(repo, &c.digest)).await?).clone(),
                    None => ImageInfo::default(),
                };
                info.platforms = index_platforms(children);
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

    pub(super) async fn copy_manifest(
        &self,
        from: &Repo,
        digest: &str,
        to: &Repo,
        reference: &str,
    ) -> Result<(), PromoteError> {
        let m = self.manifest_by_digest(from, digest).await?;
        match &m.parsed {
            Parsed::Index { children } => {
                // Children (attestations included: the index names them) are pushed by
                // digest before the index that names them.
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

    /// Put blob `b` into `to`, once per session (see the `blobs` field); a caller that
    /// waited for another's copy counts the blob as present.
    async fn copy_blob(&self, from: &Repo, to: &Repo, b: &Descriptor) -> Result<(), PromoteError> {
        let cell = self
            .blobs
            .borrow_mut()
            .entry((to.clone(), b.digest.clone()))
            .or_default()
            .clone();
        let mut first = false;
        let r = cell
            .get_or_init(|| {
                first = true;
                self.copy_blob_once(from, to, b)
            })
            .await
            .clone();
        if !first && r.is_ok() {
            self.stats.borrow_mut().blobs_present += 1;
        }
        r
    }

    async fn copy_blob_once(
        &self,
        from: &Repo,
        to: &Repo,
        b: &Descriptor,
    ) -> Result<(), PromoteError> {
        if self.reg.blob_size(to, &b.digest).await?.is_some() {
            self.stats.borrow_mut().blobs_present += 1;
            return Ok(());
        }
        if from.host == to.host && self.reg.mount_blob(to, &b.digest, from).await? {
            self.stats.borrow_mut().blobs_mounted += 1;
            return Ok(());
        }
        self.reg.copy_blob(from, to, b).await.map_err(|e| match e {
            RegistryError::DigestMismatch {
                expected, actual, ..
            } => PromoteError::DigestMismatch {
                reference: format!("{from}@{}", b.digest),
                expected,
                actual,
            },
            e => e.into(),
        })?;
        let mut s = self.stats.borrow_mut();
        s.blobs_copied += 1;
        s.bytes_copied += b.size;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::fake::Fake;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn index_info_comes_from_its_first_image_not_an_attestation() {
        let f = Fake::default();
        let repo = Repo::new("reg.test", "dev/app");
        let (idx, _, _) = f.attested_index(&repo, "1");
        let sess = Session::new(&f);
        let info = block(sess.info(&repo, &idx)).unwrap();
        assert_eq!(info.platforms, vec!["linux/amd64"]);
        assert_eq!(
            info.labels,
            [("vendor".to_string(), "acme".to_string())].into()
        );
    }

    #[test]
    fn index_copy_takes_its_attestations_along() {
        let f = Fake::default();
        let dev = Repo::new("reg.test", "dev/app");
        let qa = Repo::new("reg.test", "qa/app");
        let (idx, img, att) = f.attested_index(&dev, "1");
        let sess = Session::new(&f);
        block(sess.copy(&dev, &idx, &qa, "1")).unwrap();
        assert_eq!(f.tag_digest(&qa, "1"), Some(idx));
        let repos = f.repos.borrow();
        assert!(repos[&qa].manifests.contains_key(&img));
        assert!(repos[&qa].manifests.contains_key(&att));
    }

    #[test]
    fn corrupted_blob_is_a_digest_mismatch_of_the_source() {
        let f = Fake::default();
        let dev = Repo::new("a.test", "dev/app");
        let prod = Repo::new("b.test", "prod/app");
        let d = f.image(&dev, Some("1"), "x", &[], "linux/amd64");
        let m = block(f.manifest(&dev, &d)).unwrap().unwrap();
        let Parsed::Image { layers, .. } = &m.parsed else {
            panic!("image expected")
        };
        let layer = layers[0].clone();
        let mut bad = f.repos.borrow()[&dev].blobs[&layer.digest].clone();
        bad[0] ^= 0xff;
        f.corrupt_blob(&dev, &layer.digest, &bad);
        let err = block(Session::new(&f).copy(&dev, &d, &prod, "1")).unwrap_err();
        assert!(
            matches!(&err, PromoteError::DigestMismatch { reference, expected, .. }
                if *reference == format!("{dev}@{}", layer.digest) && *expected == layer.digest),
            "{err}"
        );
        assert_eq!(f.tag_digest(&prod, "1"), None);
    }
}
