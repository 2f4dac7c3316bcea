//! The registry operations verification and promotion need ([`Api`]), over repositories
//! named with their host ([`Repo`]).
//!
//! Implementations: [`super::Live`] (berth's client, one per host, with credentials) and
//! `super::fake::Fake` (in memory, for unit tests of verify and promote).
//! Contract every implementation keeps:
//! - Something absent is `None`, `false` or an empty list — not an error.
//! - A [`Manifest`]'s `digest` is the sha256 of its exact bytes and one the registry serves
//!   them under (read by digest: that digest; read by tag: see `Registry::resolve`).
//! - Blobs read ([`Api::blob`]) or checked ([`Api::check_blob`]) are checked against their
//!   descriptor: digest and size.

use crate::registry::RegistryError;
use crate::registry::manifest::{Descriptor, Manifest};

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

/// What verify and promote ask of registries. Implementations handle auth, retries, limits,
/// pagination and streaming.
#[allow(async_fn_in_trait)]
pub trait Api {
    /// Every repository of a registry (`/v2/_catalog`, all pages).
    async fn repositories(&self, host: &str) -> Result<Vec<String>, RegistryError>;
    /// Every tag of a repository (all pages); empty when the repository does not exist.
    async fn tags(&self, repo: &Repo) -> Result<Vec<String>, RegistryError>;
    /// Digest a tag (or digest) points at, `None` when it does not exist.
    async fn manifest_digest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<String>, RegistryError>;
    /// A manifest by tag or digest, `None` when it does not exist.
    async fn manifest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError>;
    /// A small blob (an image config) read whole.
    async fn blob(&self, repo: &Repo, blob: &Descriptor) -> Result<bytes::Bytes, RegistryError>;
    /// The size the registry reports for a blob (`HEAD`; 0 when it reports none), `None`
    /// when the blob does not exist.
    async fn blob_size(&self, repo: &Repo, digest: &str) -> Result<Option<u64>, RegistryError>;
    /// Download a blob streamed, checking digest and size (`--verify full`).
    async fn check_blob(&self, repo: &Repo, blob: &Descriptor) -> Result<(), RegistryError>;
    /// Cross-repository mount within one registry; `false` when the registry declined.
    async fn mount_blob(&self, to: &Repo, digest: &str, from: &Repo)
    -> Result<bool, RegistryError>;
    /// Streamed copy of one blob, digest-checked, between any two repositories.
    async fn copy_blob(
        &self,
        from: &Repo,
        to: &Repo,
        blob: &Descriptor,
    ) -> Result<(), RegistryError>;
    /// Descriptors of the manifests whose `subject` is `digest` (OCI 1.1 referrers API),
    /// only those of `artifact_type` when given; `None` when the registry does not offer
    /// the API (the caller then reads the referrers tag schema).
    async fn referrers(
        &self,
        repo: &Repo,
        digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Descriptor>>, RegistryError>;
    /// Push manifest bytes under a tag or digest.
    async fn put_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), RegistryError>;
}
