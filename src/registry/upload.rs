//! Blob uploads: monolithic (POST + PUT), chunked (POST, PATCH per chunk, PUT `?digest=`),
//! cross-repository mount, and a blob streamed from one registry into another
//! ([`copy_blob_streamed`]).
//!
//! Input: bytes (whole, or from a [`BlobSource`]) and the digest and size they must have.
//! Output: the blob committed in the target repository, or an error and nothing committed.
//! Invariants: a chunked upload holds at most one [`UPLOAD_CHUNK`] in memory and is
//! committed only after the bytes hashed to the expected digest and counted to the expected
//! size; otherwise — or on any failure after the session started — its session is cancelled
//! (`DELETE`, best effort). A chunk that may have reached the registry is never sent again
//! (distribution appends it): PATCH and the final PUT are attempted once, and a failed copy
//! restarts whole.

use reqwest::{Method, StatusCode};

use super::auth::push_scope;
use super::blob::{BlobSource, Digester};
use super::client::{Call, Registry};
use super::errors::RegistryError;
use super::manifest::sha256_digest;
use super::transport::{Reply, Resp, header_str, retryable_status};

/// Largest chunk [`Registry::put_blob_stream`] holds and sends in one PATCH.
pub const UPLOAD_CHUNK: usize = 8 * 1024 * 1024;

/// Whole copies of one blob a [`copy_blob_streamed`] tries (first one included).
pub const STREAM_COPY_ATTEMPTS: u32 = 3;

impl Registry {
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
            return Err(start.error(repository, None, None));
        }
        Ok(start)
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
        let location = with_digest(&location_path(&start)?, &digest);
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
            return Err(put.error(repository, None, Some(&digest)));
        }
        Ok(digest)
    }

    /// Upload the blob `digest` of `size` bytes from `source` in chunks of at most
    /// [`UPLOAD_CHUNK`] bytes, hashing and counting the bytes as they pass. Only one chunk
    /// is held in memory.
    ///
    /// The upload is committed only when the bytes hash to `digest` and number exactly
    /// `size`; otherwise the session is cancelled and the error is
    /// [`RegistryError::DigestMismatch`] / [`RegistryError::SizeMismatch`]. Any other failure
    /// after the session started cancels it too. Only the session start is retried here —
    /// [`copy_blob_streamed`] restarts the whole copy.
    pub async fn put_blob_stream<S: BlobSource>(
        &self,
        repository: &str,
        digest: &str,
        size: u64,
        source: &mut S,
    ) -> Result<(), RegistryError> {
        let scope = push_scope(repository);
        let start = self.open_upload(repository, &scope).await?;
        let mut location = location_path(&start)?;
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
        let mut digester = Digester::new(digest, size);
        let mut sent: u64 = 0;
        // Filled up to exactly one chunk, never beyond: a piece that crosses the boundary
        // is split (zero-copy) and its rest starts the next chunk.
        let mut buf = bytes::BytesMut::with_capacity(UPLOAD_CHUNK);
        while let Some(mut piece) = source.next_chunk().await? {
            // More bytes than the descriptor says: stop before uploading them.
            digester.update(&piece)?;
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
            self.patch_chunk(repository, scope, location, sent, buf.freeze())
                .await?;
        }
        digester.finish()?;
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
            Reply::Read(r) => Err(r.error(repository, None, Some(digest))),
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
            return Err(resp.error(repository, None, None));
        }
        *location = location_path(&resp)?;
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
            _ => Err(resp.error(repository, None, Some(digest))),
        }
    }
}

/// Copy the blob `digest` of `size` bytes from `from` to `to` without holding it in memory:
/// the download streams into a chunked upload that is committed only when digest and size
/// match (see [`Registry::put_blob_stream`]); a source announcing another length fails
/// before an upload starts. A transport failure (or a retryable status) anywhere in the
/// middle restarts the whole copy, at most [`STREAM_COPY_ATTEMPTS`] times in all; a digest
/// or size mismatch never does (the source serves wrong content).
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
            source.expect_length(digest, size)?;
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
        to.endpoint.stats.count_retry();
        let wait = to.endpoint.limits().backoff(attempt);
        tracing::debug!(%digest, attempt, ?wait, "restarting blob copy: {}", result.unwrap_err());
        tokio::time::sleep(wait).await;
    }
}

/// `path` with the `digest=` query parameter that completes an upload.
fn with_digest(path: &str, digest: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}digest={digest}")
}

/// The `Location` of an upload session as a path (with its query: the registry keeps the
/// session state there, and it changes after every chunk).
fn location_path(resp: &Resp) -> Result<String, RegistryError> {
    let loc = header_str(&resp.headers, "location").ok_or_else(|| RegistryError::Transport {
        what: "blob upload".into(),
        message: "no Location header".into(),
        attempts: 1,
    })?;
    Ok(path_and_query(&loc))
}

/// The path and query of a URL, or the text itself when it is already a path.
pub(super) fn path_and_query(target: &str) -> String {
    match reqwest::Url::parse(target) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => target.to_string(),
    }
}
