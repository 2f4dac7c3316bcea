//! The client of one registry host acting as one credential ([`Registry`]): authenticated
//! requests, and the manifest operations — resolve a tag or digest, HEAD a tag, push.
//!
//! Input: repository names and references. Output: [`Manifest`]s whose digest is one the
//! registry serves, digests, or errors.
//!
//! Invariant ("a recorded digest is one the registry serves"): a manifest read by digest
//! must hash to that digest; a manifest read by tag must hash to the `Docker-Content-Digest`
//! the registry sent with it, and when the registry sent none, the digest of the bytes is
//! pulled by digest once — a 404 there, or other bytes, is an error, never a digest handed
//! on. So a header costs nothing, and its absence costs exactly one request.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};

use super::auth::{Authenticator, Credential, pull_scope, push_scope};
use super::errors::RegistryError;
use super::manifest::{MANIFEST_ACCEPT, Manifest, sha256_digest};
use super::transport::{Endpoint, Reply, Resp, header_str};

/// A client for one registry host acting as one credential.
#[derive(Clone, Debug)]
pub struct Registry {
    pub(super) endpoint: Arc<Endpoint>,
    auth: Authenticator,
}

/// One authenticated request, as [`Registry::request_with`] sends it.
pub(super) struct Call<'a> {
    pub what: &'a str,
    pub scope: &'a str,
    pub method: Method,
    pub path: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<bytes::Bytes>,
}

impl Registry {
    pub fn new(endpoint: Arc<Endpoint>, credential: Credential) -> Self {
        Registry {
            endpoint,
            auth: Authenticator::new(credential),
        }
    }

    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    /// Send an authenticated request with the host's retries; the whole answer is read.
    pub(super) async fn request(
        &self,
        what: &str,
        scope: &str,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<bytes::Bytes>,
    ) -> Result<Resp, RegistryError> {
        let attempts = self.endpoint.limits().max_attempts;
        let call = Call {
            what,
            scope,
            method,
            path,
            headers,
            body,
        };
        match self.request_with(&call, attempts, None).await? {
            Reply::Read(r) => Ok(r),
            Reply::Open(_) => unreachable!("request_with(open = None) reads every body"),
        }
    }

    /// [`Self::request`] with the attempt count given, optionally leaving a 2xx body unread
    /// (`open`: the whole-request timeout to use instead of the client's, since streaming a
    /// large body takes longer than one request should).
    ///
    /// Learns the auth scheme from a 401 challenge and tries once more with credentials (a
    /// stale Bearer token is dropped and fetched again once). A 401 after that is
    /// [`RegistryError::Unauthorized`].
    pub(super) async fn request_with(
        &self,
        call: &Call<'_>,
        attempts: u32,
        open: Option<Duration>,
    ) -> Result<Reply, RegistryError> {
        let Call {
            what,
            scope,
            method,
            path,
            headers,
            body,
        } = call;
        let url = format!("{}{}", self.endpoint.base, path);
        for round in 0..2 {
            let auth = self.auth.authorization(&self.endpoint, scope).await?;
            let reply = self
                .endpoint
                .send(what, attempts, open.is_some(), &|c| {
                    let mut rb = c.request(method.clone(), &url);
                    for (k, v) in *headers {
                        rb = rb.header(*k, *v);
                    }
                    if let Some(a) = &auth {
                        rb = rb.header(reqwest::header::AUTHORIZATION, a);
                    }
                    if let Some(b) = body {
                        rb = rb.body(b.clone());
                    }
                    if let Some(t) = open {
                        rb = rb.timeout(t);
                    }
                    rb
                })
                .await?;
            let resp = match reply {
                Reply::Open(r) => return Ok(Reply::Open(r)),
                Reply::Read(r) => r,
            };
            if resp.status != StatusCode::UNAUTHORIZED {
                return Ok(Reply::Read(resp));
            }
            if round == 1 {
                break;
            }
            let challenges: Vec<&str> = resp
                .headers
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|h| h.to_str().ok())
                .collect();
            if !self
                .auth
                .challenged(&challenges.join(", "), auth.is_some(), scope)
                .await
            {
                break;
            }
        }
        Err(self.auth.refused())
    }

    /// `GET /v2/<repo>/manifests/<reference>`, a 2xx answer or the error it maps to.
    async fn get_manifest(&self, repository: &str, reference: &str) -> Result<Resp, RegistryError> {
        let resp = self
            .request(
                &format!("GET manifest {repository}:{reference}"),
                &pull_scope(repository),
                Method::GET,
                &format!("/v2/{repository}/manifests/{reference}"),
                &[("Accept", MANIFEST_ACCEPT)],
                None,
            )
            .await?;
        if !resp.status.is_success() {
            return Err(resp.error(repository, Some(reference), None));
        }
        Ok(resp)
    }

    /// Read a manifest by tag or digest: its exact bytes, parsed, with a digest the registry
    /// serves (see the module doc for the rule and its price).
    pub async fn resolve(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
        let resp = self.get_manifest(repository, reference).await?;
        let actual = sha256_digest(&resp.body);
        let what = || format!("manifest {repository}:{reference}");
        if reference.starts_with("sha256:") {
            if actual != reference {
                return Err(RegistryError::DigestMismatch {
                    what: format!("manifest {repository}@{reference}"),
                    expected: reference.to_string(),
                    actual,
                });
            }
        } else {
            match header_str(&resp.headers, "docker-content-digest") {
                Some(named) if named.starts_with("sha256:") => {
                    if named != actual {
                        return Err(RegistryError::DigestHeaderMismatch {
                            what: what(),
                            header: named,
                            actual,
                        });
                    }
                }
                // No header (or one in another algorithm): ask for the bytes' digest.
                _ => self.check_served(repository, &actual, &what()).await?,
            }
        }
        let content_type = header_str(&resp.headers, "content-type").unwrap_or_default();
        Manifest::from_bytes(resp.body, &content_type).map_err(|e| RegistryError::InvalidManifest {
            reference: format!("{repository}:{reference}"),
            message: e.0,
        })
    }

    /// One GET of `digest`: the registry must serve bytes that hash to it.
    async fn check_served(
        &self,
        repository: &str,
        digest: &str,
        what: &str,
    ) -> Result<(), RegistryError> {
        let not_served = |why: String| RegistryError::DigestNotServed {
            what: what.to_string(),
            digest: digest.to_string(),
            why,
        };
        match self.get_manifest(repository, digest).await {
            Ok(r) => {
                let served = sha256_digest(&r.body);
                if served == digest {
                    Ok(())
                } else {
                    Err(not_served(format!(
                        "it serves other bytes under that digest ({served})"
                    )))
                }
            }
            Err(RegistryError::ManifestUnknown { .. }) => {
                Err(not_served("manifest unknown (404)".into()))
            }
            Err(e) => Err(not_served(e.to_string())),
        }
    }

    /// Digest a tag (or digest) points at now, `None` when it does not exist. One `HEAD`
    /// when the registry names the digest; when it does not, the manifest is read and its
    /// digest checked as [`Self::resolve`] does.
    pub async fn head_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        let resp = self
            .request(
                &format!("HEAD manifest {repository}:{reference}"),
                &pull_scope(repository),
                Method::HEAD,
                &format!("/v2/{repository}/manifests/{reference}"),
                &[("Accept", MANIFEST_ACCEPT)],
                None,
            )
            .await?;
        if resp.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status.is_success() {
            return Err(resp.error(repository, Some(reference), None));
        }
        match header_str(&resp.headers, "docker-content-digest") {
            Some(d) if d.starts_with("sha256:") => Ok(Some(d)),
            _ => match self.resolve(repository, reference).await {
                Ok(m) => Ok(Some(m.digest)),
                Err(RegistryError::ManifestUnknown { .. }) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Upload a manifest under a tag or digest. Returns the digest of the bytes.
    pub async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: bytes::Bytes,
    ) -> Result<String, RegistryError> {
        let digest = sha256_digest(&bytes);
        let resp = self
            .request(
                &format!("PUT manifest {repository}:{reference}"),
                &push_scope(repository),
                Method::PUT,
                &format!("/v2/{repository}/manifests/{reference}"),
                &[("Content-Type", media_type)],
                Some(bytes),
            )
            .await?;
        if resp.status != StatusCode::CREATED {
            return Err(resp.error(repository, Some(reference), None));
        }
        // The registry names what it stored; it must be what was sent.
        if let Some(named) = header_str(&resp.headers, "docker-content-digest")
            && named.starts_with("sha256:")
            && named != digest
        {
            return Err(RegistryError::DigestHeaderMismatch {
                what: format!("manifest pushed to {repository}:{reference}"),
                header: named,
                actual: digest,
            });
        }
        Ok(digest)
    }
}
