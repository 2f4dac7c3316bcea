//! [`Live`]: the [`Api`] over berth's registry client, for every host a run touches.
//!
//! Input: berth.yaml (per-host limits, credentials) and which credential each host uses —
//! by host (promotion policies name one per source and target registry) or one for all
//! ([`Live::with_credential`]: a verified reference names its own). Output: one client per
//! host, created on first use.
//! Invariants: all views made from one [`Live`] share one [`Endpoint`] per host — so a
//! host's `maxConcurrency` and `requestsPerSecond` hold across credentials — and one
//! [`Stats`]. A credential is resolved once per view and host (a docker credential helper
//! runs once), and a failure to get one is that host's error for every call. 404s map to
//! "absent" as [`Api`] says; everything else is the client's error.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::model::Config;
use crate::registry::api::{Api, Repo};
use crate::registry::manifest::{Descriptor, Manifest};
use crate::registry::{Endpoint, Limits, Registry, RegistryError, Stats, copy_blob_streamed};

/// Clients for every host a run touches.
pub struct Live {
    config: Arc<Config>,
    /// Credential name per host.
    credentials: BTreeMap<String, Option<String>>,
    /// Credential name of hosts `credentials` does not name.
    fallback: Option<String>,
    pub stats: Arc<Stats>,
    endpoints: Arc<Mutex<HashMap<String, Arc<Endpoint>>>>,
    clients: RefCell<HashMap<String, Result<Registry, RegistryError>>>,
}

/// `None` for "absent" errors.
fn absent<T>(r: Result<T, RegistryError>) -> Result<Option<T>, RegistryError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_absent() => Ok(None),
        Err(e) => Err(e),
    }
}

impl Live {
    /// Clients configured by `config`, each host acting as the credential `credentials`
    /// names for it (anonymous when unnamed).
    pub fn new(config: &Config, credentials: BTreeMap<String, Option<String>>) -> Self {
        Live {
            config: Arc::new(config.clone()),
            credentials,
            fallback: None,
            stats: Arc::new(Stats::default()),
            endpoints: Arc::new(Mutex::new(HashMap::new())),
            clients: RefCell::new(HashMap::new()),
        }
    }

    /// A view where every host acts as the credential `name`, sharing this one's endpoints
    /// and counters.
    pub fn with_credential(&self, name: Option<&str>) -> Self {
        Live {
            config: self.config.clone(),
            credentials: BTreeMap::new(),
            fallback: name.map(str::to_string),
            stats: self.stats.clone(),
            endpoints: self.endpoints.clone(),
            clients: RefCell::new(HashMap::new()),
        }
    }

    /// A view over one ready client (its host only), e.g. for library callers that build
    /// their own [`Endpoint`].
    pub fn with_client(client: Registry) -> Self {
        let host = client.endpoint().host().to_string();
        let live = Live::new(&Config::default(), BTreeMap::new());
        live.endpoints
            .lock()
            .expect("endpoints lock")
            .insert(host.clone(), client.endpoint().clone());
        live.clients.borrow_mut().insert(host, Ok(client));
        live
    }

    fn client(&self, host: &str) -> Result<Registry, RegistryError> {
        if let Some(c) = self.clients.borrow().get(host) {
            return c.clone();
        }
        let made = self.make_client(host);
        self.clients
            .borrow_mut()
            .insert(host.to_string(), made.clone());
        made
    }

    fn make_client(&self, host: &str) -> Result<Registry, RegistryError> {
        let endpoint = {
            let mut eps = self.endpoints.lock().expect("endpoints lock");
            match eps.get(host) {
                Some(ep) => ep.clone(),
                None => {
                    let cfg = self.config.registries.get(host).map(|c| &c.value);
                    let ep = Endpoint::new(host, Limits::for_host(cfg), self.stats.clone())?;
                    eps.insert(host.to_string(), ep.clone());
                    ep
                }
            }
        };
        let name = match self.credentials.get(host) {
            Some(n) => n.clone(),
            None => self.fallback.clone(),
        };
        let cred = crate::registry::credentials::resolve(name.as_deref(), &self.config, host)
            .map_err(RegistryError::Credential)?;
        Ok(Registry::new(endpoint, cred))
    }
}

impl Api for Live {
    async fn repositories(&self, host: &str) -> Result<Vec<String>, RegistryError> {
        self.client(host)?.catalog().await
    }

    async fn tags(&self, repo: &Repo) -> Result<Vec<String>, RegistryError> {
        let c = self.client(&repo.host)?;
        Ok(absent(c.list_tags(&repo.repository).await)?.unwrap_or_default())
    }

    async fn manifest_digest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        let c = self.client(&repo.host)?;
        Ok(absent(c.head_manifest(&repo.repository, reference).await)?.flatten())
    }

    async fn manifest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let c = self.client(&repo.host)?;
        absent(c.resolve(&repo.repository, reference).await)
    }

    async fn blob(&self, repo: &Repo, blob: &Descriptor) -> Result<bytes::Bytes, RegistryError> {
        self.client(&repo.host)?
            .get_blob(&repo.repository, &blob.digest, blob.size)
            .await
    }

    async fn blob_size(&self, repo: &Repo, digest: &str) -> Result<Option<u64>, RegistryError> {
        let c = self.client(&repo.host)?;
        absent(c.head_blob(&repo.repository, digest).await)
    }

    async fn check_blob(&self, repo: &Repo, blob: &Descriptor) -> Result<(), RegistryError> {
        self.client(&repo.host)?
            .check_blob(&repo.repository, &blob.digest, blob.size)
            .await
    }

    async fn mount_blob(
        &self,
        to: &Repo,
        digest: &str,
        from: &Repo,
    ) -> Result<bool, RegistryError> {
        self.client(&to.host)?
            .mount_blob(&to.repository, digest, &from.repository)
            .await
    }

    async fn copy_blob(
        &self,
        from: &Repo,
        to: &Repo,
        blob: &Descriptor,
    ) -> Result<(), RegistryError> {
        // Streamed: a layer can be gigabytes, so it is never held whole.
        let src = self.client(&from.host)?;
        let dst = self.client(&to.host)?;
        copy_blob_streamed(
            &src,
            &from.repository,
            &dst,
            &to.repository,
            &blob.digest,
            blob.size,
        )
        .await
    }

    async fn referrers(
        &self,
        repo: &Repo,
        digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Descriptor>>, RegistryError> {
        self.client(&repo.host)?
            .referrers(&repo.repository, digest, artifact_type)
            .await
    }

    async fn put_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        self.client(&repo.host)?
            .put_manifest(
                &repo.repository,
                reference,
                media_type,
                bytes::Bytes::copy_from_slice(bytes),
            )
            .await
            .map(|_| ())
    }
}
