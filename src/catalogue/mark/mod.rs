//! `berth mark CODE@VERSION`: record a QA verdict or a delisting in a listing, in place.
//!
//! Inputs: the catalogue directory (to find the listing whose `code` is CODE), the index (when
//! it exists, to refuse marking a version that was never recorded) and the action
//! (`--qa-failed --reason R`, `--qa-passed [--reason R]`, `--delist [--reason R]`).
//! Output: the listing file rewritten atomically with the entry for VERSION under the
//! top-level `versions:` mapping added or updated, plus a one-line summary.
//!
//! This file holds the request, the merge of marks, the errors and the command (find the
//! listing, check the index, write atomically); [`edit`] is the comment-preserving text
//! editor ([`edit_text`]) and `scan` its line-level YAML lexing.
//!
//! Invariants:
//! - Only the bytes of that one entry change (see [`edit`]); before anything is written the
//!   new text is parsed again and must read back as exactly the old listing with the
//!   intended mark; otherwise nothing is written (internal error).
//! - Idempotent: when the entry already says what was asked, the file is not touched at all.
//! - An unknown `CODE` gets "did you mean" suggestions ([`crate::catalogue::suggest`]).

pub mod edit;
mod scan;

use std::path::{Path, PathBuf};

use semver::Version;

pub use edit::{Edit, edit_text};
pub use scan::quote;

use crate::catalogue::load::ParseError;
use crate::model::span::Sp;
use crate::model::{Index, QaStatus, VersionMark};

// ---------------------------------------------------------------------------------------------
// Request and marks

/// What to do to the version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    QaFailed,
    QaPassed,
    Delist,
}

/// A validated `berth mark` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub code: String,
    pub version: Version,
    pub action: Action,
    pub reason: Option<String>,
}

impl Request {
    /// Check `CODE@VERSION` and the action/reason combination.
    pub fn new(target: &str, action: Action, reason: Option<&str>) -> Result<Self, MarkError> {
        let (code, version) = target
            .split_once('@')
            .filter(|(c, v)| !c.is_empty() && !v.is_empty())
            .ok_or_else(|| MarkError::BadTarget(target.to_string()))?;
        let version = Version::parse(version).map_err(|cause| MarkError::BadVersion {
            version: version.to_string(),
            cause,
        })?;
        if action == Action::QaFailed && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(MarkError::MissingReason);
        }
        Ok(Request {
            code: code.to_string(),
            version,
            action,
            reason: reason.map(str::to_string),
        })
    }
}

/// The marks of one version, comparable (unlike the serde model).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    pub qa: Option<QaStatus>,
    pub reason: Option<String>,
    pub delisted: bool,
}

impl From<&VersionMark> for Mark {
    fn from(m: &VersionMark) -> Self {
        Mark {
            qa: m.qa.as_ref().map(|q| q.value),
            reason: m.reason.as_ref().map(|r| r.value.clone()),
            delisted: m.delisted,
        }
    }
}

impl From<&Mark> for VersionMark {
    fn from(m: &Mark) -> Self {
        VersionMark {
            qa: m.qa.map(Sp::bare),
            reason: m.reason.clone().map(Sp::bare),
            delisted: m.delisted,
        }
    }
}

impl Mark {
    /// `qa failed, delisted (reason)`, on one line whatever the reason contains.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.qa {
            Some(QaStatus::Failed) => parts.push("qa failed"),
            Some(QaStatus::Passed) => parts.push("qa passed"),
            None => {}
        }
        if self.delisted {
            parts.push("delisted");
        }
        if parts.is_empty() {
            parts.push("no marks");
        }
        let mut s = parts.join(", ");
        if let Some(r) = &self.reason {
            s.push_str(" (");
            for c in r.chars() {
                if c.is_control() {
                    s.extend(c.escape_default());
                } else {
                    s.push(c);
                }
            }
            s.push(')');
        }
        s
    }
}

/// Apply an action to the existing marks of a version (if any).
///
/// `--qa-failed` sets the verdict and its reason; `--qa-passed` drops a reason that explained a
/// failure unless a new one is given; `--delist` keeps the QA verdict. There is one `reason`
/// field per version, so a reason given with any action replaces the previous one.
pub fn merge(old: Option<&Mark>, action: Action, reason: Option<&str>) -> Mark {
    let mut m = old.cloned().unwrap_or_default();
    match action {
        Action::QaFailed => {
            m.qa = Some(QaStatus::Failed);
            m.reason = reason.map(str::to_string);
        }
        Action::QaPassed => {
            let was_failed = m.qa == Some(QaStatus::Failed);
            m.qa = Some(QaStatus::Passed);
            if let Some(r) = reason {
                m.reason = Some(r.to_string());
            } else if was_failed {
                m.reason = None;
            }
        }
        Action::Delist => {
            m.delisted = true;
            if let Some(r) = reason {
                m.reason = Some(r.to_string());
            }
        }
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why the listing text could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("cannot parse the listing at {}: {}", .0.pos, .0.message)]
    Parse(ParseError),
    #[error("{0}; edit the file by hand")]
    Layout(String),
    #[error(
        "internal error: the edited listing does not read back as intended ({0}); nothing was written"
    )]
    Verify(String),
}

/// Why `berth mark` failed.
#[derive(Debug, thiserror::Error)]
pub enum MarkError {
    #[error("`{0}` is not CODE@VERSION (for example ci-base@1.0.1)")]
    BadTarget(String),
    #[error("`{version}` is not a semver version ({cause}); write it like 1.0.1 or 2.0.0-rc.1")]
    BadVersion {
        version: String,
        cause: semver::Error,
    },
    #[error("choose exactly one of --qa-failed, --qa-passed and --delist")]
    Action,
    #[error("--qa-failed needs a non-empty --reason saying why QA failed")]
    MissingReason,
    #[error("no listing has code `{code}` in {catalogue}{hint}")]
    UnknownCode {
        code: String,
        catalogue: String,
        /// Close matches or unreadable files, already formatted.
        hint: String,
    },
    #[error("more than one listing has code `{code}`: {}; fix the catalogue first (`berth validate`)", .files.join(", "))]
    AmbiguousCode { code: String, files: Vec<String> },
    #[error("{code} has no version {version} in {index}{hint}")]
    UnknownVersion {
        code: String,
        version: String,
        index: String,
        hint: String,
    },
    #[error("cannot read the index {path}: {message}")]
    Index { path: String, message: String },
    #[error("{path}: {source}")]
    Edit { path: String, source: EditError },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl MarkError {
    /// A finding about the catalogue (unknown code or version, a listing berth cannot edit),
    /// as opposed to a usage or internal error.
    pub fn is_finding(&self) -> bool {
        match self {
            MarkError::UnknownCode { .. }
            | MarkError::AmbiguousCode { .. }
            | MarkError::UnknownVersion { .. }
            | MarkError::Index { .. } => true,
            MarkError::Edit { source, .. } => match source {
                EditError::Parse(_) | EditError::Layout(_) => true,
                EditError::Verify(_) => false,
            },
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Command

/// What a successful mark did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub code: String,
    pub version: Version,
    /// Listing file, relative to the catalogue root.
    pub path: PathBuf,
    /// The marks the version has now.
    pub mark: Mark,
    /// `false` when the listing already said so and was left untouched.
    pub changed: bool,
}

impl Outcome {
    /// One line for the terminal.
    pub fn summary(&self) -> String {
        if self.changed {
            format!(
                "marked {}@{}: {}",
                self.code,
                self.version,
                self.mark.describe()
            )
        } else {
            format!(
                "{}@{} is already marked {}; {} unchanged",
                self.code,
                self.version,
                self.mark.describe(),
                crate::model::diag::display_path(&self.path)
            )
        }
    }
}

/// Find the listing, check the version against the index, edit and write the file.
pub fn mark(root: &Path, req: &Request) -> Result<Outcome, MarkError> {
    let (cat, diags) = crate::catalogue::load::load(root);
    let Some(source) = cat.listings.iter().find(|l| l.value.code.value == req.code) else {
        let codes: Vec<&str> = cat
            .listings
            .iter()
            .map(|l| l.value.code.value.as_str())
            .collect();
        let mut hint = String::new();
        let close = close_matches(&req.code, &codes);
        if !close.is_empty() {
            hint.push_str(&format!(" (did you mean {}?)", close.join(", ")));
        }
        // Files with findings that were still read (an unknown field) are not unreadable.
        let read: std::collections::BTreeSet<String> = cat
            .listings
            .iter()
            .map(|l| crate::model::diag::display_path(&l.path))
            .collect();
        let unreadable: Vec<String> = diags
            .iter()
            .filter(|d| d.is_error() && d.file.starts_with("images/") && !read.contains(&d.file))
            .map(|d| d.file.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !unreadable.is_empty() {
            hint.push_str(&format!(
                "; these listings could not be read: {} (run `berth validate`)",
                unreadable.join(", ")
            ));
        }
        return Err(MarkError::UnknownCode {
            code: req.code.clone(),
            catalogue: crate::model::diag::display_path(&root.join("images")),
            hint,
        });
    };

    let same: Vec<String> = cat
        .listings
        .iter()
        .filter(|l| l.value.code.value == req.code)
        .map(|l| crate::model::diag::display_path(&l.path))
        .collect();
    if same.len() > 1 {
        return Err(MarkError::AmbiguousCode {
            code: req.code.clone(),
            files: same,
        });
    }

    check_index(&cat.index_path(), req)?;

    let rel = source.path.clone();
    let path = root.join(&rel);
    let shown = crate::model::diag::display_path(&rel);
    let io_err = |source| MarkError::Io {
        path: shown.clone(),
        source,
    };
    let text = std::fs::read_to_string(&path).map_err(io_err)?;
    let edit =
        edit_text(&text, &req.version, req.action, req.reason.as_deref()).map_err(|source| {
            MarkError::Edit {
                path: shown.clone(),
                source,
            }
        })?;
    if edit.changed {
        write_atomically(&path, edit.text.as_bytes()).map_err(io_err)?;
    }
    Ok(Outcome {
        code: req.code.clone(),
        version: req.version.clone(),
        path: rel,
        mark: edit.mark,
        changed: edit.changed,
    })
}

/// Refuse versions the index does not know. No index yet means nothing to check against.
fn check_index(index_path: &Path, req: &Request) -> Result<(), MarkError> {
    let shown = crate::model::diag::display_path(index_path);
    let text = match std::fs::read_to_string(index_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!("no index at {shown}; cannot check that the version exists");
            return Ok(());
        }
        Err(e) => {
            return Err(MarkError::Index {
                path: shown,
                message: e.to_string(),
            });
        }
    };
    let index: Index = serde_json::from_str(&text).map_err(|e| MarkError::Index {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let known: Vec<&str> = index
        .images
        .get(&req.code)
        .map(|img| img.versions.iter().map(|v| v.version.as_str()).collect())
        .unwrap_or_default();
    if known
        .iter()
        .any(|v| Version::parse(v).is_ok_and(|v| v == req.version))
    {
        return Ok(());
    }
    let hint = if index.images.contains_key(&req.code) {
        if known.is_empty() {
            " (it has no versions yet)".to_string()
        } else {
            format!(" (known versions: {})", known.join(", "))
        }
    } else {
        " (the image is not in the index yet; run `berth apply` first)".to_string()
    };
    Err(MarkError::UnknownVersion {
        code: req.code.clone(),
        version: req.version.to_string(),
        index: shown,
        hint,
    })
}

/// Replace `path` with `bytes` atomically, keeping its permissions, so a crash never leaves a
/// half-written listing.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::model::fsutil::write_atomic(path, bytes).map(|_| ())
}

/// Codes within a small edit distance of `code` (or containing it), best first, at most 3.
fn close_matches(code: &str, codes: &[&str]) -> Vec<String> {
    crate::catalogue::suggest::close_matches(code, codes.iter().copied(), 3)
        .into_iter()
        .map(|c| format!("`{c}`"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_matches_rank_by_distance() {
        let codes = ["ci-base", "ci-bass", "node-build"];
        assert_eq!(
            close_matches("ci-bse", &codes),
            vec!["`ci-base`", "`ci-bass`"]
        );
        assert!(close_matches("zzzzzzz", &codes).is_empty());
    }

    /// A listing with only an unknown field was read (and reported by validate); the hint
    /// lists only the listings that could not be read at all.
    #[test]
    fn unknown_code_hint_names_only_unreadable_listings() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        let listing = "code: CODE\nname: CODE\nsummary: s\npublisher: p\nimage:\n  repository: x/CODE\n  tag: \"1\"\nrelease:\n  type: new\n  stage: testing\n";
        std::fs::write(
            images.join("typo.yaml"),
            listing.replace("CODE", "typo") + "labls: [x]\n",
        )
        .unwrap();
        std::fs::write(
            images.join("broken.yaml"),
            listing
                .replace("CODE", "broken")
                .replace("type: new", "type: minor"),
        )
        .unwrap();
        let req = Request::new("typ@1.0.0", Action::Delist, None).unwrap();
        let err = mark(dir.path(), &req).unwrap_err();
        let MarkError::UnknownCode { hint, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(
            hint,
            " (did you mean `typo`?); these listings could not be read: images/broken.yaml (run `berth validate`)"
        );
    }
}
