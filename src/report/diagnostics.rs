//! The diagnostics report of `berth validate`: text (`file:line:col: error[E0xxx]: …`),
//! JSON (`{"diagnostics": [...], "errors": N, "warnings": N}`, keys sorted) or a markdown list.
//!
//! Input: sorted diagnostics. Output: a string; nothing here decides what is an error.

use serde::Serialize;

use crate::model::diag::Diagnostic;
use crate::report::Format;

/// Render diagnostics in `format`.
pub fn render(diags: &[Diagnostic], format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Text => crate::model::diag::render_text(diags),
        Format::Json => render_json(diags)?,
        Format::Markdown => render_markdown(diags),
    })
}

#[derive(Serialize)]
struct JsonReport<'a> {
    /// Version of this JSON shape (`crate::report::outcomes::REPORT_VERSION`).
    version: u32,
    diagnostics: &'a [Diagnostic],
    errors: usize,
    warnings: usize,
}

/// Canonical JSON: keys sorted (through `serde_json::Value`), pretty, trailing newline.
fn render_json(diags: &[Diagnostic]) -> anyhow::Result<String> {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let report = JsonReport {
        version: crate::report::outcomes::REPORT_VERSION,
        diagnostics: diags,
        errors,
        warnings: diags.len() - errors,
    };
    let value = serde_json::to_value(&report)?;
    let mut s = serde_json::to_string_pretty(&value)?;
    s.push('\n');
    Ok(s)
}

/// A markdown list that fits a PR comment or `$GITHUB_STEP_SUMMARY`.
fn render_markdown(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let mut s = String::from("### berth validate\n\n");
    if diags.is_empty() {
        s.push_str("No problems found.\n");
        return s;
    }
    s.push_str(&format!("{errors} error(s), {warnings} warning(s)\n\n"));
    for d in diags {
        let sev = if d.is_error() { "error" } else { "warning" };
        s.push_str(&format!(
            "- **{sev}** `{}` {}: {}\n",
            d.code,
            md_code(&format!("{}:{}:{}", d.file, d.line, d.column), false),
            md_message(&d.message, false)
        ));
        if let Some(h) = &d.hint {
            s.push_str(&format!("  - hint: {}\n", md_message(h, false)));
        }
    }
    s
}

use crate::report::markdown::{code as md_code, message as md_message};
