//! Reports: pipeline results rendered for people and machines.
//!
//! Input: results of the pipeline ([`crate::pipeline::plan::Computed`], diagnostics, promotion
//! reports). Output: strings in a [`Format`] — text for a terminal, markdown for a PR comment
//! or `$GITHUB_STEP_SUMMARY`, JSON of a stable shape (schemas in `schema/`), the static store
//! page ([`site`]: files as bytes). Rendering never computes, writes files or decides exit
//! codes (that is the command layer's job).

pub mod diagnostics;
pub mod github;
pub mod markdown;
pub mod outcomes;
pub mod plan;
pub mod promotions;
pub mod schema;
pub mod site;
pub mod snippets;

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Markdown,
    Json,
}
