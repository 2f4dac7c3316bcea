//! Read validation of `index.json`: the index is input like any other file.
//!
//! Input: a deserialized [`Index`] and the text it came from. Output: every [`Problem`] found,
//! each with a JSON pointer (`/images/ci-base/versions/2/digest`) and the line and column of
//! that value in the text. Checked: the schema version, digests (`sha256:` + 64 lowercase hex,
//! or `sha512:` + 128), pull references that pin the recorded digest of the listed
//! repository, semver version strings, unique versions per image, image keys equal to their
//! `code`, channels that name a recorded version and pull what that version pulls, Dockerfile
//! hashes and promotion digests. Nothing here decides what a version *should* be: that is the
//! edit check's job (only berth writes the index).

use std::collections::BTreeSet;

use crate::model::reference::ImageRef;
use crate::model::{ChannelEntry, INDEX_SCHEMA_VERSION, ImageEntry, Index, VersionEntry};

/// One content problem of an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// RFC 6901 JSON pointer of the offending value.
    pub pointer: String,
    /// 1-based position of that value in the text (1:1 when it cannot be located).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every content problem of `idx` (parsed from `text`), in document order of the checks.
pub fn check(idx: &Index, text: &str) -> Vec<Problem> {
    let mut raw: Vec<(Vec<String>, String)> = Vec::new();
    let mut push = |path: Vec<String>, msg: String| raw.push((path, msg));
    if idx.schema_version == 0 {
        push(
            vec!["schemaVersion".into()],
            format!(
                "schema version 0 is not a schema version (this berth writes {INDEX_SCHEMA_VERSION})"
            ),
        );
    }
    for (key, img) in &idx.images {
        image(key, img, &mut push);
    }
    for (i, p) in idx.promotions.iter().enumerate() {
        if let Some(why) = digest_problem(&p.source_digest) {
            push(
                vec!["promotions".into(), i.to_string(), "sourceDigest".into()],
                why,
            );
        }
    }
    raw.into_iter()
        .map(|(path, message)| {
            let (line, column) = locate(text, &path).unwrap_or((1, 1));
            Problem {
                pointer: pointer(&path),
                line,
                column,
                message,
            }
        })
        .collect()
}

fn image(key: &str, img: &ImageEntry, push: &mut impl FnMut(Vec<String>, String)) {
    let at = |rest: &[&str]| -> Vec<String> {
        let mut p = vec!["images".to_string(), key.to_string()];
        p.extend(rest.iter().map(|s| s.to_string()));
        p
    };
    if img.code != key {
        push(
            at(&["code"]),
            format!("code `{}` differs from its key `{key}`", img.code),
        );
    }
    if let Some(d) = &img.dockerfile
        && let Some(sha) = &d.sha256
        && !is_hex(sha, 64)
    {
        push(
            at(&["dockerfile", "sha256"]),
            format!("`{sha}` is not a sha256 (64 lowercase hex digits)"),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, v) in img.versions.iter().enumerate() {
        let n = i.to_string();
        version(v, &|field: &str| at(&["versions", &n, field]), push);
        if !seen.insert(v.version.as_str()) {
            push(
                at(&["versions", &n, "version"]),
                format!("version {} is recorded more than once", v.version),
            );
        }
    }
    for (field, channels) in [
        ("channels", &img.channels),
        ("testingChannels", &img.testing_channels),
    ] {
        for (name, ch) in channels {
            channel(img, ch, name, &|f: &str| at(&[field, name, f]), push);
        }
    }
}

fn version(
    v: &VersionEntry,
    at: &dyn Fn(&str) -> Vec<String>,
    push: &mut impl FnMut(Vec<String>, String),
) {
    if semver::Version::parse(&v.version).is_err() {
        push(
            at("version"),
            format!("`{}` is not a semver version (e.g. 1.2.0)", v.version),
        );
    }
    let reference = ImageRef::parse_canonical(&v.reference);
    if reference.is_none() {
        push(
            at("reference"),
            format!("`{}` is not a `host/repository:tag` reference", v.reference),
        );
    }
    if let Some(d) = &v.digest
        && let Some(why) = digest_problem(d)
    {
        push(at("digest"), why);
    }
    if let Some(drift) = &v.drift
        && let Some(why) = digest_problem(&drift.digest)
    {
        let mut p = at("drift");
        p.push("digest".into());
        push(p, why);
    }
    match (&v.pull, &v.digest, &reference) {
        (Some(pull), Some(digest), Some(r)) => {
            let want = r.pinned(digest);
            if *pull != want {
                push(
                    at("pull"),
                    format!("`{pull}` does not pin the recorded digest: expected `{want}`"),
                );
            }
        }
        (Some(pull), None, _) => push(
            at("pull"),
            format!("`{pull}` is set but the version has no digest"),
        ),
        _ => {}
    }
}

fn channel(
    img: &ImageEntry,
    ch: &ChannelEntry,
    name: &str,
    at: &dyn Fn(&str) -> Vec<String>,
    push: &mut impl FnMut(Vec<String>, String),
) {
    let major_ok = name
        .strip_suffix(".latest")
        .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()));
    if name != "latest" && !major_ok {
        let mut p = at("version");
        p.pop();
        push(
            p,
            format!("`{name}` is not a channel name (`latest` or `M.latest`)"),
        );
    }
    match img.versions.iter().find(|v| v.version == ch.version) {
        None => push(
            at("version"),
            format!(
                "channel `{name}` points at {}, which is not a recorded version",
                ch.version
            ),
        ),
        Some(v) => {
            let want = v.pull.as_deref().unwrap_or(&v.reference);
            if ch.pull != want {
                push(
                    at("pull"),
                    format!(
                        "channel `{name}` pulls `{}` but version {} pulls `{want}`",
                        ch.pull, ch.version
                    ),
                );
            }
        }
    }
}

/// Why `d` is not a digest berth records, or `None` when it is one.
pub fn digest_problem(d: &str) -> Option<String> {
    let ok = match d.split_once(':') {
        Some(("sha256", hex)) => is_hex(hex, 64),
        Some(("sha512", hex)) => is_hex(hex, 128),
        _ => false,
    };
    (!ok).then(|| format!("`{d}` is not a digest (`sha256:` and 64 lowercase hex digits)"))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// RFC 6901: `~` → `~0`, `/` → `~1`.
fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Line and column (1-based, in characters) of the value at `path` in the JSON `text`.
fn locate(text: &str, path: &[String]) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut i = 0;
    for token in path {
        i = skip_ws(b, i);
        match *b.get(i)? {
            b'{' => {
                i += 1;
                loop {
                    i = skip_ws(b, i);
                    if *b.get(i)? != b'"' {
                        return None;
                    }
                    let end = skip_string(b, i)?;
                    let key: String = serde_json::from_str(&text[i..end]).ok()?;
                    i = skip_ws(b, end);
                    if *b.get(i)? != b':' {
                        return None;
                    }
                    i = skip_ws(b, i + 1);
                    if key == *token {
                        break;
                    }
                    i = skip_ws(b, skip_value(b, i)?);
                    match *b.get(i)? {
                        b',' => i += 1,
                        _ => return None,
                    }
                }
            }
            b'[' => {
                let want: usize = token.parse().ok()?;
                i += 1;
                for _ in 0..want {
                    i = skip_ws(b, skip_value(b, skip_ws(b, i))?);
                    match *b.get(i)? {
                        b',' => i += 1,
                        _ => return None,
                    }
                }
                i = skip_ws(b, i);
            }
            _ => return None,
        }
    }
    let before = &text[..i];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Some((line, col))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// `i` at an opening quote; returns the index after the closing quote.
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// `i` at the start of a value; returns the index after it.
fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = skip_string(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            while i < b.len() && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
            {
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_values_by_pointer() {
        let text =
            "{\n  \"a\": [1, {\"b/c\": \"x\"}],\n  \"d\": {\"e\": \"s\\\"}\", \"f\": null}\n}\n";
        assert_eq!(locate(text, &["a".into()]), Some((2, 8)));
        assert_eq!(
            locate(text, &["a".into(), "1".into(), "b/c".into()]),
            Some((2, 20))
        );
        assert_eq!(locate(text, &["d".into(), "f".into()]), Some((3, 27)));
        assert_eq!(locate(text, &["nope".into()]), None);
        assert_eq!(pointer(&["a/b".into(), "c~".into()]), "/a~1b/c~0");
    }

    #[test]
    fn digests() {
        assert_eq!(digest_problem(&format!("sha256:{}", "a".repeat(64))), None);
        assert!(digest_problem("sha256:nothex").is_some());
        assert!(digest_problem(&format!("sha256:{}", "A".repeat(64))).is_some());
        assert!(digest_problem(&format!("md5:{}", "a".repeat(64))).is_some());
    }
}
