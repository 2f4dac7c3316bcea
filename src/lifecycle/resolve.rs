//! Resolution of `CODE@SELECTOR` (`berth resolve`): selector → pinned pull reference.
//!
//! Input: the index (read-only) and a selector: an exact version (`1.2.0`), `M.latest` or
//! `latest`. Output: the pull reference (`host/repo@sha256:…`; the tag reference only when
//! the version was recorded without verification) or a JSON object with `--json`.
//! Visibility: everyone sees released versions; the image's debug project also sees testing
//! versions (channels via `testingChannels`). Exact pins of delisted or QA-failed versions
//! still resolve — reproducing an old build must keep working — with a warning on stderr.

use serde::Serialize;

use crate::model::{ImageEntry, Index, QaStatus, Status};

/// Why a selector did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("`{0}` is not CODE@SELECTOR (e.g. ci-base@1.latest, ci-base@latest, ci-base@1.2.0)")]
    Syntax(String),
    #[error("no image `{0}` in the index")]
    UnknownImage(String),
    #[error("{code}: no version {version}")]
    UnknownVersion { code: String, version: String },
    #[error("{code}: channel `{channel}` has no version{hint}")]
    EmptyChannel {
        code: String,
        channel: String,
        hint: String,
    },
    #[error("{code}@{version} is {status}{hint}")]
    NotVisible {
        code: String,
        version: String,
        status: Status,
        hint: String,
    },
}

/// A resolved selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolved {
    pub code: String,
    pub selector: String,
    pub version: String,
    pub status: Status,
    /// What to pull: pinned by digest when known.
    pub pull: String,
    pub reference: String,
    pub digest: Option<String>,
    /// True when only a delisted version is left for this selector.
    pub deprecated: bool,
    /// Warnings for stderr (QA failed, delisted, not pinned).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Resolve `target` (CODE@SELECTOR) against `index` for `project`.
pub fn resolve(
    index: &Index,
    target: &str,
    project: Option<&str>,
) -> Result<Resolved, ResolveError> {
    let (code, selector) = target
        .split_once('@')
        .filter(|(c, s)| !c.is_empty() && !s.is_empty())
        .ok_or_else(|| ResolveError::Syntax(target.to_string()))?;
    let img = index
        .images
        .get(code)
        .ok_or_else(|| ResolveError::UnknownImage(code.to_string()))?;
    let debug = project.is_some() && project == img.debug_project.as_deref();
    let (version, deprecated) = if selector == "latest" || selector.ends_with(".latest") {
        let channels = if debug {
            &img.testing_channels
        } else {
            &img.channels
        };
        let ch = channels
            .get(selector)
            .ok_or_else(|| ResolveError::EmptyChannel {
                code: code.to_string(),
                channel: selector.to_string(),
                hint: channel_hint(img, debug),
            })?;
        (ch.version.clone(), ch.deprecated)
    } else {
        (selector.to_string(), false)
    };
    let v = img
        .versions
        .iter()
        .find(|v| v.version == version)
        .ok_or_else(|| ResolveError::UnknownVersion {
            code: code.to_string(),
            version: version.clone(),
        })?;
    let visible = match v.status {
        Status::Released | Status::Delisted => true,
        Status::Testing => debug,
        Status::CheckFailed | Status::Cancelled => false,
    };
    if !visible {
        let hint = match (v.status, &img.debug_project) {
            (Status::Testing, Some(p)) => format!(" (visible to the debug project: --project {p})"),
            (Status::CheckFailed, _) => format!(
                " (pull verification failed: {})",
                v.verification.reason.as_deref().unwrap_or("unknown reason")
            ),
            _ => String::new(),
        };
        return Err(ResolveError::NotVisible {
            code: code.to_string(),
            version: v.version.clone(),
            status: v.status,
            hint,
        });
    }
    let mut warnings = Vec::new();
    if v.status == Status::Delisted {
        warnings.push(format!("{code}@{} is delisted (deprecated)", v.version));
    }
    if let Some(q) = &v.qa
        && q.status == QaStatus::Failed
    {
        warnings.push(format!(
            "{code}@{} failed QA: {}",
            v.version,
            q.reason.as_deref().unwrap_or("no reason given")
        ));
    }
    if v.pull.is_none() {
        warnings.push(format!(
            "{code}@{} was recorded without verification: not pinned by digest",
            v.version
        ));
    }
    Ok(Resolved {
        code: code.to_string(),
        selector: selector.to_string(),
        version: v.version.clone(),
        status: v.status,
        pull: v.pull.clone().unwrap_or_else(|| v.reference.clone()),
        reference: v.reference.clone(),
        digest: v.digest.clone(),
        deprecated: deprecated || v.status == Status::Delisted,
        warnings,
    })
}

fn channel_hint(img: &ImageEntry, debug: bool) -> String {
    let names: Vec<&str> = if debug {
        &img.testing_channels
    } else {
        &img.channels
    }
    .keys()
    .map(String::as_str)
    .collect();
    if names.is_empty() {
        " (no released version yet)".to_string()
    } else {
        format!(" (channels: {})", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Index {
        let text = include_str!("../../fixtures/demo/index.json");
        crate::index::parse(text, "index.json").unwrap()
    }

    #[test]
    fn resolve_table() {
        let idx = demo();
        // (target, project, Ok(version, deprecated) | Err(fragment))
        type Case<'a> = (&'a str, Option<&'a str>, Result<(&'a str, bool), &'a str>);
        let cases: &[Case] = &[
            ("ci-base@latest", None, Ok(("1.1.0", false))),
            ("ci-base@1.latest", None, Ok(("1.1.0", false))),
            ("ci-base@1.0.0", None, Ok(("1.0.0", false))),
            // QA-failed: not in channels, but an exact pin still resolves.
            ("ci-base@1.0.1", None, Ok(("1.0.1", false))),
            (
                "ci-base@2.latest",
                None,
                Err("channel `2.latest` has no version"),
            ),
            ("ci-base@9.9.9", None, Err("no version 9.9.9")),
            ("node-build@latest", None, Ok(("2.0.0", false))),
            ("node-build@1.latest", None, Ok(("1.0.0", true))),
            (
                "legacy-tools@latest",
                None,
                Err("channel `latest` has no version (channels: 1.latest)"),
            ),
            ("legacy-tools@1.latest", None, Ok(("1.0.0", true))),
            // Testing versions: only for the debug project.
            (
                "python-lint@1.0.1",
                None,
                Err("is testing (visible to the debug project: --project quality-debug)"),
            ),
            (
                "python-lint@1.0.1",
                Some("quality-debug"),
                Ok(("1.0.1", false)),
            ),
            ("python-lint@latest", None, Ok(("1.0.0", false))),
            (
                "python-lint@latest",
                Some("quality-debug"),
                Ok(("1.0.1", false)),
            ),
            ("python-lint@latest", Some("other"), Ok(("1.0.0", false))),
            ("nope@latest", None, Err("no image `nope`")),
            ("ci-base", None, Err("is not CODE@SELECTOR")),
        ];
        for (target, project, want) in cases {
            let got = resolve(&idx, target, *project);
            match (want, got) {
                (Ok((v, dep)), Ok(r)) => {
                    assert_eq!((r.version.as_str(), r.deprecated), (*v, *dep), "{target}");
                    assert!(
                        r.pull.contains("@sha256:"),
                        "{target}: demo versions are pinned"
                    );
                }
                (Err(frag), Err(e)) => assert!(e.to_string().contains(frag), "{target}: {e}"),
                (w, g) => panic!("{target}: want {w:?}, got {g:?}"),
            }
        }
    }
}
