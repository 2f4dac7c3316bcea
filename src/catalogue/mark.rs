//! `berth mark CODE@VERSION`: record a QA verdict or a delisting in a listing, in place.
//!
//! Inputs: the catalogue directory (to find the listing whose `code` is CODE), the index (when
//! it exists, to refuse marking a version that was never recorded) and the action
//! (`--qa-failed --reason R`, `--qa-passed [--reason R]`, `--delist [--reason R]`).
//! Output: the listing file rewritten atomically with the entry for VERSION under the
//! top-level `versions:` mapping added or updated, plus a one-line summary.
//!
//! Invariants:
//! - Only the bytes of that one entry change (or the lines added for it): every other comment,
//!   blank line, quoting style and key order stays byte-for-byte. The edit is plain text
//!   surgery guided by the positions serde-saphyr reports for each entry ([`crate::model::span::Sp`])
//!   and by indentation, because no YAML library round-trips comments.
//! - Before anything is written the new text is parsed again and must read back as exactly the
//!   old listing with the intended mark; otherwise nothing is written (internal error).
//! - Idempotent: when the entry already says what was asked, the file is not touched at all.
//! - Layouts the line scanner cannot edit safely (a non-empty flow-style `versions: {…}`,
//!   anchors, tags) are refused with a message, never guessed at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use semver::Version;

use crate::catalogue::load::{ParseError, parse_yaml};
use crate::model::span::Sp;
use crate::model::{Index, Listing, QaStatus, VersionMark};

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
            qa: m.qa,
            reason: m.reason.clone(),
            delisted: m.delisted,
        }
    }
}

impl From<&Mark> for VersionMark {
    fn from(m: &Mark) -> Self {
        VersionMark {
            qa: m.qa,
            reason: m.reason.clone(),
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
        let unreadable: Vec<String> = diags
            .iter()
            .filter(|d| d.is_error() && d.file.starts_with("images/"))
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
    let limit = (code.chars().count() / 3).max(2);
    let lower = code.to_lowercase();
    let mut scored: Vec<(usize, &str)> = codes
        .iter()
        .filter_map(|c| {
            let d = levenshtein(&lower, &c.to_lowercase());
            let contains = !lower.is_empty()
                && (c.to_lowercase().contains(&lower) || lower.contains(&c.to_lowercase()));
            (d <= limit || contains).then_some((d, *c))
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| format!("`{c}`"))
        .collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Text editing

/// Result of [`edit_text`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// The new file text (equal to the input when nothing changed).
    pub text: String,
    /// The `versions:` key used (an existing key equal as semver, else the canonical version).
    pub key: String,
    pub mark: Mark,
    pub changed: bool,
}

/// Apply `action` for `version` to listing text, keeping everything else byte-for-byte.
pub fn edit_text(
    text: &str,
    version: &Version,
    action: Action,
    reason: Option<&str>,
) -> Result<Edit, EditError> {
    let listing: Listing = parse_yaml(text).map_err(EditError::Parse)?;
    let existing_key = listing
        .versions
        .keys()
        .find(|k| Version::parse(k).is_ok_and(|v| &v == version))
        .cloned();
    let old = existing_key
        .as_ref()
        .map(|k| Mark::from(&listing.versions[k].value));
    let new = merge(old.as_ref(), action, reason);
    let key = existing_key.unwrap_or_else(|| version.to_string());
    if old.as_ref() == Some(&new) {
        return Ok(Edit {
            text: text.to_string(),
            key,
            mark: new,
            changed: false,
        });
    }
    let new_text = Editor::new(text).apply(&listing, &key, old.as_ref(), &new)?;
    verify(&listing, &new_text, &key, &new)?;
    Ok(Edit {
        text: new_text,
        key,
        mark: new,
        changed: true,
    })
}

/// The edited text must parse to the old listing with exactly the new mark for `key`.
fn verify(old: &Listing, new_text: &str, key: &str, mark: &Mark) -> Result<(), EditError> {
    let reparsed: Listing = parse_yaml(new_text)
        .map_err(|e| EditError::Verify(format!("parse error at {}: {}", e.pos, e.message)))?;
    let got = reparsed.versions.get(key).map(|m| Mark::from(&m.value));
    if got.as_ref() != Some(mark) {
        return Err(EditError::Verify(format!(
            "version {key} reads back as {got:?}, expected {mark:?}"
        )));
    }
    let mut expected = old.clone();
    expected
        .versions
        .insert(key.to_string(), Sp::bare(VersionMark::from(mark)));
    let a = serde_json::to_value(&expected).map_err(|e| EditError::Verify(e.to_string()))?;
    let b = serde_json::to_value(&reparsed).map_err(|e| EditError::Verify(e.to_string()))?;
    if a != b {
        return Err(EditError::Verify(
            "other parts of the listing changed".to_string(),
        ));
    }
    Ok(())
}

/// `"…"` YAML double-quoted scalar that reads back as exactly `s`.
pub fn quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            '\0' => o.push_str("\\0"),
            // Control characters, DEL, C1 controls, line/paragraph separators and the BOM are
            // not allowed (or not kept) literally in YAML text: escape them.
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let n = c as u32;
                if n <= 0xff {
                    o.push_str(&format!("\\x{n:02x}"));
                } else {
                    o.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn qa_str(q: QaStatus) -> &'static str {
    match q {
        QaStatus::Passed => "passed",
        QaStatus::Failed => "failed",
    }
}

/// `{ qa: failed, reason: "…", delisted: true }` (fields that are set, in this order).
fn render_flow(m: &Mark) -> String {
    let mut parts = Vec::new();
    if let Some(q) = m.qa {
        parts.push(format!("qa: {}", qa_str(q)));
    }
    if let Some(r) = &m.reason {
        parts.push(format!("reason: {}", quote(r)));
    }
    if m.delisted {
        parts.push("delisted: true".to_string());
    }
    if parts.is_empty() {
        "{}".to_string()
    } else {
        format!("{{ {} }}", parts.join(", "))
    }
}

/// Line body without its line ending.
fn body(line: &str) -> &str {
    let l = line.strip_suffix('\n').unwrap_or(line);
    l.strip_suffix('\r').unwrap_or(l)
}

/// Line ending of a line (`""` for a last line without one).
fn ending(line: &str) -> &str {
    &line[body(line).len()..]
}

fn indent(line: &str) -> usize {
    body(line).len() - body(line).trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    body(line).trim().is_empty()
}

fn is_comment(line: &str) -> bool {
    body(line).trim_start().starts_with('#')
}

/// Non-blank, non-comment line.
fn is_content(line: &str) -> bool {
    !is_blank(line) && !is_comment(line)
}

/// Parse a block mapping key at the start of `s`. Returns the key and the byte offset just
/// after its `:`. `None` for anything that is not a simple key (`- item`, `? key`, flow, …).
fn parse_key(s: &str) -> Option<(String, usize)> {
    let first = s.chars().next()?;
    let (key, after) = match first {
        '"' => {
            let mut out = String::new();
            let mut it = s.char_indices().skip(1);
            loop {
                let (i, c) = it.next()?;
                match c {
                    '"' => break (out, i + 1),
                    '\\' => {
                        let (_, e) = it.next()?;
                        out.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    }
                    c => out.push(c),
                }
            }
        }
        '\'' => {
            let mut out = String::new();
            let mut it = s.char_indices().skip(1).peekable();
            loop {
                let (i, c) = it.next()?;
                if c == '\'' {
                    if it.peek().map(|&(_, n)| n) == Some('\'') {
                        it.next();
                        out.push('\'');
                    } else {
                        break (out, i + 1);
                    }
                } else {
                    out.push(c);
                }
            }
        }
        '?' | '-' | '[' | '{' | '#' | '&' | '*' | '!' | '|' | '>' | '%' | '@' | '`' => {
            return None;
        }
        _ => {
            let bytes = s.as_bytes();
            let i = (0..bytes.len()).find(|&i| {
                bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| *b == b' ' || *b == b'\t')
            })?;
            return Some((s[..i].trim_end().to_string(), i + 1));
        }
    };
    let rest = &s[after..];
    let trimmed = rest.trim_start_matches([' ', '\t']);
    if !trimmed.starts_with(':') {
        return None;
    }
    Some((key, after + (rest.len() - trimmed.len()) + 1))
}

/// Split a single line's text into value and trailing comment (`#` after whitespace, outside
/// quotes). The comment part keeps the whitespace before the `#`.
fn split_comment(s: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut prev: Option<char> = None;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match quote {
            Some('"') => {
                if c == '\\' {
                    it.next();
                } else if c == '"' {
                    quote = None;
                }
            }
            Some(_) => {
                if c == '\'' {
                    if it.peek().map(|&(_, n)| n) == Some('\'') {
                        it.next();
                    } else {
                        quote = None;
                    }
                }
            }
            None => {
                let at_token = prev.is_none_or(|p| p.is_whitespace() || "{[,:".contains(p));
                if (c == '"' || c == '\'') && at_token {
                    quote = Some(c);
                } else if c == '#' && prev.is_none_or(char::is_whitespace) {
                    let v = &s[..i];
                    let cut = v.trim_end().len();
                    return (&s[..cut], &s[cut..]);
                }
            }
        }
        prev = Some(c);
    }
    (s, "")
}

/// Where a flow collection starting with `{` at (`line`, byte `col`) ends: the line and the
/// byte offset just after its closing `}`. Quotes and comments are honoured across lines.
fn flow_end(lines: &[String], line: usize, col: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (li, l) in lines.iter().enumerate().skip(line) {
        let b = body(l);
        let start = if li == line { col } else { 0 };
        let mut prev: Option<char> = if li == line && col > 0 {
            b[..col].chars().last()
        } else {
            None
        };
        let mut it = b[start..].char_indices().peekable();
        while let Some((off, c)) = it.next() {
            let i = start + off;
            match quote {
                Some('"') => {
                    if c == '\\' {
                        it.next();
                    } else if c == '"' {
                        quote = None;
                    }
                }
                Some(_) => {
                    if c == '\'' {
                        if it.peek().map(|&(_, n)| n) == Some('\'') {
                            it.next();
                        } else {
                            quote = None;
                        }
                    }
                }
                None => match c {
                    '"' | '\'' if prev.is_none_or(|p| p.is_whitespace() || "{[,:".contains(p)) => {
                        quote = Some(c)
                    }
                    '#' if prev.is_none_or(char::is_whitespace) => break,
                    '{' | '[' => depth += 1,
                    '}' | ']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some((li, i + 1));
                        }
                    }
                    _ => {}
                },
            }
            prev = Some(c);
        }
    }
    None
}

/// How the value of one `versions:` entry is written.
#[derive(Clone, Debug)]
enum EntryValue {
    /// `{ … }` from (line, byte col) to (line, byte offset after `}`).
    Flow {
        line: usize,
        col: usize,
        end_line: usize,
        end_col: usize,
    },
    /// Nested `key: value` lines.
    Block,
}

#[derive(Clone, Debug)]
struct Entry {
    key: String,
    /// Line of the key.
    start: usize,
    /// Last line that belongs to the entry.
    end: usize,
    value: EntryValue,
}

/// One field line of a block-style entry.
#[derive(Clone, Debug)]
struct Field {
    key: String,
    start: usize,
    end: usize,
}

/// Pending replacement of lines `start..end` (exclusive) by `lines`.
struct Splice {
    start: usize,
    end: usize,
    lines: Vec<String>,
}

struct Editor {
    lines: Vec<String>,
    eol: String,
}

impl Editor {
    fn new(text: &str) -> Self {
        let lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
        let eol = match lines.first() {
            Some(l) if l.ends_with("\r\n") => "\r\n",
            _ => "\n",
        }
        .to_string();
        Editor { lines, eol }
    }

    fn layout(&self, msg: impl Into<String>) -> EditError {
        EditError::Layout(msg.into())
    }

    fn apply(
        mut self,
        listing: &Listing,
        key: &str,
        old: Option<&Mark>,
        new: &Mark,
    ) -> Result<String, EditError> {
        let top = self.top_indent();
        let versions_line = self.top_level_key(top, "versions");
        let splices = match versions_line {
            None => self.append_versions(top, key, new),
            Some(vi) => self.edit_versions(listing, top, vi, key, old, new)?,
        };
        let mut splices = splices;
        splices.sort_by_key(|s| std::cmp::Reverse(s.start));
        for s in splices {
            self.lines.splice(s.start..s.end, s.lines);
        }
        Ok(self.lines.concat())
    }

    /// Indentation of the top-level mapping (0 unless the whole document is indented).
    fn top_indent(&self) -> usize {
        self.lines
            .iter()
            .find(|l| {
                let b = body(l).trim_start();
                is_content(l)
                    && !b.starts_with("---")
                    && !b.starts_with("...")
                    && !b.starts_with('%')
            })
            .map(|l| indent(l))
            .unwrap_or(0)
    }

    fn top_level_key(&self, top: usize, name: &str) -> Option<usize> {
        self.lines.iter().position(|l| {
            is_content(l)
                && indent(l) == top
                && parse_key(&body(l)[top..]).is_some_and(|(k, _)| k == name)
        })
    }

    fn entry_line(&self, indent_n: usize, key: &str, mark: &Mark) -> String {
        format!(
            "{}{}: {}{}",
            " ".repeat(indent_n),
            quote(key),
            render_flow(mark),
            self.eol
        )
    }

    /// No `versions:` yet: add the block at the end of the file.
    fn append_versions(&self, top: usize, key: &str, new: &Mark) -> Vec<Splice> {
        let n = self.lines.len();
        let mut lines = Vec::new();
        let mut start = n;
        if let Some(last) = self.lines.last()
            && ending(last).is_empty()
        {
            // The last line has no line ending: give it one before appending.
            lines.push(format!("{last}{}", self.eol));
            start = n - 1;
        }
        lines.push(format!("{}versions:{}", " ".repeat(top), self.eol));
        lines.push(self.entry_line(top + 2, key, new));
        vec![Splice {
            start,
            end: n,
            lines,
        }]
    }

    fn edit_versions(
        &self,
        listing: &Listing,
        top: usize,
        vi: usize,
        key: &str,
        old: Option<&Mark>,
        new: &Mark,
    ) -> Result<Vec<Splice>, EditError> {
        let vline = &self.lines[vi];
        let b = body(vline);
        let (_, after_colon) = parse_key(&b[top..]).expect("found as a key");
        let after_colon = top + after_colon;
        let (value, _) = split_comment(&b[after_colon..]);
        let value_trim = value.trim();
        if value_trim.starts_with('{') {
            let col = after_colon + (value.len() - value.trim_start().len());
            let lines = &self.lines;
            let (end_line, end_col) = flow_end(lines, vi, col)
                .ok_or_else(|| self.layout("unterminated `versions: {`"))?;
            let inner = &b[col + 1..if end_line == vi { end_col - 1 } else { b.len() }];
            if end_line != vi || !inner.trim().is_empty() {
                return Err(self.layout(format!(
                    "line {}: `versions:` is a flow mapping; berth mark edits one entry per line \
                     (rewrite it as `versions:` followed by indented `\"1.0.0\": {{ … }}` lines)",
                    vi + 1
                )));
            }
            // `versions: {}` becomes `versions:` (keeping a trailing comment) plus the entry.
            let rest = &b[end_col..];
            let rest = if rest.trim().is_empty() { "" } else { rest };
            let head = b[..after_colon].to_string();
            return Ok(vec![Splice {
                start: vi,
                end: vi + 1,
                lines: vec![
                    format!("{head}{rest}{}", ending(vline)),
                    self.entry_line(top + 2, key, new),
                ],
            }]);
        }
        if !value_trim.is_empty() {
            return Err(self.layout(format!(
                "line {}: `versions:` has an unexpected value `{value_trim}` (anchors, tags and \
                 aliases are not supported here)",
                vi + 1
            )));
        }
        let entries = self.entries(top, vi)?;
        self.check_entries(listing, &entries)?;
        match entries.iter().find(|e| e.key == key) {
            Some(e) => self.edit_entry(e, old.unwrap_or(&Mark::default()), new),
            None => Ok(vec![self.insert_entry(&entries, key, new)]),
        }
    }

    /// Scan the block mapping under `versions:` (line `vi`) into entries.
    fn entries(&self, top: usize, vi: usize) -> Result<Vec<Entry>, EditError> {
        let block_end = (vi + 1..self.lines.len())
            .find(|&i| is_content(&self.lines[i]) && indent(&self.lines[i]) <= top)
            .unwrap_or(self.lines.len());
        let Some(first) = (vi + 1..block_end).find(|&i| is_content(&self.lines[i])) else {
            return Err(self.layout(format!("line {}: `versions:` has no entries", vi + 1)));
        };
        let ei = indent(&self.lines[first]);
        let mut entries: Vec<Entry> = Vec::new();
        let mut i = first;
        while i < block_end {
            let l = &self.lines[i];
            if !is_content(l) || indent(l) > ei {
                i += 1;
                continue;
            }
            if indent(l) < ei {
                return Err(self.layout(format!(
                    "line {}: unexpected indentation under `versions:`",
                    i + 1
                )));
            }
            let b = body(l);
            let (key, after) = parse_key(&b[ei..]).ok_or_else(|| {
                self.layout(format!(
                    "line {}: cannot read this `versions:` entry key",
                    i + 1
                ))
            })?;
            let after = ei + after;
            let (value, _) = split_comment(&b[after..]);
            let value_start = after + (value.len() - value.trim_start().len());
            let (entry_value, scan_from) = if value.trim().starts_with('{') {
                let (end_line, end_col) = flow_end(&self.lines, i, value_start)
                    .ok_or_else(|| self.layout(format!("line {}: unterminated `{{`", i + 1)))?;
                (
                    EntryValue::Flow {
                        line: i,
                        col: value_start,
                        end_line,
                        end_col,
                    },
                    end_line + 1,
                )
            } else if value.trim().is_empty() {
                // The value is on the following lines: a block mapping, or a flow mapping
                // written on its own line.
                match (i + 1..block_end).find(|&j| is_content(&self.lines[j])) {
                    Some(j)
                        if indent(&self.lines[j]) > ei
                            && body(&self.lines[j]).trim_start().starts_with('{') =>
                    {
                        let col = indent(&self.lines[j]);
                        let (end_line, end_col) =
                            flow_end(&self.lines, j, col).ok_or_else(|| {
                                self.layout(format!("line {}: unterminated `{{`", j + 1))
                            })?;
                        (
                            EntryValue::Flow {
                                line: j,
                                col,
                                end_line,
                                end_col,
                            },
                            end_line + 1,
                        )
                    }
                    _ => (EntryValue::Block, i + 1),
                }
            } else {
                return Err(self.layout(format!(
                    "line {}: unexpected value `{}` for version {key}",
                    i + 1,
                    value.trim()
                )));
            };
            // The entry runs to the next line at the entry indentation; trailing blank lines
            // and shallower comments belong to what follows.
            let next = (scan_from..block_end)
                .find(|&j| is_content(&self.lines[j]) && indent(&self.lines[j]) <= ei)
                .unwrap_or(block_end);
            let end = (i..next)
                .rev()
                .find(|&j| {
                    let l = &self.lines[j];
                    j < scan_from || (!is_blank(l) && (is_content(l) || indent(l) > ei))
                })
                .unwrap_or(i);
            entries.push(Entry {
                key,
                start: i,
                end,
                value: entry_value,
            });
            i = next;
        }
        Ok(entries)
    }

    /// The scan must agree with the parser: same keys, each value inside its entry's lines.
    fn check_entries(&self, listing: &Listing, entries: &[Entry]) -> Result<(), EditError> {
        let mut seen = BTreeMap::new();
        for e in entries {
            let Some(m) = listing.versions.get(&e.key) else {
                return Err(self.layout(format!(
                    "line {}: could not match version `{}` with the parsed listing",
                    e.start + 1,
                    e.key
                )));
            };
            let line = m.pos.line as usize;
            if line < e.start + 1 || line > e.end + 1 {
                return Err(self.layout(format!(
                    "line {}: the entry for `{}` is laid out in a way berth mark cannot follow",
                    e.start + 1,
                    e.key
                )));
            }
            seen.insert(e.key.clone(), ());
        }
        if seen.len() != listing.versions.len() {
            return Err(self.layout("could not find every `versions:` entry in the text"));
        }
        Ok(())
    }

    /// A new entry goes where it keeps a sorted list sorted (either direction), else last.
    fn insert_entry(&self, entries: &[Entry], key: &str, new: &Mark) -> Splice {
        let ei = indent(&self.lines[entries[0].start]);
        let versions: Option<Vec<Version>> = entries
            .iter()
            .map(|e| Version::parse(&e.key).ok())
            .collect();
        let me = Version::parse(key).ok();
        let pos = match (versions, me) {
            (Some(vs), Some(me)) if vs.len() >= 2 => {
                if vs.windows(2).all(|w| w[0] > w[1]) {
                    vs.iter().position(|v| *v < me).unwrap_or(vs.len())
                } else if vs.windows(2).all(|w| w[0] < w[1]) {
                    vs.iter().position(|v| *v > me).unwrap_or(vs.len())
                } else {
                    vs.len()
                }
            }
            _ => entries.len(),
        };
        let at = if pos == 0 {
            entries[0].start
        } else {
            entries[pos - 1].end + 1
        };
        Splice {
            start: at,
            end: at,
            lines: vec![self.entry_line(ei, key, new)],
        }
    }

    fn edit_entry(&self, e: &Entry, old: &Mark, new: &Mark) -> Result<Vec<Splice>, EditError> {
        match e.value {
            EntryValue::Flow {
                line,
                col,
                end_line,
                end_col,
            } => {
                let first = body(&self.lines[line]);
                let last_line = &self.lines[end_line];
                let text = format!(
                    "{}{}{}{}",
                    &first[..col],
                    render_flow(new),
                    &body(last_line)[end_col..],
                    ending(last_line)
                );
                Ok(vec![Splice {
                    start: line,
                    end: end_line + 1,
                    lines: vec![text],
                }])
            }
            EntryValue::Block => self.edit_block_entry(e, old, new),
        }
    }

    /// Edit the fields of a block-style entry one by one, leaving untouched fields (and their
    /// comments) alone.
    fn edit_block_entry(
        &self,
        e: &Entry,
        old: &Mark,
        new: &Mark,
    ) -> Result<Vec<Splice>, EditError> {
        let fields = self.fields(e)?;
        let fi = indent(&self.lines[fields[0].start]);
        let find = |k: &str| fields.iter().find(|f| f.key == k);
        let mut splices = Vec::new();
        let mut inserts = Vec::new();
        let mut change = |name: &str, value: Option<String>| -> Result<(), EditError> {
            match (find(name), value) {
                (Some(f), Some(v)) => {
                    let b = body(&self.lines[f.start]);
                    let (_, after) = parse_key(&b[fi..]).expect("scanned as a key");
                    // Keep a trailing comment when the old value was on one line.
                    let comment = if f.end == f.start {
                        split_comment(&b[fi + after..]).1
                    } else {
                        ""
                    };
                    splices.push(Splice {
                        start: f.start,
                        end: f.end + 1,
                        lines: vec![format!(
                            "{}: {v}{comment}{}",
                            &b[..fi + after - 1],
                            ending(&self.lines[f.end])
                        )],
                    });
                }
                (None, Some(v)) => {
                    inserts.push(format!("{}{name}: {v}{}", " ".repeat(fi), self.eol));
                }
                (Some(f), None) => splices.push(Splice {
                    start: f.start,
                    end: f.end + 1,
                    lines: Vec::new(),
                }),
                (None, None) => {
                    return Err(self.layout(format!(
                        "line {}: cannot find `{name}` to remove",
                        e.start + 1
                    )));
                }
            }
            Ok(())
        };
        if old.qa != new.qa {
            change("qa", new.qa.map(|q| qa_str(q).to_string()))?;
        }
        if old.reason != new.reason {
            change("reason", new.reason.as_deref().map(quote))?;
        }
        if old.delisted != new.delisted {
            change("delisted", Some(new.delisted.to_string()))?;
        }
        if !inserts.is_empty() {
            let at = fields.iter().map(|f| f.end).max().unwrap_or(e.start) + 1;
            splices.push(Splice {
                start: at,
                end: at,
                lines: inserts,
            });
        }
        Ok(splices)
    }

    /// The `key: value` lines of a block entry, each with the lines its value spans.
    fn fields(&self, e: &Entry) -> Result<Vec<Field>, EditError> {
        let Some(first) = (e.start + 1..=e.end).find(|&i| is_content(&self.lines[i])) else {
            return Err(self.layout(format!("line {}: empty entry", e.start + 1)));
        };
        let fi = indent(&self.lines[first]);
        let starts: Vec<usize> = (first..=e.end)
            .filter(|&i| is_content(&self.lines[i]) && indent(&self.lines[i]) == fi)
            .collect();
        let mut fields = Vec::new();
        for (n, &s) in starts.iter().enumerate() {
            let b = body(&self.lines[s]);
            let (key, after) = parse_key(&b[fi..])
                .ok_or_else(|| self.layout(format!("line {}: cannot read this field", s + 1)))?;
            let value = split_comment(&b[fi + after..]).0.trim();
            let block_scalar = value.starts_with('|') || value.starts_with('>');
            let limit = starts.get(n + 1).map(|&x| x - 1).unwrap_or(e.end);
            // A block scalar owns every deeper line (even `#` ones); other values end at
            // their last deeper non-comment line.
            let end = (s..=limit)
                .rev()
                .find(|&j| {
                    let l = &self.lines[j];
                    j == s || (indent(l) > fi && !is_blank(l) && (block_scalar || !is_comment(l)))
                })
                .unwrap_or(s);
            fields.push(Field { key, start: s, end });
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_key_forms() {
        assert_eq!(parse_key("\"1.0.1\": {"), Some(("1.0.1".into(), 8)));
        assert_eq!(parse_key("'1.0.1' : x"), Some(("1.0.1".into(), 9)));
        assert_eq!(parse_key("1.0.1:"), Some(("1.0.1".into(), 6)));
        assert_eq!(parse_key("versions:  # c"), Some(("versions".into(), 9)));
        assert_eq!(parse_key("- a"), None);
        assert_eq!(parse_key("a:b"), None);
    }

    #[test]
    fn comments_are_split_outside_quotes() {
        assert_eq!(split_comment("x # c"), ("x", " # c"));
        assert_eq!(split_comment("\"a # b\" # c"), ("\"a # b\"", " # c"));
        assert_eq!(split_comment("it's # c"), ("it's", " # c"));
        assert_eq!(split_comment("a#b"), ("a#b", ""));
    }

    #[test]
    fn close_matches_rank_by_distance() {
        let codes = ["ci-base", "ci-bass", "node-build"];
        assert_eq!(
            close_matches("ci-bse", &codes),
            vec!["`ci-base`", "`ci-bass`"]
        );
        assert!(close_matches("zzzzzzz", &codes).is_empty());
    }
}
