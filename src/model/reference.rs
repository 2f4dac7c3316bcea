//! OCI image references: the one parser, validation and normalization.
//!
//! Input: registry/repository/tag strings as written in listings and policies, references
//! typed by people (`berth promote library/nginx:1 …`) and the canonical references berth
//! writes into index.json. Output: [`Reference`] (a name with a tag and/or a digest) and
//! [`ImageRef`] (a tagged name) in canonical form (`docker.io` for a blank registry, Docker
//! Hub aliases folded, `library/x` for single component Docker Hub names), rendered as
//! `host/repo:tag` or `host/repo@digest`; diagnostics for invalid registry and repository
//! fields of listings and policies.
//!
//! The grammar follows the distribution reference spec (the one registries and `docker pull`
//! enforce), so a reference accepted here is one a registry can serve:
//! - [`Reference::parse`] (user input): the first `/`-separated component is a registry host
//!   only when it contains `.` or `:` or is `localhost` (`reg.example.com/x`,
//!   `localhost:5000/x`); otherwise the whole name is a Docker Hub repository
//!   (`library/nginx` → `docker.io/library/nginx`, `nginx` → `docker.io/library/nginx`).
//! - [`Reference::parse_canonical`] (index.json): the first component is always the host, as
//!   berth wrote it (a host without a dot, `registry/x:1`, stays a host).
//! - Both: `name[:tag][@digest]`, the tag after the last `:` that follows the last `/`; the
//!   digest after `@` (`sha256:` + 64 hex, or `sha512:` + 128 hex).

use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::model::ImageSpec;
use crate::model::diag::{Code, Diagnostic};
use crate::model::span::Sp;

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

    /// Parse a canonical `host/repo:tag` as written into index.json (see
    /// [`Reference::parse_canonical`]); `None` when it is not one.
    pub fn parse_canonical(s: &str) -> Option<Self> {
        let r = Reference::parse_canonical(s).ok()?;
        match (r.tag, r.digest) {
            (Some(tag), None) => Some(ImageRef {
                registry: r.registry,
                repository: r.repository,
                tag,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.registry, self.repository, self.tag)
    }
}

/// A parsed image reference: a canonical name with a tag, a digest, or both.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Why a string is not an image reference.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error(
        "`{0}` is not an image reference (expected [host/]repository:tag or [host/]repository@sha256:…)"
    )]
    Syntax(String),
    #[error("`{0}` is not a valid registry host")]
    Registry(String),
    #[error(
        "`{0}` is not a valid repository (lowercase components [a-z0-9] joined by `.`, `_`, `__` or `-`, separated by `/`)"
    )]
    Repository(String),
    #[error("`{0}` is not a valid tag")]
    Tag(String),
    #[error("`{0}` is not a valid digest (sha256:<64 hex> or sha512:<128 hex>)")]
    Digest(String),
}

impl Reference {
    /// Parse a reference as people write it (distribution rules, Docker Hub defaults).
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let (name, tag, digest) = split_reference(s)?;
        let (host, path) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (Some(first), rest)
            }
            _ => (None, name),
        };
        Self::build(s, host, path, tag, digest)
    }

    /// Parse a reference whose first component is always the host (`host/repo:tag`,
    /// `host/repo@sha256:…`), as berth writes them into index.json.
    pub fn parse_canonical(s: &str) -> Result<Self, ReferenceError> {
        let (name, tag, digest) = split_reference(s)?;
        let (host, path) = name
            .split_once('/')
            .ok_or_else(|| ReferenceError::Syntax(s.to_string()))?;
        Self::build(s, Some(host), path, tag, digest)
    }

    fn build(
        s: &str,
        host: Option<&str>,
        path: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Self, ReferenceError> {
        if let Some(h) = host
            && !valid_registry(h)
        {
            return Err(ReferenceError::Registry(h.to_string()));
        }
        if path.is_empty() {
            return Err(ReferenceError::Syntax(s.to_string()));
        }
        if !valid_repository(path) {
            return Err(ReferenceError::Repository(path.to_string()));
        }
        if let Some(t) = tag
            && !valid_tag(t)
        {
            return Err(ReferenceError::Tag(t.to_string()));
        }
        if let Some(d) = digest
            && !valid_digest(d)
        {
            return Err(ReferenceError::Digest(d.to_string()));
        }
        let registry = normalize_registry(host);
        let repository = normalize_repository(&registry, path);
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }

    /// `host/repo`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// `name[:tag][@digest]` → (name, tag, digest); the tag's `:` must follow the last `/` (a
/// `:` before it is a port).
fn split_reference(s: &str) -> Result<(&str, Option<&str>, Option<&str>), ReferenceError> {
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return Err(ReferenceError::Syntax(s.to_string()));
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if name.is_empty() {
        return Err(ReferenceError::Syntax(s.to_string()));
    }
    Ok((name, tag, digest))
}

// ---------------------------------------------------------------------------------------------
// Diagnostics for the registry/repository fields of listings and policies

/// E0109 for a `registry:` field that is given, not blank, and not a host.
pub fn registry_diagnostic(reg: Option<&Sp<String>>, file: &Path) -> Option<Diagnostic> {
    let r = reg?;
    if r.value.trim().is_empty() || valid_registry(&r.value) {
        return None;
    }
    Some(
        Diagnostic::error(
            Code::InvalidRegistry,
            file,
            r.pos,
            format!("`{}` is not a valid registry host", r.value),
        )
        .with_hint("write the host only, e.g. `reg.example.com` or `localhost:5000`; leave it out for docker.io"),
    )
}

/// E0107 for a `repository:` field that is not a repository path.
pub fn repository_diagnostic(repo: &Sp<String>, file: &Path) -> Option<Diagnostic> {
    if valid_repository(&repo.value) {
        return None;
    }
    Some(
        Diagnostic::error(
            Code::InvalidRepository,
            file,
            repo.pos,
            format!("`{}` is not a valid OCI repository", repo.value),
        )
        .with_hint("lowercase components [a-z0-9] joined by `.`, `_`, `__` or `-`, separated by `/`; no registry host or tag in it"),
    )
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

    /// One table for the parser: input → canonical rendering, or the error.
    #[test]
    fn parses_references() {
        let d = format!("sha256:{}", "a".repeat(64));
        let ok: &[(&str, &str)] = &[
            // Docker Hub: no host component.
            ("nginx", "docker.io/library/nginx"),
            ("nginx:1", "docker.io/library/nginx:1"),
            ("library/nginx:1", "docker.io/library/nginx:1"),
            ("acme/ci-base:2026.11.1", "docker.io/acme/ci-base:2026.11.1"),
            ("acme/team/app:1", "docker.io/acme/team/app:1"),
            ("web:1", "docker.io/library/web:1"),
            // A host has a `.` or `:`, or is localhost.
            ("docker.io/ubuntu:24.04", "docker.io/library/ubuntu:24.04"),
            ("index.docker.io/x:1", "docker.io/library/x:1"),
            ("reg.example.com/x:1", "reg.example.com/x:1"),
            ("Reg.Example.com/x:1", "reg.example.com/x:1"),
            ("127.0.0.1:5000/dev/web:1.0", "127.0.0.1:5000/dev/web:1.0"),
            ("localhost:5000/a/b:1", "localhost:5000/a/b:1"),
            ("localhost/a:1", "localhost/a:1"),
            ("[::1]:5000/a:1", "[::1]:5000/a:1"),
            ("localhost:5000/a", "localhost:5000/a"),
        ];
        for (input, want) in ok {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.to_string(), *want, "{input}");
        }
        let r = Reference::parse(&format!("reg.test/x@{d}")).unwrap();
        assert_eq!(
            (r.tag.as_deref(), r.digest.as_deref()),
            (None, Some(d.as_str()))
        );
        let r = Reference::parse(&format!("library/nginx:1@{d}")).unwrap();
        assert_eq!(r.to_string(), format!("docker.io/library/nginx:1@{d}"));
        let r = Reference::parse("library/nginx:1").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("docker.io", "library/nginx", Some("1"))
        );
        let bad: &[(&str, ReferenceError)] = &[
            ("", ReferenceError::Syntax(String::new())),
            ("a b:1", ReferenceError::Syntax("a b:1".into())),
            (":1", ReferenceError::Syntax(":1".into())),
            ("reg.test/:1", ReferenceError::Syntax("reg.test/:1".into())),
            ("reg.test/X:1", ReferenceError::Repository("X".into())),
            (
                "Library/nginx:1",
                ReferenceError::Repository("Library/nginx".into()),
            ),
            ("reg.test/x:-a", ReferenceError::Tag("-a".into())),
            ("reg.test/x:", ReferenceError::Tag(String::new())),
            (
                "reg.test/x@sha256:zz",
                ReferenceError::Digest("sha256:zz".into()),
            ),
            (
                "reg_x.test/x:1",
                ReferenceError::Registry("reg_x.test".into()),
            ),
            (
                "http://reg.test/x:1",
                ReferenceError::Registry("http:".into()),
            ),
        ];
        for (input, want) in bad {
            assert_eq!(Reference::parse(input).as_ref(), Err(want), "{input}");
        }
    }

    #[test]
    fn canonical_references_always_start_with_the_host() {
        let r = Reference::parse_canonical("registry/x:1").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("registry", "x")
        );
        // The same text typed by a person is a Docker Hub repository.
        assert_eq!(
            Reference::parse("registry/x:1").unwrap().to_string(),
            "docker.io/registry/x:1"
        );
        assert_eq!(
            ImageRef::parse_canonical("docker.io/library/ubuntu:24.04").unwrap(),
            ImageRef::new(None, "ubuntu", "24.04")
        );
        assert!(ImageRef::parse_canonical("ubuntu:24.04").is_none());
        assert!(ImageRef::parse_canonical("reg.test/x").is_none());
        let d = format!("sha256:{}", "b".repeat(64));
        assert!(ImageRef::parse_canonical(&format!("reg.test/x@{d}")).is_none());
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
