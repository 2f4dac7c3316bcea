//! Where a consumer reads the index from: a file, standard input (`-`), or a URL.
//!
//! Input: the `--index` argument as written. Output: the index text and a name for messages.
//! URLs: `https://` anywhere; `http://` only to a loopback host (a test server, a local
//! mirror) — the index decides what pipelines pull, so an intermediary on a plain-http path
//! could re-point it. Fetching has a timeout, retries with backoff on connection errors, 429
//! and 5xx, and an on-disk cache revalidated with `If-None-Match`, so many `berth resolve`
//! calls in one job cost one download and then one 304 each. The cache holds only the public
//! index body and its ETag, keyed by the sha256 of the URL, under `$BERTH_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/berth`, else `~/.cache/berth`. Not a berth index (no `schemaVersion`, HTML
//! from a login page, …) is an error that says so.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Where to read the index from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Stdin,
    Url(String),
}

impl Source {
    /// Classify an `--index` argument.
    pub fn parse(arg: &str) -> Source {
        if arg == "-" {
            Source::Stdin
        } else if arg.starts_with("https://") || arg.starts_with("http://") {
            Source::Url(arg.to_string())
        } else {
            Source::File(PathBuf::from(arg))
        }
    }
}

/// Why the index could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {0}: {1}")]
    Io(String, std::io::Error),
    #[error("no index at {0}; run `berth apply` first")]
    Missing(String),
    #[error("{0}: plain http is refused for an index (it decides what pipelines pull); use https")]
    PlainHttp(String),
    #[error("{url}: {message}")]
    Fetch { url: String, message: String },
    #[error("{0} is not a berth index: {1}")]
    NotAnIndex(String, String),
}

/// How a URL is fetched (tests shorten the timeouts).
#[derive(Clone, Debug)]
pub struct FetchOptions {
    pub timeout: Duration,
    pub attempts: u32,
    pub cache_dir: Option<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: Duration::from_secs(30),
            attempts: 4,
            cache_dir: default_cache_dir(),
        }
    }
}

/// `$BERTH_CACHE_DIR`, else `$XDG_CACHE_HOME/berth`, else `$HOME/.cache/berth`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("BERTH_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("berth")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("berth")))
}

/// The index text and how to name it in messages.
#[derive(Debug)]
pub struct Fetched {
    pub text: String,
    pub name: String,
    /// For URLs: true when the cached copy was confirmed (304) instead of downloaded.
    pub from_cache: bool,
}

/// Read the index text from `source`, checking that it looks like a berth index.
pub fn read(source: &Source, opts: &FetchOptions) -> Result<Fetched, SourceError> {
    let fetched = match source {
        Source::File(p) => {
            let name = p.display().to_string();
            match std::fs::read_to_string(p) {
                Ok(text) => Fetched {
                    text,
                    name,
                    from_cache: false,
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(SourceError::Missing(name));
                }
                Err(e) => return Err(SourceError::Io(name, e)),
            }
        }
        Source::Stdin => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| SourceError::Io("standard input".into(), e))?;
            Fetched {
                text,
                name: "standard input".into(),
                from_cache: false,
            }
        }
        Source::Url(url) => fetch(url, opts)?,
    };
    looks_like_index(&fetched.text, &fetched.name)?;
    Ok(fetched)
}

/// A berth index is a JSON object with a numeric `schemaVersion`; say what it is otherwise.
fn looks_like_index(text: &str, name: &str) -> Result<(), SourceError> {
    let not = |why: &str| Err(SourceError::NotAnIndex(name.to_string(), why.to_string()));
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return not("it is empty");
    }
    if trimmed.starts_with('<') {
        return not("it is HTML (a login or error page?), not JSON");
    }
    // Only `schemaVersion` is kept: the rest is skipped, never built into a tree (a tree of
    // a 100,000-image index would be several times the size of the index itself).
    match serde_json::from_str::<SchemaVersion>(text) {
        Err(e) => not(&format!("it is not JSON ({e})")),
        Ok(SchemaVersion(None)) => not("it has no numeric `schemaVersion`"),
        Ok(SchemaVersion(Some(_))) => Ok(()),
    }
}

/// The numeric top-level `schemaVersion` of any JSON text, if it has one (the last one, when
/// it is given twice, as a JSON object map reads it).
struct SchemaVersion(Option<u64>);

impl<'de> serde::Deserialize<'de> for SchemaVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SchemaVersion;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<SchemaVersion, A::Error> {
                let mut found = None;
                while let Some(key) = m.next_key::<String>()? {
                    if key == "schemaVersion" {
                        found = m.next_value::<serde_json::Value>()?.as_u64();
                    } else {
                        m.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(SchemaVersion(found))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<SchemaVersion, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(SchemaVersion(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<SchemaVersion, E> {
                Ok(SchemaVersion(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<SchemaVersion, E> {
                Ok(SchemaVersion(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<SchemaVersion, E> {
                Ok(SchemaVersion(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<SchemaVersion, E> {
                Ok(SchemaVersion(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<SchemaVersion, E> {
                Ok(SchemaVersion(None))
            }
            fn visit_unit<E>(self) -> Result<SchemaVersion, E> {
                Ok(SchemaVersion(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn cache_paths(dir: &Path, url: &str) -> (PathBuf, PathBuf) {
    let key: String = Sha256::digest(url.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let base = dir.join("index");
    (
        base.join(format!("{key}.json")),
        base.join(format!("{key}.etag")),
    )
}

fn fetch(url: &str, opts: &FetchOptions) -> Result<Fetched, SourceError> {
    let err = |message: String| SourceError::Fetch {
        url: url.to_string(),
        message,
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| err(format!("not a URL: {e}")))?;
    if parsed.scheme() == "http" && !loopback(&parsed) {
        return Err(SourceError::PlainHttp(url.to_string()));
    }
    let cache = opts.cache_dir.as_deref().map(|d| cache_paths(d, url));
    let cached = cache.as_ref().and_then(|(body, etag)| {
        let text = std::fs::read_to_string(body).ok()?;
        let etag = std::fs::read_to_string(etag).ok()?;
        Some((text, etag))
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| err(format!("cannot start the async runtime: {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(opts.timeout)
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| err(e.to_string()))?;
    let mut last = String::new();
    for attempt in 0..opts.attempts.max(1) {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 << (attempt - 1).min(5)));
        }
        let mut req = client.get(parsed.clone());
        if let Some((_, etag)) = &cached {
            req = req.header(reqwest::header::IF_NONE_MATCH, etag.trim());
        }
        let resp = match rt.block_on(async { req.send().await }) {
            Ok(r) => r,
            Err(e) => {
                last = format!("request failed: {e}");
                continue;
            }
        };
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED
            && let Some((text, _)) = &cached
        {
            return Ok(Fetched {
                text: text.clone(),
                name: url.to_string(),
                from_cache: true,
            });
        }
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            last = format!("HTTP {status}");
            continue;
        }
        if !status.is_success() {
            return Err(err(format!("HTTP {status}")));
        }
        let etag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = match rt.block_on(async { resp.text().await }) {
            Ok(t) => t,
            Err(e) => {
                last = format!("reading the body failed: {e}");
                continue;
            }
        };
        if let (Some((body, etag_path)), Some(etag)) = (&cache, etag) {
            // Only a well-formed index is cached; a failure to cache only costs a download.
            let ok = looks_like_index(&text, "").is_ok();
            if ok {
                let _ = crate::model::fsutil::write_atomic(body, text.as_bytes())
                    .and_then(|_| crate::model::fsutil::write_atomic(etag_path, etag.as_bytes()));
            }
        }
        return Ok(Fetched {
            text,
            name: url.to_string(),
            from_cache: false,
        });
    }
    Err(err(format!(
        "gave up after {} attempt(s): {last}",
        opts.attempts.max(1)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_classified() {
        assert_eq!(Source::parse("-"), Source::Stdin);
        assert_eq!(
            Source::parse("https://x.example/index.json"),
            Source::Url("https://x.example/index.json".into())
        );
        assert_eq!(
            Source::parse("index.json"),
            Source::File(PathBuf::from("index.json"))
        );
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback() {
        let opts = FetchOptions {
            timeout: Duration::from_millis(200),
            attempts: 1,
            cache_dir: None,
        };
        let e = read(&Source::Url("http://example.com/index.json".into()), &opts).unwrap_err();
        assert!(matches!(e, SourceError::PlainHttp(_)), "{e}");
        // Loopback is allowed (nothing listens on port 9 here: a fetch error, not a refusal).
        let e = read(&Source::Url("http://127.0.0.1:9/index.json".into()), &opts).unwrap_err();
        assert!(matches!(e, SourceError::Fetch { .. }), "{e}");
    }

    #[test]
    fn not_an_index_says_what_it_is() {
        for (text, why) in [
            ("", "empty"),
            ("<html>login</html>", "HTML"),
            ("{\"a\": 1}", "schemaVersion"),
            ("{\"schemaVersion\": \"1\"}", "schemaVersion"),
            ("[{\"schemaVersion\": 1}]", "schemaVersion"),
            ("7", "schemaVersion"),
            ("{\"schemaVersion\": 1, \"images\": {", "not JSON"),
            ("nope", "not JSON"),
        ] {
            let e = looks_like_index(text, "x").unwrap_err();
            assert!(e.to_string().contains(why), "{text}: {e}");
        }
        // Only the top level counts; everything else is skipped, not read into a tree.
        for ok in [
            "{\"schemaVersion\": 1}",
            "{\"images\": {\"a\": {\"schemaVersion\": \"x\"}}, \"schemaVersion\": 2}",
        ] {
            assert!(looks_like_index(ok, "x").is_ok(), "{ok}");
        }
    }
}
