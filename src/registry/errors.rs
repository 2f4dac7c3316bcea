//! Errors of registry operations, and the mapping of a registry's error answers to them.
//!
//! Input: an HTTP status and the distribution error body (`{"errors":[{"code","message"}]}`).
//! Output: a [`RegistryError`] whose message is user-facing (recorded as a verification
//! reason, printed in promotion problems). Invariant: messages carry status codes, registry
//! error codes and messages, digests, repository names and URLs — never a credential.

use reqwest::StatusCode;

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
    /// The registry named a digest (`Docker-Content-Digest`) that is not the digest of the
    /// bytes it sent.
    #[error(
        "{what}: Docker-Content-Digest {header} is not the sha256 of the bytes received ({actual})"
    )]
    DigestHeaderMismatch {
        what: String,
        header: String,
        actual: String,
    },
    /// The registry named no digest, and pulling by the digest of the bytes it sent failed:
    /// that digest is not one it serves.
    #[error(
        "{what}: no Docker-Content-Digest, and the registry does not serve the sha256 of the \
         bytes received ({digest}): {why}"
    )]
    DigestNotServed {
        what: String,
        digest: String,
        why: String,
    },
    #[error(
        "size mismatch for blob {digest}: manifest says {expected} bytes, registry has {actual}"
    )]
    SizeMismatch {
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error("blob {digest} is {size} bytes, more than the {max} bytes berth reads whole")]
    TooLarge { digest: String, size: u64, max: u64 },
    #[error("invalid manifest {reference}: {message}")]
    InvalidManifest { reference: String, message: String },
    #[error("invalid image config {digest}: {message}")]
    InvalidConfig { digest: String, message: String },
    #[error("invalid registry host {0}")]
    InvalidHost(String),
    /// No credential could be had (message from `registry::credentials`, never a secret).
    #[error("{0}")]
    Credential(String),
}

impl RegistryError {
    /// A 404 of the thing asked for: "absent", not a failure, for callers that ask whether
    /// something exists.
    pub fn is_absent(&self) -> bool {
        matches!(
            self,
            RegistryError::ManifestUnknown { .. }
                | RegistryError::NameUnknown { .. }
                | RegistryError::BlobUnknown { .. }
        )
    }
}

/// The first registry error code and message of an error body, as ` (CODE: message)`.
pub(super) fn error_detail(body: &[u8]) -> String {
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
pub(super) fn status_error(
    status: StatusCode,
    body: &[u8],
    repository: &str,
    reference: Option<&str>,
    digest: Option<&str>,
) -> RegistryError {
    let code = error_code(body);
    match status {
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
            detail: error_detail(body),
        },
        StatusCode::FORBIDDEN => RegistryError::Denied {
            detail: error_detail(body),
        },
        s => RegistryError::Status {
            what: repository.to_string(),
            status: s.as_u16(),
            detail: error_detail(body),
            attempts: 1,
        },
    }
}
