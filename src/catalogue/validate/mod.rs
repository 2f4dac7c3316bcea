//! Stage 2, validate: static checks of a loaded catalogue (`berth validate`).
//!
//! Inputs: a [`Catalogue`] from `load` (config, listings, policies with their relative paths
//! and spans — values and map keys) and, when it exists, the current [`Index`]. Output:
//! [`Diagnostics`], every problem at once, each with a stable [`Code`], the `file:line:col` of
//! the offending value and a hint.
//!
//! One file per kind of input:
//! - [`config`]: `berth.yaml` (registries, credentials, index path);
//! - [`listing`]: `images/**` (fields, marks, cross-file duplicates, released references);
//! - [`policy`]: `policies/**` — thin: [`crate::policy::compile()`] owns the policy rules, this
//!   adds the cross-file ones (duplicate names, credentials defined in berth.yaml);
//! - [`dockerfile`]: the `dockerfile:` path of a listing against the catalogue directory.
//!
//! Invariants and choices:
//! - [`check`] is a pure function of its inputs except for the Dockerfile checks, which look at
//!   the catalogue directory (existence, symlink escapes), and a policy template error, whose
//!   line is read once to place the caret. Files are never re-read to locate keys: the model
//!   carries the spans. It never stops at the first error.
//! - Every cross-file rule (duplicate code, name, reference, policy name) is a single pass with a
//!   hash map keyed by the normalised value, so the run is linear in the catalogue size; regexes
//!   are compiled once (`LazyLock`).
//! - Duplicates are reported at the *second* occurrence in path order (files are loaded sorted),
//!   and the message names the first `file:line:col`.
//! - Listing names and policy names are unique **case-insensitively** (`CI Base` and `ci base`
//!   would be indistinguishable in a UI list); codes are compared exactly, as they are
//!   identities that must equal the file stem.
//! - Output of `berth validate`: sorted diagnostics as text (`file:line:col: error[E0xxx]: ...`),
//!   JSON (`{"diagnostics": [...], "errors": N, "warnings": N}`, keys sorted) or a markdown
//!   list; exit status 1 when there is at least one error, else 0 (warnings alone pass).

pub mod config;
pub mod dockerfile;
pub mod listing;
pub mod policy;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};

use crate::catalogue::load::Catalogue;
use crate::model::Index;
use crate::model::diag::{Code, Diagnostic, Diagnostics, display_path};
use crate::model::span::{Pos, Sp};

pub use listing::{MAX_NAME_CHARS, PIPELINE_JOB};

/// Check a loaded catalogue (and the index, for duplicate references). Collects everything.
pub fn check(cat: &Catalogue, index: Option<&Index>) -> Diagnostics {
    let mut d = Diagnostics::new();
    config::check_config(cat, &mut d);
    listing::check_listings(cat, index, &mut d);
    policy::check_policies(cat, &mut d);
    crate::catalogue::keys::check_listings(cat, &mut d);
    d
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the files above

fn at(pos: Pos, file: &Path) -> String {
    format!("{}:{}", display_path(file), pos)
}

/// Where a first occurrence was seen, for duplicate messages.
#[derive(Clone, Copy)]
struct Seen<'a> {
    file: &'a Path,
    pos: Pos,
}

/// Remember where `key` was first seen; for a repeat, return that first place (duplicates
/// are reported at the later occurrence and name the earlier one).
fn earlier<'a, K: Eq + std::hash::Hash>(
    seen: &mut HashMap<K, Seen<'a>>,
    key: K,
    here: Seen<'a>,
) -> Option<Seen<'a>> {
    match seen.entry(key) {
        Entry::Vacant(v) => {
            v.insert(here);
            None
        }
        Entry::Occupied(first) => Some(*first.get()),
    }
}

/// Normalise a repo-relative path lexically. `Err` explains why it is not acceptable:
/// absolute, empty, or climbing above the root with `..`.
pub fn normalize_relative(path: &str) -> Result<PathBuf, &'static str> {
    if path.trim().is_empty() {
        return Err("is empty");
    }
    // Both separators count: a Windows-style `..\..\x` must not slip through on Unix.
    let unified = path.replace('\\', "/");
    if unified.starts_with('/') || has_drive_prefix(&unified) {
        return Err("is absolute");
    }
    let mut parts: Vec<&str> = Vec::new();
    for comp in unified.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("climbs out of the catalogue with `..`");
                }
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err("names the catalogue root, not a file");
    }
    Ok(parts.iter().collect())
}

fn has_drive_prefix(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// E0110 for a credential name (of a listing or a policy) that berth.yaml does not define.
fn check_credential(cat: &Catalogue, cred: Option<&Sp<String>>, file: &Path, d: &mut Diagnostics) {
    if let Some(c) = cred
        && !cat.config.credentials.contains_key(c.value.as_str())
    {
        let known: Vec<&str> = cat
            .config
            .credentials
            .keys()
            .map(|k| k.value.as_str())
            .collect();
        let hint = if known.is_empty() {
            "define it under `credentials:` in berth.yaml".to_string()
        } else {
            format!(
                "define it under `credentials:` in berth.yaml; known: {}",
                known.join(", ")
            )
        };
        d.push(
            Diagnostic::error(
                Code::UnknownCredential,
                file,
                c.pos,
                format!("credential `{}` is not defined in berth.yaml", c.value),
            )
            .with_hint(hint),
        );
    }
}

#[cfg(test)]
mod tests;
