//! What berth's two kinds of user templates share (promotion tag templates in
//! `policy::template`, commit messages in `gitops::message`): the error type, where a
//! minijinja error points in the template's text, and the check that a template names only the
//! variables it will be given.
//!
//! Input: a template's source and its parsed minijinja form. Output: [`TemplateError`]s.
//! Invariant: an error's `offset`, when known, is a byte offset into that source (validation
//! turns it into file:line:column).

use std::collections::BTreeSet;

/// Why a template cannot be used; `offset` is a byte offset into the template, when known, so
/// the problem has a place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    pub offset: Option<usize>,
}

/// Where a minijinja error points: its byte range, else the start of its line.
pub fn error_offset(e: &minijinja::Error, src: &str) -> Option<usize> {
    e.range().map(|r| r.start).or_else(|| {
        e.line().map(|l| {
            src.split_inclusive('\n')
                .take(l.saturating_sub(1))
                .map(str::len)
                .sum()
        })
    })
}

/// A minijinja error's own words, else the name of its kind.
pub fn error_detail(e: &minijinja::Error) -> String {
    e.detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.kind().to_string())
}

/// Every variable `tmpl` reads must be one of `known`: strict undefined would only say so
/// when rendering, for one image or commit; this says it at validation, naming them all
/// (sorted) and pointing at the first. `what` names the template in the message.
pub fn check_variables(
    tmpl: &minijinja::Template<'_, '_>,
    source: &str,
    known: &[&str],
    what: &str,
) -> Result<(), TemplateError> {
    let known_set: BTreeSet<&str> = known.iter().copied().collect();
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !known_set.contains(v.as_str()))
        .collect();
    unknown.sort();
    match unknown.first() {
        None => Ok(()),
        Some(first) => Err(TemplateError {
            message: format!(
                "{what} uses unknown variable{} {} (known: {})",
                if unknown.len() > 1 { "s" } else { "" },
                unknown.join(", "),
                known.join(", ")
            ),
            offset: source.find(first.as_str()),
        }),
    }
}
