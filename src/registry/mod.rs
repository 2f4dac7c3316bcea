//! Stage: registry — the OCI distribution API, for verification and promotion.
//!
//! Input: registry hosts with their limits (berth.yaml `registries.<host>`), credentials
//! (berth.yaml `credentials`, docker config), repositories, tags and digests. Output: typed
//! results — manifests as served ([`Manifest`]: exact bytes, digest, parsed content), tag and
//! repository lists, blob sizes, blobs checked or copied — or a [`RegistryError`] whose
//! message is user-facing.
//!
//! | file | holds |
//! |---|---|
//! | `transport` | [`Endpoint`]: HTTP client per host, [`Limits`], retries with backoff honouring `Retry-After`, [`Stats`] |
//! | `auth` | [`Credential`], [`Secret`], Basic / Bearer challenge handling |
//! | `client` | [`Registry`] (one host, one credential): authenticated requests; manifests by tag or digest, HEAD, push |
//! | [`manifest`] | the one OCI manifest / index model and its rules (attestations, foreign layers) |
//! | `blob` | HEAD, GET streamed and checked ([`Digester`]), small blobs read whole |
//! | `upload` | monolithic and chunked uploads, mounts, [`copy_blob_streamed`] |
//! | `list` | tags and catalog with `Link` pagination |
//! | `referrers` | the OCI 1.1 referrers API (`None` when a registry lacks it) |
//! | `errors` | [`RegistryError`] and the mapping of error answers |
//! | [`api`] | the [`Api`] trait verify and promote use, over [`Repo`]s |
//! | `live` | [`Live`]: the [`Api`] over [`Registry`] clients for every host of a run |
//! | `fake` | an in-memory [`Api`] for unit tests |
//! | [`credentials`] | credential names → [`Credential`]s |
//!
//! Why not `oci_client::Client` for the requests: it has no hook for counting requests,
//! bounding concurrency, rate limits or retrying with Retry-After, all of which the design
//! requires; and its manifest types are stricter than a byte-exact copy can afford (see
//! [`manifest`]). This module speaks the same API on the same HTTP stack (reqwest).
//!
//! Invariants:
//! - Every HTTP request (token requests included) passes one per-host semaphore
//!   (`maxConcurrency`) and one per-host rate limiter (`requestsPerSecond`) and is counted in
//!   [`Stats`]; 429, 5xx, timeouts and connection errors are retried with exponential
//!   backoff and full jitter, waiting at least `Retry-After`, at most
//!   [`Limits::max_attempts`] times.
//! - A digest handed on is one the registry serves: by digest, the bytes hash to it; by
//!   tag, they hash to `Docker-Content-Digest`, or — without that header — pulling by their
//!   digest returns them (one extra request). Anything else is an error.
//! - Blobs are streamed and checked (sha256 and size) as they pass, never held whole except
//!   small ones (configs, bounded); a streamed upload is committed only after the bytes
//!   hashed to the expected digest and counted to the expected size, otherwise its session
//!   is cancelled.
//! - Secrets ([`Secret`]) are never formatted: `Debug` prints `***`, errors carry only status
//!   codes, registry error codes and URLs (which never contain credentials).

pub mod api;
mod auth;
mod blob;
mod client;
pub mod credentials;
mod errors;
#[cfg(test)]
pub mod fake;
mod list;
mod live;
pub mod manifest;
mod referrers;
mod transport;
mod upload;

pub use api::{Api, Repo};
pub use auth::{Credential, Secret};
pub use blob::{BlobSource, BlobStream, Digester, SMALL_BLOB_MAX};
pub use client::Registry;
pub use errors::RegistryError;
pub use live::Live;
pub use manifest::{Descriptor, ImageInfo, MANIFEST_ACCEPT, Manifest, Parsed, sha256_digest};
pub use transport::{DEFAULT_MAX_CONCURRENCY, Endpoint, Limits, Stats};
pub use upload::{STREAM_COPY_ATTEMPTS, UPLOAD_CHUNK, copy_blob_streamed};
