//! Listings: the tags of a repository and the repositories of a registry, all pages.
//!
//! Input: a repository (or none, for `/v2/_catalog`). Output: every name, in the registry's
//! order. Invariants: pages are followed through `Link: <…>; rel="next"` until there is
//! none (a link back to the same page ends the walk); berth asks for large pages and, when a
//! registry refuses the page size (400, e.g. `PAGINATION_NUMBER_INVALID` above its cap),
//! asks again with a smaller one. Registries that silently cap the page size send a `Link`
//! for the rest.

use reqwest::{Method, StatusCode};

use super::auth::pull_scope;
use super::client::Registry;
use super::errors::RegistryError;
use super::transport::header_str;
use super::upload::path_and_query;

impl Registry {
    /// Every tag of `repository`.
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

    /// Every repository of the registry (`GET /v2/_catalog`).
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

    /// A paginated list (`tags` or `repositories`); see the module doc.
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
                return Err(resp.error(repository, None, None));
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
}

/// Path of the next page from a `Link: </v2/...>; rel="next"` header.
pub(super) fn next_link(link: &str) -> Option<String> {
    let start = link.find('<')? + 1;
    let end = link[start..].find('>')? + start;
    if !link[end..].contains("rel=\"next\"") {
        return None;
    }
    Some(path_and_query(&link[start..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
