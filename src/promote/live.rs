//! The promotion [`Registry`] interface over berth's registry client (`crate::registry`).
//!
//! Input: berth.yaml (per-host limits, credentials) and the credential names policies give
//! for their source and target hosts. Output: one client per host, sharing request counters
//! ([`Stats`]). Mapping: 404s become "absent" (`None`, `false`, empty lists); everything else
//! is an error carrying the client's message (never a secret).
//! Blob copy between registries (or when a mount is refused) streams the blob from source to
//! target in chunks; the client checks digest and size before committing the upload, and
//! the registry checks the digest again on commit.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::model::Config;
use crate::promote::engine::{Fetched, PromoteError, Registry, Repo};
use crate::promote::oci::Descriptor;
use crate::registry::{self as client, Endpoint, Limits, RegistryError, Stats};

/// Clients for every host a run touches.
pub struct Live {
    config: Config,
    /// Credential name per host (from the policies / the manual promotion).
    credentials: BTreeMap<String, Option<String>>,
    pub stats: Arc<Stats>,
    clients: RefCell<HashMap<String, client::Registry>>,
}

fn err(e: RegistryError) -> PromoteError {
    PromoteError::Registry(e.to_string())
}

fn absent(e: &RegistryError) -> bool {
    matches!(
        e,
        RegistryError::ManifestUnknown { .. }
            | RegistryError::NameUnknown { .. }
            | RegistryError::BlobUnknown { .. }
    )
}

impl Live {
    pub fn new(config: &Config, credentials: BTreeMap<String, Option<String>>) -> Self {
        Live {
            config: config.clone(),
            credentials,
            stats: Arc::new(Stats::default()),
            clients: RefCell::new(HashMap::new()),
        }
    }

    fn client(&self, host: &str) -> Result<client::Registry, PromoteError> {
        if let Some(c) = self.clients.borrow().get(host) {
            return Ok(c.clone());
        }
        let limits = Limits::for_host(self.config.registries.get(host).map(|c| &c.value));
        let ep = Endpoint::new(host, limits, self.stats.clone()).map_err(err)?;
        let name = self.credentials.get(host).cloned().flatten();
        let cred = crate::registry::credentials::resolve(name.as_deref(), &self.config, host)
            .map_err(PromoteError::Registry)?;
        let c = client::Registry::new(ep, cred);
        self.clients
            .borrow_mut()
            .insert(host.to_string(), c.clone());
        Ok(c)
    }

    /// Largest `maxConcurrency` of the hosts involved (default of the client otherwise).
    pub fn concurrency(&self, host: &str) -> usize {
        Limits::for_host(self.config.registries.get(host).map(|c| &c.value)).max_concurrency
    }
}

impl Registry for Live {
    async fn repositories(&self, host: &str) -> Result<Vec<String>, PromoteError> {
        self.client(host)?.catalog().await.map_err(err)
    }

    async fn tags(&self, repo: &Repo) -> Result<Vec<String>, PromoteError> {
        match self.client(&repo.host)?.list_tags(&repo.repository).await {
            Ok(t) => Ok(t),
            Err(e) if absent(&e) => Ok(Vec::new()),
            Err(e) => Err(err(e)),
        }
    }

    async fn manifest_digest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<String>, PromoteError> {
        let c = self.client(&repo.host)?;
        match c.head_manifest(&repo.repository, reference).await {
            Ok(Some(d)) => Ok(Some(d)),
            // Found but no Docker-Content-Digest header: read it to learn the digest.
            Ok(None) => Ok(self.manifest(repo, reference).await?.map(|m| m.digest)),
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn manifest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<Fetched>, PromoteError> {
        match self
            .client(&repo.host)?
            .resolve(&repo.repository, reference)
            .await
        {
            Ok(m) => Ok(Some(Fetched {
                digest: m.digest,
                media_type: m.media_type,
                bytes: m.bytes.to_vec(),
            })),
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn blob(&self, repo: &Repo, digest: &str) -> Result<Vec<u8>, PromoteError> {
        self.client(&repo.host)?
            .get_blob(&repo.repository, digest)
            .await
            .map(|b| b.to_vec())
            .map_err(err)
    }

    async fn blob_exists(&self, repo: &Repo, digest: &str) -> Result<bool, PromoteError> {
        match self
            .client(&repo.host)?
            .head_blob(&repo.repository, digest)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if absent(&e) => Ok(false),
            Err(e) => Err(err(e)),
        }
    }

    async fn mount_blob(&self, to: &Repo, digest: &str, from: &Repo) -> Result<bool, PromoteError> {
        self.client(&to.host)?
            .mount_blob(&to.repository, digest, &from.repository)
            .await
            .map_err(err)
    }

    async fn copy_blob(
        &self,
        from: &Repo,
        to: &Repo,
        blob: &Descriptor,
    ) -> Result<(), PromoteError> {
        // Streamed: a layer can be gigabytes, so it is never held whole (see
        // `client::copy_blob_streamed`: digest and size checked before the upload commits).
        let src = self.client(&from.host)?;
        let dst = self.client(&to.host)?;
        client::copy_blob_streamed(
            &src,
            &from.repository,
            &dst,
            &to.repository,
            &blob.digest,
            blob.size,
        )
        .await
        .map_err(|e| match e {
            RegistryError::DigestMismatch {
                expected, actual, ..
            } => PromoteError::DigestMismatch {
                reference: format!("{from}@{}", blob.digest),
                expected,
                actual,
            },
            e => err(e),
        })
    }

    async fn put_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), PromoteError> {
        self.client(&repo.host)?
            .put_manifest(
                &repo.repository,
                reference,
                media_type,
                bytes::Bytes::copy_from_slice(bytes),
            )
            .await
            .map(|_| ())
            .map_err(err)
    }
}
