//! Blobs: HEAD, and GET streamed — a blob is never held whole unless it is small (an image
//! config, read whole because berth needs its labels, bounded by [`SMALL_BLOB_MAX`]).
//!
//! Input: a repository, a blob digest and the size its descriptor declares. Output: the
//! size the registry reports ([`Registry::head_blob`]), the bytes of a small blob
//! ([`Registry::get_blob`]), a verified download ([`Registry::check_blob`]: `--verify
//! full`), or an open stream for a copy ([`Registry::get_blob_stream`]).
//!
//! Invariants: a download is checked by a [`Digester`] as it passes — sha256 and byte count
//! against the descriptor, so memory stays bounded by one network chunk; a
//! `Content-Length` other than the declared size fails before any byte is read; more bytes
//! than declared stop the download at once. A transport failure mid-body restarts the
//! download (bounded by [`super::Limits::max_attempts`]); a digest or size mismatch never
//! does — the registry serves wrong content, and asking again would not change that.

use std::time::Duration;

use reqwest::Method;
use sha2::{Digest as _, Sha256};

use super::auth::pull_scope;
use super::client::{Call, Registry};
use super::errors::RegistryError;
use super::manifest::hex_digest;
use super::transport::{Reply, error_chain, header_str};

/// Largest blob [`Registry::get_blob`] reads whole (image configs are kilobytes).
pub const SMALL_BLOB_MAX: u64 = 16 * 1024 * 1024;

/// Whole-request timeout of a streamed download: its body is read at the pace of whatever
/// consumes it (an upload, a hash), so the client's per-request timeout does not apply;
/// stalls are caught per chunk instead ([`BlobStream::next_chunk`]).
const STREAM_REQUEST_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Where bytes of a blob come from, piece by piece.
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

impl BlobStream {
    /// The length the registry announced, if it did.
    pub fn content_length(&self) -> Option<u64> {
        header_str(self.resp.headers(), "content-length").and_then(|l| l.parse().ok())
    }

    /// Fail before reading when the registry announces another length than `size`.
    pub fn expect_length(&self, digest: &str, size: u64) -> Result<(), RegistryError> {
        match self.content_length() {
            Some(len) if len != size => Err(RegistryError::SizeMismatch {
                digest: digest.to_string(),
                expected: size,
                actual: len,
            }),
            _ => Ok(()),
        }
    }
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

/// sha256 and length of a blob as it streams past, checked against its descriptor.
pub struct Digester {
    digest: String,
    size: u64,
    hasher: Sha256,
    seen: u64,
}

impl Digester {
    pub fn new(digest: &str, size: u64) -> Self {
        Digester {
            digest: digest.to_string(),
            size,
            hasher: Sha256::new(),
            seen: 0,
        }
    }

    /// Take the next piece; more bytes than declared fail at once.
    pub fn update(&mut self, piece: &[u8]) -> Result<(), RegistryError> {
        self.hasher.update(piece);
        self.seen += piece.len() as u64;
        if self.seen > self.size {
            return Err(self.size_mismatch());
        }
        Ok(())
    }

    /// At the end: exactly the declared size, and (for a sha256 digest) that digest. Other
    /// algorithms (sha512) are left to the registry, which checks on upload.
    pub fn finish(self) -> Result<(), RegistryError> {
        if self.seen != self.size {
            return Err(self.size_mismatch());
        }
        let actual = hex_digest(self.hasher);
        if self.digest.starts_with("sha256:") && actual != self.digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {}", self.digest),
                expected: self.digest,
                actual,
            });
        }
        Ok(())
    }

    fn size_mismatch(&self) -> RegistryError {
        RegistryError::SizeMismatch {
            digest: self.digest.clone(),
            expected: self.size,
            actual: self.seen,
        }
    }
}

impl Registry {
    /// Does the blob exist? Returns its size (`HEAD /v2/<repo>/blobs/<digest>`; 0 when the
    /// registry announces none).
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
            return Err(resp.error(repository, None, Some(digest)));
        }
        Ok(header_str(&resp.headers, "content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0))
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
        let limits = self.endpoint.limits();
        match self
            .request_with(&call, limits.max_attempts, Some(STREAM_REQUEST_TIMEOUT))
            .await?
        {
            Reply::Open(resp) => Ok(BlobStream {
                resp,
                what,
                idle: limits.timeout,
            }),
            Reply::Read(resp) => Err(resp.error(repository, None, Some(digest))),
        }
    }

    /// Read the blob `digest` of `size` bytes whole, digest and size checked. Refuses
    /// blobs over [`SMALL_BLOB_MAX`] without downloading them.
    pub async fn get_blob(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
    ) -> Result<bytes::Bytes, RegistryError> {
        if size > SMALL_BLOB_MAX {
            return Err(RegistryError::TooLarge {
                digest: digest.to_string(),
                size,
                max: SMALL_BLOB_MAX,
            });
        }
        let kept = self.download(repository, digest, size, true).await?;
        Ok(kept.unwrap_or_default().freeze())
    }

    /// Download the blob `digest` of `size` bytes and check it (`--verify full`), holding
    /// one network chunk at a time.
    pub async fn check_blob(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
    ) -> Result<(), RegistryError> {
        self.download(repository, digest, size, false)
            .await
            .map(|_| ())
    }

    /// One checked download, restarted on a transport failure mid-body; with `keep`, the
    /// bytes are returned too.
    async fn download(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        keep: bool,
    ) -> Result<Option<bytes::BytesMut>, RegistryError> {
        let limits = self.endpoint.limits();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut stream = self.get_blob_stream(repository, digest).await?;
            stream.expect_length(digest, size)?;
            let mut digester = Digester::new(digest, size);
            let mut kept = keep.then(|| bytes::BytesMut::with_capacity(size as usize));
            let body = async {
                while let Some(piece) = stream.next_chunk().await? {
                    digester.update(&piece)?;
                    if let Some(k) = kept.as_mut() {
                        k.extend_from_slice(&piece);
                    }
                }
                Ok(())
            }
            .await;
            match body {
                Ok(()) => return digester.finish().map(|()| kept),
                Err(e @ RegistryError::Transport { .. }) if attempt < limits.max_attempts => {
                    self.endpoint.stats.count_retry();
                    let wait = limits.backoff(attempt);
                    tracing::debug!(%digest, attempt, ?wait, "restarting blob download: {e}");
                    tokio::time::sleep(wait).await;
                }
                // The last body failure: say how many downloads were made.
                Err(RegistryError::Transport { what, message, .. }) => {
                    return Err(RegistryError::Transport {
                        what,
                        message,
                        attempts: attempt,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::manifest::sha256_digest;

    fn run(digest: &str, size: u64, pieces: &[&[u8]]) -> Result<(), RegistryError> {
        let mut d = Digester::new(digest, size);
        for p in pieces {
            d.update(p)?;
        }
        d.finish()
    }

    #[test]
    fn digester_checks_size_then_digest() {
        let digest = sha256_digest(b"hello world");
        assert_eq!(run(&digest, 11, &[b"hello", b" ", b"world"]), Ok(()));
        // Short: the end says how many bytes came.
        assert_eq!(
            run(&digest, 11, &[b"hello"]),
            Err(RegistryError::SizeMismatch {
                digest: digest.clone(),
                expected: 11,
                actual: 5
            })
        );
        // Long: stops at the first piece past the declared size.
        let mut d = Digester::new(&digest, 11);
        d.update(b"hello world").unwrap();
        assert!(matches!(
            d.update(b"!"),
            Err(RegistryError::SizeMismatch { actual: 12, .. })
        ));
        // Same length, other bytes.
        assert_eq!(
            run(&digest, 11, &[b"hello_world"]),
            Err(RegistryError::DigestMismatch {
                what: format!("blob {digest}"),
                expected: digest.clone(),
                actual: sha256_digest(b"hello_world"),
            })
        );
        // Other algorithms are the registry's to check.
        assert_eq!(run("sha512:abc", 2, &[b"hi"]), Ok(()));
    }
}
