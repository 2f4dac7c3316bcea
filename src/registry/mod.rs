//! OCI distribution API client: one [`Registry`] per (host, credential).
//!
//! Input: a host, its limits ([`Limits`], from berth.yaml `registries.<host>`) and a
//! [`Credential`]. Output: typed results of distribution API calls — [`Registry::resolve`]
//! (tag → digest + parsed manifest, via oci-client's manifest types), [`Registry::head_blob`],
//! [`Registry::get_blob`] (digest checked), [`Registry::list_tags`] (paginated), and the
//! write side promotion needs ([`Registry::put_blob`], [`Registry::mount_blob`],
//! [`Registry::put_manifest`], and [`copy_blob_streamed`]: a blob streamed from one registry
//! into another through [`Registry::get_blob_stream`] and [`Registry::put_blob_stream`],
//! holding at most one [`UPLOAD_CHUNK`] in memory).
//!
//! Why not `oci_client::Client` for the requests themselves: it has no hook for counting
//! requests, bounding concurrency, rate limits or retrying with Retry-After, all of which the
//! design requires. This module speaks the same API on the same HTTP stack (reqwest) and
//! parses manifests with oci-client's types.
//!
//! Invariants:
//! - Every HTTP request (including token requests) passes one per-host semaphore
//!   (`maxConcurrency`) and one per-host rate limiter (`requestsPerSecond`) and is counted in
//!   [`Stats`].
//! - 429, 5xx, timeouts and connection errors are retried with exponential backoff and full
//!   jitter, waiting at least `Retry-After`; attempts are bounded by [`Limits::max_attempts`].
//! - A streamed upload is committed only after the bytes hashed to the expected digest and
//!   counted to the expected size; otherwise its session is cancelled.
//! - Secrets ([`Secret`]) are never formatted: `Debug` prints `***`, errors carry only status
//!   codes, registry error codes and URLs (which never contain credentials).

pub mod credentials;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use oci_client::manifest::{OciImageIndex, OciImageManifest};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

/// Media types accepted when resolving a tag.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// A secret string: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for building an Authorization header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to authenticate to a registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credential {
    #[default]
    Anonymous,
    /// User name and password (or a token used as password). Sent as HTTP Basic to a
    /// Basic-auth registry, or to the token service of a Bearer-auth registry.
    Basic { username: String, password: Secret },
}

/// Per-host limits and retry policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Plain http instead of https.
    pub insecure: bool,
    pub max_concurrency: usize,
    /// `None`: unlimited.
    pub requests_per_second: Option<f64>,
    /// Timeout of one request (connect + headers + body).
    pub timeout: Duration,
    /// Total attempts per request, first one included.
    pub max_attempts: u32,
    /// First backoff step; doubles per retry, with full jitter.
    pub backoff_base: Duration,
    /// Cap of one backoff step, and of an honoured Retry-After.
    pub backoff_max: Duration,
}

/// Default `maxConcurrency` per registry host.
pub const DEFAULT_MAX_CONCURRENCY: usize = 16;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            insecure: false,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            requests_per_second: None,
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// Limits for `host` from berth.yaml, with timeouts/retries tunable through
    /// `BERTH_REGISTRY_TIMEOUT_MS`, `BERTH_REGISTRY_MAX_ATTEMPTS`, `BERTH_REGISTRY_BACKOFF_MS`
    /// (operational knobs, not catalogue state, so they live in the environment).
    pub fn for_host(cfg: Option<&crate::model::RegistryConfig>) -> Self {
        let mut l = Limits::default();
        if let Some(c) = cfg {
            l.insecure = c.insecure;
            if let Some(n) = &c.max_concurrency {
                l.max_concurrency = (n.value as usize).max(1);
            }
            l.requests_per_second = c
                .requests_per_second
                .as_ref()
                .map(|r| r.value)
                .filter(|r| *r > 0.0);
        }
        let env_u64 = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let Some(ms) = env_u64("BERTH_REGISTRY_TIMEOUT_MS") {
            l.timeout = Duration::from_millis(ms.max(1));
        }
        if let Some(n) = env_u64("BERTH_REGISTRY_MAX_ATTEMPTS") {
            l.max_attempts = (n as u32).max(1);
        }
        if let Some(ms) = env_u64("BERTH_REGISTRY_BACKOFF_MS") {
            l.backoff_base = Duration::from_millis(ms);
        }
        l
    }

    /// Backoff before retry number `retry` (1-based): full jitter over base·2^(retry-1).
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << (retry - 1).min(16))
            .min(self.backoff_max);
        let nanos = exp.as_nanos() as u64;
        Duration::from_nanos(if nanos == 0 {
            0
        } else {
            fastrand::u64(0..=nanos)
        })
    }
}

/// Request counters, shared by every registry of a run.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    retries: AtomicU64,
}

impl Stats {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// A failed registry operation. Messages are user-facing and hold no secrets.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RegistryError {
    #[error("manifest unknown: {reference} not found in {repository} (404)")]
    ManifestUnknown {
        repository: String,
        reference: String,
    },
    #[error("repository {repository} not found (404)")]
    NameUnknown { repository: String },
    #[error("missing blob {digest} (404)")]
    BlobUnknown { digest: String },
    #[error("unauthorized (401){detail}")]
    Unauthorized { detail: String },
    #[error("access denied (403){detail}")]
    Denied { detail: String },
    #[error("{what}: HTTP {status}{detail} after {attempts} attempt(s)")]
    Status {
        what: String,
        status: u16,
        detail: String,
        attempts: u32,
    },
    #[error("{what}: {message} after {attempts} attempt(s)")]
    Transport {
        what: String,
        message: String,
        attempts: u32,
    },
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error(
        "size mismatch for blob {digest}: manifest says {expected} bytes, registry has {actual}"
    )]
    SizeMismatch {
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error("invalid manifest {reference}: {message}")]
    InvalidManifest { reference: String, message: String },
    #[error("invalid registry host {0}")]
    InvalidHost(String),
}

/// A parsed manifest as served by the registry.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// `sha256:…` of the exact bytes served.
    pub digest: String,
    pub media_type: String,
    pub bytes: bytes::Bytes,
    pub kind: ManifestKind,
}

#[derive(Clone, Debug)]
pub enum ManifestKind {
    /// Multi-platform index (OCI index or Docker manifest list).
    Index(OciImageIndex),
    /// Single image manifest (OCI or Docker schema 2).
    Image(Box<OciImageManifest>),
}

/// A fully read HTTP response.
struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: bytes::Bytes,
}

/// One authenticated request, as [`Registry::request_with`] sends it.
struct Call<'a> {
    what: &'a str,
    scope: &'a str,
    method: Method,
    path: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: Option<bytes::Bytes>,
}

/// What a registry answered to `GET /v2/` when it wanted authentication.
#[derive(Clone, Debug, PartialEq)]
enum Scheme {
    /// Not learned yet: try anonymously.
    Unknown,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// Shared per-host state: HTTP client, semaphore, rate limiter, counters.
#[derive(Debug)]
pub struct Endpoint {
    host: String,
    base: String,
    limits: Limits,
    http: reqwest::Client,
    permits: Semaphore,
    next_slot: Mutex<Instant>,
    stats: Arc<Stats>,
}

impl Endpoint {
    pub fn new(host: &str, limits: Limits, stats: Arc<Stats>) -> Result<Arc<Self>, RegistryError> {
        if !crate::model::reference::valid_registry(host) {
            return Err(RegistryError::InvalidHost(host.to_string()));
        }
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout)
            .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(limits.max_concurrency)
            .build()
            .map_err(|e| RegistryError::Transport {
                what: format!("client for {host}"),
                message: error_chain(&e),
                attempts: 0,
            })?;
        // Docker Hub serves the API from registry-1.docker.io.
        let api_host = if host == crate::model::reference::DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            host
        };
        let scheme = if limits.insecure { "http" } else { "https" };
        Ok(Arc::new(Endpoint {
            host: host.to_string(),
            base: format!("{scheme}://{api_host}"),
            permits: Semaphore::new(limits.max_concurrency),
            limits,
            http,
            next_slot: Mutex::new(Instant::now()),
            stats,
        }))
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Wait for the rate limiter's next slot.
    async fn pace(&self) {
        let Some(rps) = self.limits.requests_per_second else {
            return;
        };
        let step = Duration::from_secs_f64(1.0 / rps);
        let at = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + step;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Send one logical request with bounded, backed-off retries. The body is read inside
    /// the retry loop, so a connection reset mid-body is retried too.
    async fn execute(
        &self,
        what: &str,
        build: &(dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync),
    ) -> Result<Resp, RegistryError> {
        match self
            .send(what, self.limits.max_attempts, false, build)
            .await?
        {
            Reply::Read(r) => Ok(r),
            Reply::Open(_) => unreachable!("send(open_success = false) reads every body"),
        }
    }

    /// The retry loop behind [`Self::execute`], with the attempt count given. With
    /// `open_success`, a 2xx answer is returned as soon as its headers arrive
    /// ([`Reply::Open`]) and its body is left to the caller; error answers are still read
    /// whole (they are small and carry the registry's error code). The semaphore permit is
    /// held until headers (open) or the whole body (read) arrived: an open body is streamed
    /// into requests to another host, and holding a permit of one host while waiting for a
    /// permit of another could deadlock two copies running in opposite directions.
    async fn send(
        &self,
        what: &str,
        attempts: u32,
        open_success: bool,
        build: &(dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync),
    ) -> Result<Reply, RegistryError> {
        let max = attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .expect("semaphore never closed");
                self.pace().await;
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                match build(&self.http).send().await {
                    Ok(r) if open_success && r.status().is_success() => Ok(Reply::Open(r)),
                    Ok(r) => {
                        let status = r.status();
                        let headers = r.headers().clone();
                        r.bytes().await.map(|body| {
                            Reply::Read(Resp {
                                status,
                                headers,
                                body,
                            })
                        })
                    }
                    Err(e) => Err(e),
                }
            };
            let (retry_after, failure) = match result {
                Ok(Reply::Read(resp)) if retryable_status(resp.status) => (
                    retry_after(&resp.headers),
                    RegistryError::Status {
                        what: what.to_string(),
                        status: resp.status.as_u16(),
                        detail: error_detail(&resp.body),
                        attempts: attempt,
                    },
                ),
                Ok(reply) => return Ok(reply),
                Err(e) => (None, self.transport(what, &e, attempt)),
            };
            if attempt >= max {
                return Err(failure);
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let mut wait = self.limits.backoff(attempt);
            if let Some(ra) = retry_after {
                wait = wait.max(ra.min(self.limits.backoff_max));
            }
            tracing::debug!(host = %self.host, %what, attempt, ?wait, "retrying: {failure}");
            tokio::time::sleep(wait).await;
        }
    }

    fn transport(&self, what: &str, e: &reqwest::Error, attempts: u32) -> RegistryError {
        RegistryError::Transport {
            what: what.to_string(),
            message: if e.is_timeout() {
                format!("timed out after {:?}", self.limits.timeout)
            } else {
                error_chain(e)
            },
            attempts,
        }
    }
}

/// An answer of [`Endpoint::send`].
enum Reply {
    /// Status, headers and the whole body.
    Read(Resp),
    /// A 2xx answer whose body has not been read yet.
    Open(reqwest::Response),
}

/// A client for one registry host acting as one credential.
#[derive(Clone, Debug)]
pub struct Registry {
    endpoint: Arc<Endpoint>,
    credential: Credential,
    scheme: Arc<Mutex<Scheme>>,
    /// Bearer tokens by scope (`repository:NAME:pull`).
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

impl Registry {
    pub fn new(endpoint: Arc<Endpoint>, credential: Credential) -> Self {
        Registry {
            endpoint,
            credential,
            scheme: Arc::new(Mutex::new(Scheme::Unknown)),
            tokens: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint.base, path)
    }

    /// Authorization header for `scope` under the learned scheme, fetching a token if needed.
    async fn authorization(&self, scope: &str) -> Result<Option<String>, RegistryError> {
        let scheme = self.scheme.lock().await.clone();
        match scheme {
            Scheme::Unknown => Ok(None),
            Scheme::Basic => match &self.credential {
                Credential::Anonymous => Err(RegistryError::Unauthorized {
                    detail: ": the registry requires credentials and none are configured".into(),
                }),
                Credential::Basic { username, password } => Ok(Some(basic(username, password))),
            },
            Scheme::Bearer { realm, service } => {
                if let Some(t) = self.tokens.lock().await.get(scope) {
                    return Ok(Some(format!("Bearer {t}")));
                }
                let token = self.fetch_token(&realm, service.as_deref(), scope).await?;
                self.tokens
                    .lock()
                    .await
                    .insert(scope.to_string(), token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let mut url = reqwest::Url::parse(realm).map_err(|_| RegistryError::Unauthorized {
            detail: format!(": token realm `{realm}` is not a URL"),
        })?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            q.append_pair("scope", scope);
        }
        let cred = self.credential.clone();
        let resp = self
            .endpoint
            .execute("token request", &|c| {
                let rb = c.get(url.clone());
                match &cred {
                    Credential::Anonymous => rb,
                    Credential::Basic { username, password } => {
                        rb.header(reqwest::header::AUTHORIZATION, basic(username, password))
                    }
                }
            })
            .await?;
        match resp.status {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(RegistryError::Unauthorized {
                    detail: format!(
                        ": the token service rejected the {}",
                        match self.credential {
                            Credential::Anonymous => "anonymous request",
                            Credential::Basic { .. } => "credentials",
                        }
                    ),
                });
            }
            s => {
                return Err(RegistryError::Status {
                    what: "token request".into(),
                    status: s.as_u16(),
                    detail: String::new(),
                    attempts: 1,
                });
            }
        }
        #[derive(serde::Deserialize)]
        struct Tok {
            token: Option<String>,
            access_token: Option<String>,
        }
        let t: Tok =
            serde_json::from_slice(&resp.body).map_err(|_| RegistryError::Unauthorized {
                detail: ": the token service answered with an unreadable token".into(),
            })?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| RegistryError::Unauthorized {
                detail: ": the token service answered without a token".into(),
            })
    }

    /// Send an authenticated request; learns the auth scheme from a 401 challenge and tries
    /// once more with credentials. A 401 after that is [`RegistryError::Unauthorized`].
    /// Open a blob upload session (`POST /v2/<repo>/blobs/uploads/`, 202 expected); the
    /// response's `Location` says where the data goes.
    async fn open_upload(&self, repository: &str, scope: &str) -> Result<Resp, RegistryError> {
        let start = self
            .request(
                &format!("POST upload {repository}"),
                scope,
                Method::POST,
                &format!("/v2/{repository}/blobs/uploads/"),
                &[("Content-Length", "0")],
                Some(bytes::Bytes::new()),
            )
            .await?;
        if start.status != StatusCode::ACCEPTED {
            return Err(status_error(&start, repository, None, None));
        }
        Ok(start)
    }

    async fn request(
        &self,
        what: &str,
        scope: &str,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<bytes::Bytes>,
    ) -> Result<Resp, RegistryError> {
        let attempts = self.endpoint.limits.max_attempts;
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
    async fn request_with(
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
        let url = self.url(path);
        for round in 0..2 {
            let auth = self.authorization(scope).await?;
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
            let challenge = resp
                .headers
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|h| h.to_str().ok())
                .and_then(parse_challenge);
            let Some(s) = challenge else { break };
            let bearer = matches!(s, Scheme::Bearer { .. });
            *self.scheme.lock().await = s;
            match (auth.is_some(), bearer) {
                // Anonymous first try: now authenticate.
                (false, _) => continue,
                // A token can be stale: drop it and fetch a new one once.
                (true, true) => {
                    self.tokens.lock().await.remove(*scope);
                    continue;
                }
                // Basic credentials were rejected.
                (true, false) => break,
            }
        }
        Err(RegistryError::Unauthorized {
            detail: match self.credential {
                Credential::Anonymous => {
                    ": the registry requires credentials and none are configured".into()
                }
                Credential::Basic { .. } => ": the registry rejected the credentials".into(),
            },
        })
    }

    /// Resolve a tag (or digest) to its manifest: `GET /v2/<repo>/manifests/<reference>`.
    pub async fn resolve(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Manifest, RegistryError> {
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
            return Err(status_error(&resp, repository, Some(reference), None));
        }
        let digest = sha256_digest(&resp.body);
        let named = header_str(&resp.headers, "docker-content-digest");
        let expected = if reference.starts_with("sha256:") {
            Some(reference.to_string())
        } else {
            named.filter(|d| d.starts_with("sha256:"))
        };
        if let Some(exp) = expected
            && exp != digest
        {
            return Err(RegistryError::DigestMismatch {
                what: format!("manifest {repository}:{reference}"),
                expected: exp,
                actual: digest,
            });
        }
        let invalid = |message: String| RegistryError::InvalidManifest {
            reference: format!("{repository}:{reference}"),
            message,
        };
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            media_type: Option<String>,
            manifests: Option<serde_json::Value>,
        }
        let probe: Probe =
            serde_json::from_slice(&resp.body).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let media_type = probe
            .media_type
            .clone()
            .or_else(|| {
                header_str(&resp.headers, "content-type")
                    .map(|c| c.split(';').next().unwrap_or_default().trim().to_string())
            })
            .unwrap_or_default();
        let is_index = INDEX_TYPES.contains(&media_type.as_str())
            || (probe.media_type.is_none() && probe.manifests.is_some());
        let kind = if is_index {
            ManifestKind::Index(
                serde_json::from_slice(&resp.body).map_err(|e| invalid(e.to_string()))?,
            )
        } else {
            ManifestKind::Image(Box::new(
                serde_json::from_slice(&resp.body).map_err(|e| invalid(e.to_string()))?,
            ))
        };
        Ok(Manifest {
            digest,
            media_type,
            bytes: resp.body,
            kind,
        })
    }

    /// Digest a tag points at now, without downloading the manifest (`HEAD`).
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
            return Err(status_error(&resp, repository, Some(reference), None));
        }
        Ok(header_str(&resp.headers, "docker-content-digest"))
    }

    /// Does the blob exist? Returns its size (`HEAD /v2/<repo>/blobs/<digest>`).
    pub async fn head_blob(&self, repository: &str, digest: &str) -> Result<u64, RegistryError> {
        let resp = self
            .request(
                &format!("HEAD blob {digest}"),
                &pull_scope(repository),
                Method::HEAD,
                &format!("/v2/{repository}/blobs/{digest}"),
                &[],
                None,
            )
            .await?;
        if !resp.status.is_success() {
            return Err(status_error(&resp, repository, None, Some(digest)));
        }
        Ok(header_str(&resp.headers, "content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0))
    }

    /// Download a blob and check its digest.
    pub async fn get_blob(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<bytes::Bytes, RegistryError> {
        let resp = self
            .request(
                &format!("GET blob {digest}"),
                &pull_scope(repository),
                Method::GET,
                &format!("/v2/{repository}/blobs/{digest}"),
                &[],
                None,
            )
            .await?;
        if !resp.status.is_success() {
            return Err(status_error(&resp, repository, None, Some(digest)));
        }
        let actual = sha256_digest(&resp.body);
        if digest.starts_with("sha256:") && actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {digest}"),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(resp.body)
    }

    /// Every tag of `repository`, following `Link` pagination (see [`Self::paged_list`]).
    pub async fn list_tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        self.paged_list(
            &format!("GET tags {repository}"),
            &pull_scope(repository),
            &format!("/v2/{repository}/tags/list"),
            "tags",
            repository,
        )
        .await
    }

    /// Every repository of the registry (`GET /v2/_catalog`), all pages.
    pub async fn catalog(&self) -> Result<Vec<String>, RegistryError> {
        self.paged_list(
            "GET catalog",
            "registry:catalog:*",
            "/v2/_catalog",
            "repositories",
            "_catalog",
        )
        .await
    }

    /// A paginated list (`tags` or `repositories`): asks for large pages, follows `Link:
    /// <…>; rel="next"` until there is none, and when a registry refuses the page size
    /// (400, e.g. `PAGINATION_NUMBER_INVALID` above its cap) asks again with a smaller one.
    /// Registries that silently cap the page size send a `Link` for the rest.
    async fn paged_list(
        &self,
        what: &str,
        scope: &str,
        base: &str,
        field: &str,
        repository: &str,
    ) -> Result<Vec<String>, RegistryError> {
        let mut items = Vec::new();
        let mut page_size = 1000;
        let mut path = format!("{base}?n={page_size}");
        loop {
            let resp = self
                .request(what, scope, Method::GET, &path, &[], None)
                .await?;
            if resp.status == StatusCode::BAD_REQUEST && items.is_empty() && page_size > 10 {
                page_size /= 10;
                path = format!("{base}?n={page_size}");
                continue;
            }
            if !resp.status.is_success() {
                return Err(status_error(&resp, repository, None, None));
            }
            let page: serde_json::Value =
                serde_json::from_slice(&resp.body).map_err(|e| RegistryError::InvalidManifest {
                    reference: format!("{repository} {field} list"),
                    message: e.to_string(),
                })?;
            if let Some(list) = page.get(field).and_then(|v| v.as_array()) {
                items.extend(list.iter().filter_map(|v| v.as_str().map(str::to_string)));
            }
            match header_str(&resp.headers, "link").and_then(|l| next_link(&l)) {
                Some(next) if next != path => path = next,
                _ => break,
            }
        }
        Ok(items)
    }

    /// Upload a blob in one request (POST + PUT). Returns its digest.
    pub async fn put_blob(
        &self,
        repository: &str,
        data: bytes::Bytes,
    ) -> Result<String, RegistryError> {
        let digest = sha256_digest(&data);
        let scope = push_scope(repository);
        let start = self.open_upload(repository, &scope).await?;
        let location = upload_location(&start.headers, &digest)?;
        let len = data.len().to_string();
        let put = self
            .request(
                &format!("PUT blob {digest}"),
                &scope,
                Method::PUT,
                &location,
                &[
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Length", &len),
                ],
                Some(data),
            )
            .await?;
        if put.status != StatusCode::CREATED {
            return Err(status_error(&put, repository, None, Some(&digest)));
        }
        Ok(digest)
    }

    /// Open a blob download without reading it: the body is pulled chunk by chunk through
    /// [`BlobStream::next_chunk`]. Opening is retried like any request; the body is not (a
    /// failure mid-body is a [`RegistryError::Transport`] for the caller to restart on).
    pub async fn get_blob_stream(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<BlobStream, RegistryError> {
        let what = format!("GET blob {digest}");
        let call = Call {
            what: &what,
            scope: &pull_scope(repository),
            method: Method::GET,
            path: &format!("/v2/{repository}/blobs/{digest}"),
            headers: &[],
            body: None,
        };
        let limits = &self.endpoint.limits;
        match self
            .request_with(&call, limits.max_attempts, Some(STREAM_REQUEST_TIMEOUT))
            .await?
        {
            Reply::Open(resp) => Ok(BlobStream {
                resp,
                what,
                idle: limits.timeout,
            }),
            Reply::Read(resp) => Err(status_error(&resp, repository, None, Some(digest))),
        }
    }

    /// Upload the blob `digest` of `size` bytes from `source` in chunks of at most
    /// [`UPLOAD_CHUNK`] bytes (POST, PATCH per chunk, PUT `?digest=`), hashing and counting
    /// the bytes as they pass. Only one chunk is held in memory.
    ///
    /// The upload is committed only when the bytes hash to `digest` and number exactly
    /// `size`; otherwise the session is cancelled (`DELETE`, best effort) and the error is
    /// [`RegistryError::DigestMismatch`] / [`RegistryError::SizeMismatch`]. Any other failure
    /// after the session started cancels it too. Only the session start is retried here: a
    /// chunk that may have reached the registry cannot be sent again (distribution appends
    /// it), so a failed PATCH is an error — [`copy_blob_streamed`] restarts the whole copy.
    pub async fn put_blob_stream<S: BlobSource>(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        source: &mut S,
    ) -> Result<(), RegistryError> {
        let scope = push_scope(repository);
        let start = self.open_upload(repository, &scope).await?;
        let mut location = location_path(&start.headers)?;
        let result = self
            .upload_chunks(repository, digest, size, source, &scope, &mut location)
            .await;
        if result.is_err() {
            self.cancel_upload(repository, &scope, &location).await;
        }
        result
    }

    /// The body of [`Self::put_blob_stream`] once the session is open; `location` follows
    /// the session as the registry moves it.
    async fn upload_chunks<S: BlobSource>(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        source: &mut S,
        scope: &str,
        location: &mut String,
    ) -> Result<(), RegistryError> {
        let mut hasher = Sha256::new();
        let mut seen: u64 = 0;
        let mut sent: u64 = 0;
        // Filled up to exactly one chunk, never beyond: a piece that crosses the boundary
        // is split (zero-copy) and its rest starts the next chunk.
        let mut buf = bytes::BytesMut::with_capacity(UPLOAD_CHUNK);
        while let Some(mut piece) = source.next_chunk().await? {
            hasher.update(&piece);
            seen += piece.len() as u64;
            // More bytes than the descriptor says: stop before uploading them.
            if seen > size {
                return Err(RegistryError::SizeMismatch {
                    digest: digest.to_string(),
                    expected: size,
                    actual: seen,
                });
            }
            while !piece.is_empty() {
                let take = piece.len().min(UPLOAD_CHUNK - buf.len());
                buf.extend_from_slice(&piece.split_to(take));
                if buf.len() == UPLOAD_CHUNK {
                    let full =
                        std::mem::replace(&mut buf, bytes::BytesMut::with_capacity(UPLOAD_CHUNK));
                    self.patch_chunk(repository, scope, location, sent, full.freeze())
                        .await?;
                    sent += UPLOAD_CHUNK as u64;
                }
            }
        }
        if !buf.is_empty() {
            let n = buf.len() as u64;
            self.patch_chunk(repository, scope, location, sent, buf.freeze())
                .await?;
            sent += n;
        }
        if sent != size {
            return Err(RegistryError::SizeMismatch {
                digest: digest.to_string(),
                expected: size,
                actual: sent,
            });
        }
        let actual = hex_digest(hasher);
        // Other algorithms (sha512) are left to the registry, which checks on commit.
        if digest.starts_with("sha256:") && actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {digest}"),
                expected: digest.to_string(),
                actual,
            });
        }
        let put = self
            .request_with(
                &Call {
                    what: &format!("PUT blob {digest}"),
                    scope,
                    method: Method::PUT,
                    path: &with_digest(location, digest),
                    headers: &[("Content-Length", "0")],
                    body: Some(bytes::Bytes::new()),
                },
                1,
                None,
            )
            .await?;
        match put {
            Reply::Read(r) if r.status == StatusCode::CREATED => Ok(()),
            Reply::Read(r) => Err(status_error(&r, repository, None, Some(digest))),
            Reply::Open(_) => unreachable!("request_with(open = None) reads every body"),
        }
    }

    /// Append one chunk to the upload session (one attempt: see [`Self::put_blob_stream`]).
    async fn patch_chunk(
        &self,
        repository: &str,
        scope: &str,
        location: &mut String,
        offset: u64,
        chunk: bytes::Bytes,
    ) -> Result<(), RegistryError> {
        let len = chunk.len() as u64;
        let range = format!("{offset}-{}", offset + len - 1);
        let length = len.to_string();
        let reply = self
            .request_with(
                &Call {
                    what: &format!("PATCH upload {repository}"),
                    scope,
                    method: Method::PATCH,
                    path: location,
                    headers: &[
                        ("Content-Type", "application/octet-stream"),
                        ("Content-Range", &range),
                        ("Content-Length", &length),
                    ],
                    body: Some(chunk),
                },
                1,
                None,
            )
            .await?;
        let Reply::Read(resp) = reply else {
            unreachable!("request_with(open = None) reads every body")
        };
        if resp.status != StatusCode::ACCEPTED {
            return Err(status_error(&resp, repository, None, None));
        }
        *location = location_path(&resp.headers)?;
        Ok(())
    }

    /// Cancel an upload session, best effort: a session left behind is garbage the
    /// registry collects anyway, and never a visible blob.
    async fn cancel_upload(&self, repository: &str, scope: &str, location: &str) {
        let r = self
            .request_with(
                &Call {
                    what: &format!("DELETE upload {repository}"),
                    scope,
                    method: Method::DELETE,
                    path: location,
                    headers: &[],
                    body: None,
                },
                1,
                None,
            )
            .await;
        if let Err(e) = r {
            tracing::debug!(%repository, "could not cancel upload session: {e}");
        }
    }

    /// Cross-repository blob mount. `Ok(true)`: mounted; `Ok(false)`: the registry did not
    /// mount (an upload session was opened instead; upload the blob with [`Self::put_blob`]).
    pub async fn mount_blob(
        &self,
        repository: &str,
        digest: &str,
        from: &str,
    ) -> Result<bool, RegistryError> {
        let scope = format!("{} repository:{from}:pull", push_scope(repository));
        let resp = self
            .request(
                &format!("mount blob {digest}"),
                &scope,
                Method::POST,
                &format!("/v2/{repository}/blobs/uploads/?mount={digest}&from={from}"),
                &[("Content-Length", "0")],
                Some(bytes::Bytes::new()),
            )
            .await?;
        match resp.status {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => Ok(false),
            _ => Err(status_error(&resp, repository, None, Some(digest))),
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
            return Err(status_error(&resp, repository, Some(reference), None));
        }
        Ok(digest)
    }
}

/// Largest chunk [`Registry::put_blob_stream`] holds and sends in one PATCH.
pub const UPLOAD_CHUNK: usize = 8 * 1024 * 1024;

/// Whole-request timeout of a streamed download: its body is read at the pace of the
/// upload it feeds, so the client's per-request timeout does not apply; stalls are caught
/// per chunk instead ([`BlobStream::next_chunk`]).
const STREAM_REQUEST_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Whole copies of one blob a [`copy_blob_streamed`] tries (first one included).
pub const STREAM_COPY_ATTEMPTS: u32 = 3;

/// Where [`Registry::put_blob_stream`] pulls bytes from.
pub trait BlobSource {
    /// The next piece of the blob, `None` at its end.
    fn next_chunk(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<bytes::Bytes>, RegistryError>> + Send;
}

/// An open blob download ([`Registry::get_blob_stream`]).
pub struct BlobStream {
    resp: reqwest::Response,
    what: String,
    /// Longest wait for the next piece before the download counts as stalled.
    idle: Duration,
}

impl BlobSource for BlobStream {
    async fn next_chunk(&mut self) -> Result<Option<bytes::Bytes>, RegistryError> {
        match tokio::time::timeout(self.idle, self.resp.chunk()).await {
            Ok(Ok(piece)) => Ok(piece),
            Ok(Err(e)) => Err(RegistryError::Transport {
                what: self.what.clone(),
                message: error_chain(&e),
                attempts: 1,
            }),
            Err(_) => Err(RegistryError::Transport {
                what: self.what.clone(),
                message: format!("no data for {:?}", self.idle),
                attempts: 1,
            }),
        }
    }
}

/// Copy the blob `digest` of `size` bytes from `from` to `to` without holding it in memory:
/// the download streams into a chunked upload that is committed only when digest and size
/// match (see [`Registry::put_blob_stream`]). A transport failure (or a retryable status)
/// anywhere in the middle restarts the whole copy, at most [`STREAM_COPY_ATTEMPTS`] times
/// in all; a digest or size mismatch never does (the source serves wrong content).
pub async fn copy_blob_streamed(
    from: &Registry,
    from_repository: &str,
    to: &Registry,
    to_repository: &str,
    digest: &str,
    size: u64,
) -> Result<(), RegistryError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            let mut source = from.get_blob_stream(from_repository, digest).await?;
            to.put_blob_stream(to_repository, digest, size, &mut source)
                .await
        }
        .await;
        let restart = match &result {
            Err(RegistryError::Transport { .. }) => true,
            Err(RegistryError::Status { status, .. }) => {
                retryable_status(StatusCode::from_u16(*status).unwrap_or(StatusCode::OK))
            }
            _ => false,
        };
        if !restart || attempt >= STREAM_COPY_ATTEMPTS {
            return result;
        }
        to.endpoint.stats.retries.fetch_add(1, Ordering::Relaxed);
        let wait = to.endpoint.limits.backoff(attempt);
        tracing::debug!(%digest, attempt, ?wait, "restarting blob copy: {}", result.unwrap_err());
        tokio::time::sleep(wait).await;
    }
}

fn hex_digest(h: Sha256) -> String {
    let d = h.finalize();
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn install_crypto_provider() {
    // reqwest is built without a default provider; ring is ours. Errs if already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn basic(username: &str, password: &Secret) -> String {
    let raw = format!("{username}:{}", password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(data);
    hex_digest(h)
}

fn retryable_status(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error()
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After` as delta-seconds or an HTTP date.
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = header_str(h, "retry-after")?;
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// The first registry error code and message of an error body, as ` (CODE: message)`.
fn error_detail(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errs {
        errors: Vec<Err1>,
    }
    #[derive(serde::Deserialize)]
    struct Err1 {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_slice::<Errs>(body) {
        Ok(e) if !e.errors.is_empty() => {
            let e = &e.errors[0];
            format!(
                " ({}{})",
                e.code.as_deref().unwrap_or("error"),
                e.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            )
        }
        _ => String::new(),
    }
}

fn error_code(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("errors")?
        .get(0)?
        .get("code")?
        .as_str()
        .map(str::to_string)
}

/// Map a non-success, non-retryable response to an error.
fn status_error(
    resp: &Resp,
    repository: &str,
    reference: Option<&str>,
    digest: Option<&str>,
) -> RegistryError {
    let code = error_code(&resp.body);
    match resp.status {
        StatusCode::NOT_FOUND => match (code.as_deref(), reference, digest) {
            (Some("NAME_UNKNOWN"), _, _) => RegistryError::NameUnknown {
                repository: repository.to_string(),
            },
            (_, _, Some(d)) => RegistryError::BlobUnknown {
                digest: d.to_string(),
            },
            (_, Some(r), _) => RegistryError::ManifestUnknown {
                repository: repository.to_string(),
                reference: r.to_string(),
            },
            _ => RegistryError::NameUnknown {
                repository: repository.to_string(),
            },
        },
        StatusCode::UNAUTHORIZED => RegistryError::Unauthorized {
            detail: error_detail(&resp.body),
        },
        StatusCode::FORBIDDEN => RegistryError::Denied {
            detail: error_detail(&resp.body),
        },
        s => RegistryError::Status {
            what: repository.to_string(),
            status: s.as_u16(),
            detail: error_detail(&resp.body),
            attempts: 1,
        },
    }
}

/// Parse a `WWW-Authenticate` challenge.
fn parse_challenge(h: &str) -> Option<Scheme> {
    let h = h.trim();
    let (scheme, params) = h.split_once(' ').unwrap_or((h, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Scheme::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    // key="value" pairs; values may contain commas (scope="repository:a:pull,push").
    let re = regex::Regex::new(r#"([A-Za-z]+)="([^"]*)""#).expect("static regex");
    for c in re.captures_iter(params) {
        match c[1].to_ascii_lowercase().as_str() {
            "realm" => realm = Some(c[2].to_string()),
            "service" => service = Some(c[2].to_string()),
            _ => {}
        }
    }
    Some(Scheme::Bearer {
        realm: realm?,
        service,
    })
}

/// Path of the next page from a `Link: </v2/...>; rel="next"` header.
fn next_link(link: &str) -> Option<String> {
    let start = link.find('<')? + 1;
    let end = link[start..].find('>')? + start;
    if !link[end..].contains("rel=\"next\"") {
        return None;
    }
    let target = &link[start..end];
    Some(match reqwest::Url::parse(target) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => target.to_string(),
    })
}

/// The upload URL of a started upload, as a path with `digest=` appended.
fn upload_location(h: &HeaderMap, digest: &str) -> Result<String, RegistryError> {
    let path = location_path(h)?;
    Ok(with_digest(&path, digest))
}

/// `path` with the `digest=` query parameter that completes an upload.
fn with_digest(path: &str, digest: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}digest={digest}")
}

/// The `Location` of an upload session as a path (with its query: the registry keeps the
/// session state there, and it changes after every chunk).
fn location_path(h: &HeaderMap) -> Result<String, RegistryError> {
    let loc = header_str(h, "location").ok_or_else(|| RegistryError::Transport {
        what: "blob upload".into(),
        message: "no Location header".into(),
        attempts: 1,
    })?;
    let path = match reqwest::Url::parse(&loc) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => loc,
    };
    Ok(path)
}

/// An error and its sources, e.g. `error sending request: connection reset by peer`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        let m = x.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = x.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        assert_eq!(
            parse_challenge("Basic realm=\"Registry\""),
            Some(Scheme::Basic)
        );
        assert_eq!(
            parse_challenge(
                "Bearer realm=\"http://127.0.0.1:1/token\",service=\"reg\",scope=\"repository:a/b:pull,push\""
            ),
            Some(Scheme::Bearer {
                realm: "http://127.0.0.1:1/token".into(),
                service: Some("reg".into())
            })
        );
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn next_link_pages() {
        assert_eq!(
            next_link("</v2/a/tags/list?n=2&last=b>; rel=\"next\"").as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_link("<http://h:1/v2/a/tags/list?last=b&n=2>; rel=\"next\"").as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(next_link("</x>; rel=\"prev\""), None);
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let l = Limits {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(250),
            ..Limits::default()
        };
        for retry in 1..20 {
            let cap = Duration::from_millis(100 * (1u64 << (retry - 1).min(16))).min(l.backoff_max);
            assert!(l.backoff(retry) <= cap);
        }
        let samples: std::collections::BTreeSet<_> = (0..50).map(|_| l.backoff(3)).collect();
        assert!(samples.len() > 1, "jitter varies the delay");
    }

    #[test]
    fn secrets_are_not_printed() {
        let c = Credential::Basic {
            username: "bot".into(),
            password: Secret::new("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(
            basic("bot", &Secret::new("pw")),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("bot:pw")
            )
        );
    }
}
