//! Transport: one [`Endpoint`] per registry host — the HTTP client, the host's limits
//! ([`Limits`]: concurrency, rate, timeout, retries) and the run's request counters
//! ([`Stats`]).
//!
//! Input: a request builder (re-run on every attempt). Output: a whole answer ([`Resp`]) or,
//! for streamed downloads, an open 2xx answer whose body the caller reads ([`Reply::Open`]).
//! Invariants: every HTTP request — token requests included — passes the host's semaphore
//! and rate limiter and is counted; 429, 5xx, timeouts and connection errors are retried
//! with exponential backoff and full jitter, waiting at least `Retry-After` (capped by
//! [`Limits::backoff_max`]), at most [`Limits::max_attempts`] attempts in all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::errors::{RegistryError, error_detail, status_error};

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
    pub(super) fn backoff(&self, retry: u32) -> Duration {
        let nanos = self.backoff_ceiling(retry).as_nanos() as u64;
        Duration::from_nanos(if nanos == 0 {
            0
        } else {
            fastrand::u64(0..=nanos)
        })
    }

    /// The longest backoff before retry `retry` (1-based): base·2^(retry-1), capped by
    /// [`Limits::backoff_max`] (the exponent stops growing at 2^16).
    fn backoff_ceiling(&self, retry: u32) -> Duration {
        self.backoff_base
            .saturating_mul(1u32 << (retry.max(1) - 1).min(16))
            .min(self.backoff_max)
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
    pub(super) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
}

/// A fully read HTTP response.
pub(super) struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Resp {
    /// The error a non-success, non-retryable answer about `repository` (and the manifest
    /// `reference` or blob `digest` asked for) stands for.
    pub(super) fn error(
        &self,
        repository: &str,
        reference: Option<&str>,
        digest: Option<&str>,
    ) -> RegistryError {
        status_error(self.status, &self.body, repository, reference, digest)
    }
}

/// An answer of [`Endpoint::send`].
pub(super) enum Reply {
    /// Status, headers and the whole body.
    Read(Resp),
    /// A 2xx answer whose body has not been read yet.
    Open(reqwest::Response),
}

/// Builds one attempt of a request.
pub(super) type Build<'a> = &'a (dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Sync);

/// Shared per-host state: HTTP client, semaphore, rate limiter, counters.
#[derive(Debug)]
pub struct Endpoint {
    host: String,
    pub(super) base: String,
    limits: Limits,
    http: reqwest::Client,
    permits: Semaphore,
    next_slot: Mutex<Instant>,
    pub(super) stats: Arc<Stats>,
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
    pub(super) async fn execute(
        &self,
        what: &str,
        build: Build<'_>,
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
    pub(super) async fn send(
        &self,
        what: &str,
        attempts: u32,
        open_success: bool,
        build: Build<'_>,
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
            self.stats.count_retry();
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

fn install_crypto_provider() {
    // reqwest is built without a default provider; ring is ours. Errs if already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub(super) fn retryable_status(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error()
}

pub(super) fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
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

/// An error and its sources, e.g. `error sending request: connection reset by peer`.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
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

    /// Holds "retried with exponential backoff": the ceiling doubles per retry from the base
    /// up to the cap (a constant backoff — the shift gone — fails here).
    #[test]
    fn backoff_ceiling_doubles_per_retry_up_to_the_cap() {
        let l = Limits {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1000),
            ..Limits::default()
        };
        let ms: Vec<u128> = (1..=6).map(|r| l.backoff_ceiling(r).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
        // The exponent stops at 2^16: no overflow however many retries.
        let uncapped = Limits {
            backoff_base: Duration::from_nanos(1),
            backoff_max: Duration::MAX,
            ..Limits::default()
        };
        assert_eq!(uncapped.backoff_ceiling(17), Duration::from_nanos(1 << 16));
        assert_eq!(uncapped.backoff_ceiling(40), Duration::from_nanos(1 << 16));
        assert_eq!(uncapped.backoff_ceiling(0), Duration::from_nanos(1));
        // A zero base never waits.
        let zero = Limits {
            backoff_base: Duration::ZERO,
            ..Limits::default()
        };
        assert_eq!(zero.backoff(3), Duration::ZERO);
    }

    /// Full jitter: every delay lies in [0, ceiling], and they spread over that range (the
    /// chance that 400 uniform samples all miss a half is 2^-400).
    #[test]
    fn backoff_is_jittered_over_the_whole_ceiling() {
        let l = Limits {
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_secs(30),
            ..Limits::default()
        };
        for retry in 1..=5 {
            let ceiling = l.backoff_ceiling(retry);
            let samples: Vec<Duration> = (0..400).map(|_| l.backoff(retry)).collect();
            assert!(samples.iter().all(|d| *d <= ceiling), "retry {retry}");
            assert!(samples.iter().any(|d| *d > ceiling / 2), "retry {retry}");
            assert!(samples.iter().any(|d| *d < ceiling / 2), "retry {retry}");
        }
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
}
