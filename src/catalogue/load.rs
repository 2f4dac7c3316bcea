//! Stage 1, load: read the catalogue directory into typed models.
//!
//! Input: a catalogue root. Output: [`Catalogue`] (config, listings, policies, each with its
//! relative path) plus [`Diagnostics`] for every file that could not be read or parsed.
//! Invariants: files are visited in sorted path order (deterministic reports); a file that
//! fails to parse is left out of the catalogue and reported, never half-read; YAML input is
//! bounded (size, nodes, aliases) so hostile files are refused, not expanded; a symlinked
//! berth.yaml, listing, policy or directory of them is an error (E0008), never followed or
//! skipped. [`check_root`] refuses a path that is not a catalogue at all.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use walkdir::WalkDir;

use crate::catalogue::unknown::UnknownField;
use crate::model::diag::{Code, Diagnostic, Diagnostics, display_path};
use crate::model::span::Pos;
use crate::model::{Config, Listing, Policy};

/// Largest YAML file berth reads. A listing is a few hundred bytes; anything near this is
/// either a mistake or an attack.
pub const MAX_YAML_BYTES: u64 = 1024 * 1024;

pub use crate::model::catalogue::{CONFIG_FILE, Catalogue, Source};

/// Why a path is not a berth catalogue. Every command that takes `--catalogue` refuses such a
/// path before reading anything (exit 2), so a mistyped path never passes CI; only `berth
/// init` starts from one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotACatalogue {
    #[error("not a berth catalogue: `{}` does not exist ({EXPECTED})", display_path(.0))]
    Missing(PathBuf),
    #[error("not a berth catalogue: `{}` is not a directory ({EXPECTED})", display_path(.0))]
    NotADirectory(PathBuf),
    #[error("not a berth catalogue: `{}` cannot be read: {}", display_path(.0), .1)]
    Unreadable(PathBuf, String),
    #[error(
        "not a berth catalogue: `{}` has neither berth.yaml nor images/ ({EXPECTED}; `berth init` creates one)",
        display_path(.0)
    )]
    Neither(PathBuf),
}

const EXPECTED: &str = "expected a directory with berth.yaml or images/";

/// Check that `root` is a catalogue: a directory holding `berth.yaml` or `images/`. A
/// symlinked `berth.yaml` or `images` still counts here, so that [`load`] reports the link
/// (E0008) instead of the directory being called "not a catalogue".
pub fn check_root(root: &Path) -> Result<(), NotACatalogue> {
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(NotACatalogue::NotADirectory(root.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(NotACatalogue::Missing(root.to_path_buf()));
        }
        Err(e) => return Err(NotACatalogue::Unreadable(root.to_path_buf(), e.to_string())),
    }
    let config = std::fs::symlink_metadata(root.join(CONFIG_FILE)).is_ok();
    let images = std::fs::symlink_metadata(root.join("images"))
        .is_ok_and(|m| m.is_dir() || m.file_type().is_symlink());
    if config || images {
        Ok(())
    } else {
        Err(NotACatalogue::Neither(root.to_path_buf()))
    }
}

/// Read `root`; diagnostics describe every file that could not be used.
pub fn load(root: &Path) -> (Catalogue, Diagnostics) {
    let (mut cat, mut diags) = load_config(root);
    let (listings, policies, file_diags) = load_files(root);
    cat.listings = listings;
    cat.policies = policies;
    diags.extend(file_diags);
    (cat, diags)
}

/// The first part of [`load`]: `berth.yaml` only (listings and policies left empty), so that
/// a caller can read the index it names while [`load_files`] reads the rest.
pub fn load_config(root: &Path) -> (Catalogue, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut cat = Catalogue {
        root: root.to_path_buf(),
        ..Catalogue::default()
    };
    let config_path = root.join(CONFIG_FILE);
    if is_symlink(&config_path) {
        diags.push(symlink_error(root, &config_path, "berth.yaml"));
    } else if config_path.exists() {
        // Whatever it is: a berth.yaml that cannot be read (a directory, say) is E0001,
        // never a silent default configuration.
        if let Some(cfg) = read_yaml::<Config>(root, &config_path, &mut diags) {
            cat.config = cfg;
        }
        cat.config_path = Some(PathBuf::from(CONFIG_FILE));
    }
    (cat, diags)
}

/// The second part of [`load`]: the listings and policies below `root`, in sorted path
/// order, read and parsed on all cores.
pub fn load_files(root: &Path) -> (Vec<Source<Listing>>, Vec<Source<Policy>>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let listings = yaml_files(&root.join("images"), root, "listing", &mut diags);
    let listings = read_all::<Listing>(root, listings, &mut diags);
    let policies = yaml_files(&root.join("policies"), root, "policy", &mut diags);
    let policies = read_all::<Policy>(root, policies, &mut diags);
    (listings, policies, diags)
}

/// Read and parse `paths` on all cores (each file read once), keeping their sorted order:
/// the result and the diagnostics are the same as reading them one after the other.
fn read_all<T: DeserializeOwned + Send>(
    root: &Path,
    paths: Vec<PathBuf>,
    diags: &mut Diagnostics,
) -> Vec<Source<T>> {
    use rayon::prelude::*;
    let read: Vec<(Option<Source<T>>, Diagnostics)> = paths
        .into_par_iter()
        .map(|path| {
            let mut d = Diagnostics::new();
            let source = read_yaml::<T>(root, &path, &mut d).map(|value| Source {
                path: crate::model::diag::rel(root, &path),
                value,
            });
            (source, d)
        })
        .collect();
    let mut out = Vec::with_capacity(read.len());
    for (source, d) in read {
        diags.extend(d);
        out.extend(source);
    }
    out
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// A symlink where berth reads files: an error, never followed and never skipped silently
/// (git shows reviewers the link, not what it points to; a linked directory's files would not
/// be read at all).
fn symlink_error(root: &Path, path: &Path, what: &str) -> Diagnostic {
    let target = std::fs::read_link(path)
        .map(|t| display_path(&t))
        .unwrap_or_default();
    let what = if path.is_dir() {
        format!("directory of {what} files")
    } else {
        what.to_string()
    };
    Diagnostic::error(
        Code::Symlink,
        crate::model::diag::rel(root, path),
        Pos::UNKNOWN,
        format!("{what} is a symlink (to `{target}`); berth never follows symlinks in a catalogue"),
    )
    .with_hint("replace the link with what it points to: git shows reviewers the link, not the content berth would read")
}

/// `*.yaml`/`*.yml` below `dir`, sorted, hidden entries skipped; every symlink below it (and
/// `dir` itself being one) is reported as a [`Code::Symlink`] error, not followed.
fn yaml_files(dir: &Path, root: &Path, what: &str, diags: &mut Diagnostics) -> Vec<PathBuf> {
    if is_symlink(dir) {
        diags.push(symlink_error(root, dir, what));
        return Vec::new();
    }
    if !dir.is_dir() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let walker = WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        match entry {
            Ok(e) if e.path_is_symlink() => diags.push(symlink_error(root, e.path(), what)),
            Ok(e) if e.file_type().is_file() => {
                let p = e.path();
                if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
                    out.push(p.to_path_buf());
                }
            }
            Ok(_) => {}
            Err(err) => {
                let p = err
                    .path()
                    .map(|p| crate::model::diag::rel(root, p))
                    .unwrap_or_default();
                diags.push(Diagnostic::error(
                    Code::Io,
                    p,
                    Pos::UNKNOWN,
                    format!("cannot read directory: {err}"),
                ));
            }
        }
    }
    out
}

/// Read and parse one YAML file, reporting problems against its relative path. Unknown
/// fields are reported (E0005, with a "did you mean" hint) without dropping the file, so its
/// other problems and the cross-file checks still run.
pub fn read_yaml<T: DeserializeOwned>(
    root: &Path,
    path: &Path,
    diags: &mut Diagnostics,
) -> Option<T> {
    let rel = crate::model::diag::rel(root, path);
    let text = read_text(path, &rel, diags)?;
    let mut unknown = Vec::new();
    let parsed = parse_yaml_collecting::<T>(&text, &mut unknown);
    for u in &unknown {
        diags.push(unknown_field_error(u).at_file(&rel));
    }
    match parsed {
        Ok(v) => Some(v),
        Err(d) => {
            diags.push(d.at_file(&rel));
            None
        }
    }
}

/// Initial buffer of [`read_text`]: a listing is well under this.
const READ_CAPACITY: usize = 8 * 1024;

/// Read a text file with the size limit applied before reading it whole.
pub fn read_text(path: &Path, rel: &Path, diags: &mut Diagnostics) -> Option<String> {
    use std::io::Read;
    let io_error = |diags: &mut Diagnostics, e: std::io::Error| {
        diags.push(Diagnostic::error(
            Code::Io,
            rel,
            Pos::UNKNOWN,
            format!("cannot read: {e}"),
        ));
    };
    // One open and bounded reads: no separate stat per file (10,000 listings mean 10,000
    // fewer system calls), and a huge file is never read past the limit.
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            io_error(diags, e);
            return None;
        }
    };
    // Room for a typical file up front: one read fills it and one more finds the end (an
    // empty buffer would be grown from 32 bytes, one system call per doubling).
    let mut text = String::with_capacity(READ_CAPACITY);
    if let Err(e) = (&mut file)
        .take(MAX_YAML_BYTES + 1)
        .read_to_string(&mut text)
    {
        io_error(diags, e);
        return None;
    }
    if text.len() as u64 > MAX_YAML_BYTES {
        let size = file
            .metadata()
            .map(|m| m.len())
            .unwrap_or(text.len() as u64);
        diags.push(
            Diagnostic::error(
                Code::FileTooLarge,
                rel,
                Pos::UNKNOWN,
                format!("file is {size} bytes, more than the {MAX_YAML_BYTES} byte limit"),
            )
            .with_hint(
                "split the file or remove generated content; catalogue files are small by design",
            ),
        );
        return None;
    }
    Some(text)
}

/// A parse failure not yet tied to a file.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub code: Code,
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl ParseError {
    pub fn at_file(self, rel: &Path) -> Diagnostic {
        let d = Diagnostic::error(self.code, display_path(rel), self.pos, self.message);
        match self.hint {
            Some(h) => d.with_hint(h),
            None => d,
        }
    }
}

/// YAML budgets (README "YAML"): parser events, aliases, anchors, nesting levels, values.
const MAX_EVENTS: usize = 200_000;
const MAX_ALIASES: usize = 256;
const MAX_ANCHORS: usize = 256;
pub const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 100_000;

fn yaml_options() -> serde_saphyr::Options {
    // Catalogue files are tiny: tight budgets refuse alias bombs ("billion laughs") and
    // pathological nesting long before they cost memory or time.
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: MAX_EVENTS,
            max_aliases: MAX_ALIASES,
            max_anchors: MAX_ANCHORS,
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 10_000,
            max_replay_stack_depth: 8,
        },
        with_snippet: false,
        // Comments carry nothing berth reads (`berth mark` keeps them with its own scanner):
        // collecting them would cost a tenth of the parse.
        emit_comments: false,
    }
}

/// Parse YAML text into `T`, classifying failures into stable codes. Strict: the first
/// unknown field is an error (E0005).
pub fn parse_yaml<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    let mut unknown = Vec::new();
    let value = parse_yaml_collecting(text, &mut unknown)?;
    match unknown.first() {
        Some(u) => Err(unknown_field_error(u)),
        None => Ok(value),
    }
}

/// E0005 for a key its struct does not know, with the closest field name as a hint.
fn unknown_field_error(u: &UnknownField) -> ParseError {
    let expected = match u.expected {
        [] => "there are no fields here".to_string(),
        [one] => format!("expected {one}"),
        many => format!("expected one of {}", many.join(", ")),
    };
    let schema = "the JSON Schema in schema/ (`berth schema`)";
    let hint =
        match crate::catalogue::suggest::close_matches(&u.name, u.expected.iter().copied(), 1)
            .first()
        {
            Some(close) => format!("did you mean `{close}`? Check the spelling against {schema}"),
            None => format!("check the spelling against {schema}"),
        };
    ParseError {
        code: Code::UnknownField,
        pos: u.pos,
        message: format!("unknown field `{}`, {expected}", u.name),
        hint: Some(hint),
    }
}

/// Parse YAML text into `T`; keys `T` does not know are pushed into `unknown` (also those
/// seen before a hard error) instead of failing the parse.
pub fn parse_yaml_collecting<T: DeserializeOwned>(
    text: &str,
    unknown: &mut Vec<UnknownField>,
) -> Result<T, ParseError> {
    if text.len() as u64 > MAX_YAML_BYTES {
        return Err(ParseError {
            code: Code::FileTooLarge,
            pos: Pos::UNKNOWN,
            message: format!(
                "input is {} bytes, more than the {} byte limit",
                text.len(),
                MAX_YAML_BYTES
            ),
            hint: None,
        });
    }
    serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(), |d| {
        crate::catalogue::unknown::deserialize::<T, _>(d, unknown)
    })
    .map_err(|e| classify(&e))
}

/// A sentence for a YAML budget breached (never the parser's Debug form).
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Events { .. } => {
            format!("the file is too complex: more than {MAX_EVENTS} YAML events by here")
        }
        B::Aliases { .. } => format!("more than {MAX_ALIASES} aliases (`*name`) by here"),
        B::Anchors { .. } => format!("more than {MAX_ANCHORS} anchors (`&name`) by here"),
        B::Nodes { .. } => format!("more than {MAX_NODES} values by here"),
        // Limits berth does not set (includes, scalar bytes, …) keep the parser's defaults.
        _ => "a YAML parser limit was exceeded here".to_string(),
    }
}

fn classify(e: &serde_saphyr::Error) -> ParseError {
    use serde_saphyr::Error as E;
    let inner = e.without_snippet();
    let pos = inner
        .location()
        .map(|l| Pos::new(l.line() as u32, l.column() as u32))
        .unwrap_or(Pos::UNKNOWN);
    // Classify by the original error: an alias wraps the error met while replaying it.
    let mut kind = inner;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = kind {
        kind = error;
    }
    const LIMITS: &str =
        "anchors/aliases and nesting are limited in catalogue files; write the values out";
    // (code, berth's own sentence when the parser's would not do, hint)
    let (code, sentence, hint): (Code, Option<String>, Option<String>) = match kind {
        // `max_documents: 1` reports a second document as a budget breach; it is the
        // several-documents rule (E0002), not a resource limit.
        E::Budget {
            breach: serde_saphyr::budget::BudgetBreach::Documents { .. },
            ..
        }
        | E::MultipleDocuments { .. } => (
            Code::YamlSyntax,
            Some(
                "a second YAML document starts here; a catalogue file holds one document"
                    .to_string(),
            ),
            Some(
                "one YAML document per file: move what follows this `---` into a file of its own (a listing per file under images/, a policy per file under policies/)"
                    .to_string(),
            ),
        ),
        E::Budget {
            breach: serde_saphyr::budget::BudgetBreach::Depth { .. },
            ..
        } => (
            Code::YamlLimit,
            Some(format!(
                "nesting goes deeper than {MAX_DEPTH} levels here (mappings and sequences inside each other)"
            )),
            Some(format!(
                "nesting is limited to {MAX_DEPTH} levels in catalogue files and no berth field nests that deep; remove or flatten the value"
            )),
        ),
        E::Budget { breach, .. } => (
            Code::YamlLimit,
            Some(budget_message(breach)),
            Some(LIMITS.to_string()),
        ),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => (Code::YamlLimit, None, Some(LIMITS.to_string())),
        E::SerdeUnknownField { .. } => (
            Code::UnknownField,
            None,
            Some(
                "check the spelling against the JSON Schema in schema/ (`berth schema`)"
                    .to_string(),
            ),
        ),
        E::SerdeMissingField { .. }
        | E::SerdeInvalidType { .. }
        | E::SerdeInvalidValue { .. }
        | E::SerdeUnknownVariant { .. }
        // "expected string scalar" where a listing has a sequence: a wrong type.
        | E::Unexpected { .. }
        | E::SerdeInvalidLength { .. }
        | E::NullIntoString { .. } => (
            Code::InvalidShape,
            None,
            Some(
                "see the JSON Schema in schema/ (`berth schema`) for the expected fields and types"
                    .to_string(),
            ),
        ),
        E::DuplicateMappingKey { .. } => (
            Code::YamlSyntax,
            None,
            Some("remove one of the two entries".to_string()),
        ),
        _ => (Code::YamlSyntax, None, None),
    };
    // Otherwise the parser's own words: its first line, without the snippet.
    let message = sentence.unwrap_or_else(|| {
        let text = inner.to_string();
        text.lines().next().unwrap_or("").trim().to_string()
    });
    ParseError {
        code,
        pos,
        message,
        hint,
    }
}
