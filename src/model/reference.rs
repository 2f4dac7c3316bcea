//! OCI image references: validation and normalization.
//!
//! Input: registry/repository/tag strings as written in listings and policies. Output:
//! [`ImageRef`] in canonical form (`docker.io` for a blank registry, `library/x` for single
//! component Docker Hub names), rendered as `host/repo:tag` or `host/repo@digest`.
//! The grammar follows the distribution reference spec (the one registries enforce), so a
//! reference accepted here is one a registry can serve.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use crate::model::ImageSpec;

pub const DOCKER_HUB: &str = "docker.io";

static TAG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").unwrap());
static PATH_COMPONENT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$").unwrap());
static DOMAIN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$").unwrap()
});
static DIGEST_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$").unwrap());

/// Is `tag` a valid OCI tag?
pub fn valid_tag(tag: &str) -> bool {
    TAG_RE.is_match(tag)
}

/// Is `repo` a valid repository path (lowercase components separated by `/`, ≤ 255 chars)?
pub fn valid_repository(repo: &str) -> bool {
    !repo.is_empty() && repo.len() <= 255 && repo.split('/').all(|c| PATH_COMPONENT_RE.is_match(c))
}

/// Is `host` a valid registry host (`name[:port]`, `localhost:5000`, `[::1]:5000`)?
pub fn valid_registry(host: &str) -> bool {
    DOMAIN_RE.is_match(host)
}

/// Is `digest` a well-formed content digest?
pub fn valid_digest(digest: &str) -> bool {
    DIGEST_RE.is_match(digest)
}

/// Canonical registry host: blank → `docker.io`; Docker Hub aliases folded.
pub fn normalize_registry(registry: Option<&str>) -> String {
    match registry.map(str::trim) {
        None | Some("") => DOCKER_HUB.to_string(),
        Some("index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com") => {
            DOCKER_HUB.to_string()
        }
        Some(h) => h.to_ascii_lowercase(),
    }
}

/// Canonical repository: Docker Hub single-component names live under `library/`.
pub fn normalize_repository(registry: &str, repository: &str) -> String {
    if registry == DOCKER_HUB && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository.to_string()
    }
}

/// A canonical `registry/repository:tag`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    pub tag: String,
}

impl ImageRef {
    pub fn new(registry: Option<&str>, repository: &str, tag: &str) -> Self {
        let registry = normalize_registry(registry);
        let repository = normalize_repository(&registry, repository);
        ImageRef {
            registry,
            repository,
            tag: tag.to_string(),
        }
    }

    /// The canonical reference of a listing's image.
    pub fn of_spec(spec: &ImageSpec) -> Self {
        ImageRef::new(
            spec.registry.as_ref().map(|r| r.value.as_str()),
            &spec.repository,
            &spec.tag,
        )
    }

    /// `host/repo`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `host/repo@digest`.
    pub fn pinned(&self, digest: &str) -> String {
        format!("{}/{}@{}", self.registry, self.repository, digest)
    }

    /// Parse a canonical `host/repo:tag` as written into index.json.
    pub fn parse_canonical(s: &str) -> Option<Self> {
        let (host, rest) = s.split_once('/')?;
        let (repo, tag) = rest.rsplit_once(':')?;
        Some(ImageRef {
            registry: host.to_string(),
            repository: repo.to_string(),
            tag: tag.to_string(),
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.registry, self.repository, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_docker_hub() {
        assert_eq!(
            ImageRef::new(None, "ubuntu", "24.04").to_string(),
            "docker.io/library/ubuntu:24.04"
        );
        assert_eq!(
            ImageRef::new(Some(""), "acme/x", "1").to_string(),
            "docker.io/acme/x:1"
        );
        assert_eq!(
            ImageRef::new(Some("index.docker.io"), "x", "1").to_string(),
            "docker.io/library/x:1"
        );
        assert_eq!(
            ImageRef::new(Some("reg.example.com"), "x", "1").to_string(),
            "reg.example.com/x:1"
        );
        assert_eq!(
            ImageRef::parse_canonical("localhost:5000/a/b:1.0").unwrap(),
            ImageRef::new(Some("localhost:5000"), "a/b", "1.0")
        );
    }

    #[test]
    fn validates_parts() {
        for ok in ["1.0", "2026.11.1", "v1_x-y", "_a", "latest"] {
            assert!(valid_tag(ok), "{ok}");
        }
        for bad in ["", "-a", ".a", "a:b", "a/b", &"x".repeat(129)] {
            assert!(!valid_tag(bad), "{bad}");
        }
        for ok in ["acme/ci-base", "a", "a/b/c", "a__b", "a.b", "a---b"] {
            assert!(valid_repository(ok), "{ok}");
        }
        for bad in ["", "Acme/x", "a//b", "/a", "a/", "a_", "-a", "a:b"] {
            assert!(!valid_repository(bad), "{bad}");
        }
        for ok in [
            "docker.io",
            "localhost:5000",
            "reg.example.com",
            "127.0.0.1:5000",
            "[::1]:5000",
        ] {
            assert!(valid_registry(ok), "{ok}");
        }
        for bad in ["", "http://x", "a_b.com", "x:", "x/y", "-a.com"] {
            assert!(!valid_registry(bad), "{bad}");
        }
    }
}
