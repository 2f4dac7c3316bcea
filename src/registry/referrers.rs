//! The OCI 1.1 referrers API: what refers to a manifest (signatures, SBOMs, scan reports).
//!
//! Input: a repository, a subject digest and optionally an `artifactType` filter. Output: the
//! descriptors the registry lists (all pages), or `None` when the registry does not offer the
//! API — it answers the route with 404 (or 405/400: no such route) — so that the caller falls
//! back to the referrers tag schema (`sha256-<hex>`, see `crate::supply`).
//!
//! Invariants: a filter the registry did not apply (no `OCI-Filters-Applied: artifactType`)
//! is applied here, so the answer is the same either way; a body that is not an image index
//! is an error, never an empty list.

use reqwest::{Method, StatusCode};

use super::auth::pull_scope;
use super::client::Registry;
use super::errors::RegistryError;
use super::list::next_link;
use super::manifest::{Descriptor, OCI_INDEX};
use super::transport::header_str;

impl Registry {
    /// `GET /v2/<repository>/referrers/<digest>[?artifactType=…]`, every page; `None` when the
    /// registry has no referrers API.
    pub async fn referrers(
        &self,
        repository: &str,
        digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Descriptor>>, RegistryError> {
        let what = format!("GET referrers {repository}@{digest}");
        let mut path = format!("/v2/{repository}/referrers/{digest}");
        if let Some(t) = artifact_type {
            path.push_str("?artifactType=");
            path.push_str(&url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>());
        }
        let mut out = Vec::new();
        let mut filtered = true;
        let mut first = true;
        loop {
            let resp = self
                .request(
                    &what,
                    &pull_scope(repository),
                    Method::GET,
                    &path,
                    &[("Accept", OCI_INDEX)],
                    None,
                )
                .await?;
            let no_api = [
                StatusCode::NOT_FOUND,
                StatusCode::METHOD_NOT_ALLOWED,
                StatusCode::BAD_REQUEST,
            ];
            if first && no_api.contains(&resp.status) {
                return Ok(None);
            }
            if !resp.status.is_success() {
                return Err(resp.error(repository, Some(digest), None));
            }
            first = false;
            filtered &= header_str(&resp.headers, "oci-filters-applied")
                .is_some_and(|h| h.split(',').any(|f| f.trim() == "artifactType"));
            #[derive(serde::Deserialize)]
            struct Page {
                manifests: Vec<Descriptor>,
            }
            let page: Page =
                serde_json::from_slice(&resp.body).map_err(|e| RegistryError::InvalidManifest {
                    reference: format!("{repository} referrers of {digest}"),
                    message: e.to_string(),
                })?;
            out.extend(page.manifests);
            match header_str(&resp.headers, "link").and_then(|l| next_link(&l)) {
                Some(next) if next != path => path = next,
                _ => break,
            }
        }
        if let Some(t) = artifact_type
            && !filtered
        {
            out.retain(|d| d.artifact_type.as_deref() == Some(t));
        }
        Ok(Some(out))
    }
}
