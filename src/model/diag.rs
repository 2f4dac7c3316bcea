//! Diagnostics: user-facing findings about the catalogue.
//!
//! Every check in load/validate/plan pushes [`Diagnostic`]s into a [`Diagnostics`] collector
//! instead of returning the first error, so one run reports everything. A diagnostic has a
//! stable [`Code`] (documented in the README; never renumbered), a message, a position
//! (`file:line:col`, file relative to the catalogue root) and an optional hint.
//! Output order is deterministic: sorted by file, line, column, code.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::span::Pos;

/// Stable diagnostic codes. The numeric value is part of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    // E0xx: reading files
    Io = 1,
    YamlSyntax = 2,
    FileTooLarge = 3,
    YamlLimit = 4,
    UnknownField = 5,
    InvalidShape = 6,
    IndexUnreadable = 7,
    /// A listing, policy, berth.yaml, directory of them or Dockerfile that is a symlink.
    Symlink = 8,
    // E1xx: listings
    InvalidCode = 101,
    CodeStemMismatch = 102,
    DuplicateCode = 103,
    InvalidName = 104,
    DuplicateName = 105,
    TagLatest = 106,
    InvalidRepository = 107,
    InvalidTag = 108,
    InvalidRegistry = 109,
    UnknownCredential = 110,
    MissingAgentScope = 111,
    DockerfileEscapes = 112,
    DockerfileMissing = 113,
    VersionMismatch = 114,
    DuplicateReference = 115,
    InvalidVersionKey = 116,
    MarkUnknownVersion = 117,
    InvalidTransition = 118,
    QaReasonMissing = 119,
    EmptyField = 120,
    InvalidCategory = 121,
    /// A version mark with neither `qa` nor `delisted` (warning: it has no effect).
    EmptyMark = 122,
    // E2xx: policies
    InvalidPolicyName = 201,
    DuplicatePolicyName = 202,
    InvalidRegex = 203,
    InvalidSemverRange = 204,
    InvalidTemplate = 205,
    InvalidPattern = 206,
    InvalidPlatform = 207,
    EmptyMatch = 208,
    // E3xx: berth.yaml
    InvalidConfig = 301,
    IndexPathEscapes = 302,
    /// `commit.message` is not a usable template (error), or uses the old `{summary}` form
    /// (warning).
    CommitTemplate = 303,
    // E4xx: the state of record against the registry
    /// A release refused because the tag moved away from the digest that was tested.
    ReleaseTagMoved = 401,
    // E5xx: index.json, the state of record
    /// A value in index.json is not valid (JSON pointer in the message).
    IndexInvalid = 501,
    /// index.json differs from what berth wrote (edited in a commit, a change or the work tree).
    IndexEdited = 502,
    /// No berth commit wrote index.json yet: checked for content only (warning).
    IndexUnchecked = 503,
    // E6xx: supply-chain artefacts (signatures, SBOMs, scan reports)
    /// A signature key file cannot be read: missing, outside the catalogue, a symlink.
    KeyUnreadable = 601,
    /// A signature key is not a PEM ECDSA P-256 public key (a private key included).
    KeyInvalid = 602,
    /// A `vulnerabilities` criterion that sets no limit.
    NoVulnerabilityLimit = 603,
}

impl Code {
    /// `E0105`-style identifier.
    pub fn id(self) -> String {
        format!("E{:04}", self as u16)
    }

    /// A finding about one image that apply records rather than rejects: the image's new
    /// state (e.g. the re-pushed digest kept in `testing`) and every other image are still
    /// written, and apply then exits 1. All other errors mean nothing is written.
    pub fn is_recorded_refusal(self) -> bool {
        matches!(self, Code::ReleaseTagMoved)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

impl schemars::JsonSchema for Code {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Code".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Stable diagnostic code (see the README).",
            "type": "string",
            "pattern": "^E[0-9]{4}$"
        })
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.id())
    }
}

/// Severity of a finding. Errors fail the command; warnings are reported only.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    /// Path relative to the catalogue root, with `/` separators.
    pub file: String,
    pub line: u32,
    pub column: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, file: impl AsRef<Path>, pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            file: display_path(file.as_ref()),
            line: pos.line.max(1),
            column: pos.col.max(1),
            hint: None,
        }
    }

    pub fn warning(
        code: Code,
        file: impl AsRef<Path>,
        pos: Pos,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, pos, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// An error that stops apply from writing anything (see [`Code::is_recorded_refusal`]).
    pub fn blocks_write(&self) -> bool {
        self.is_error() && !self.code.is_recorded_refusal()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {sev}[{}]: {}",
            self.file, self.line, self.column, self.code, self.message
        )?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Path as shown to users: relative, `/`-separated.
pub fn display_path(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// Collector of diagnostics.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }
    /// Push every diagnostic found (e.g. an `Option<Diagnostic>` from a single check).
    pub fn push_all(&mut self, found: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(found);
    }
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }
    /// Any error that stops apply from writing ([`Diagnostic::blocks_write`]).
    pub fn has_blocking_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::blocks_write)
    }
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Sorted, de-duplicated findings.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (&a.file, a.line, a.column, a.code, &a.message)
                .cmp(&(&b.file, b.line, b.column, b.code, &b.message))
        });
        self.items.dedup();
        self.items
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }
}

/// Render diagnostics for a terminal, followed by a summary line.
pub fn render_text(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.to_string());
        out.push('\n');
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    out.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
    out
}

/// A source file relative to the catalogue root.
pub fn rel(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}
