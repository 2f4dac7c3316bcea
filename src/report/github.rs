//! GitHub Actions: workflow-command annotations (`--format github`) and `$GITHUB_OUTPUT`
//! entries.
//!
//! Input: diagnostics or a computed plan, and the catalogue's place in the repository (file
//! paths in annotations are relative to the repository root, while diagnostics name files
//! relative to the catalogue). Output: lines for stdout, where the runner reads them as
//! workflow commands. Escaping follows the runner's rules (the same as `@actions/core`):
//! in a message `%`, `\r`, `\n`; in a property also `:` and `,`. So a message can neither end
//! its command nor start a new one, and a property cannot leak into the next.

use crate::model::diag::{Diagnostic, Severity};
use crate::pipeline::plan::Computed;

/// Escape the message part of a workflow command.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value (`file=…`, `title=…`) of a workflow command.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Where an annotation points.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// Path relative to the repository root, `/`-separated.
    pub file: String,
    pub line: u32,
    pub col: u32,
}

/// One `::error …::message` / `::warning …::message` / `::notice …::message` line.
pub fn annotation(level: &str, at: Option<&Location>, title: &str, message: &str) -> String {
    let mut props = Vec::new();
    if let Some(at) = at {
        props.push(format!("file={}", escape_property(&at.file)));
        if at.line > 0 {
            props.push(format!("line={}", at.line));
            if at.col > 0 {
                props.push(format!("col={}", at.col));
            }
        }
    }
    props.push(format!("title={}", escape_property(title)));
    format!("::{level} {}::{}\n", props.join(","), escape_data(message))
}

/// The annotation of one diagnostic; `locate` maps its catalogue-relative file to the
/// repository-relative one. The hint follows the message on a second line.
pub fn diagnostic(d: &Diagnostic, locate: &dyn Fn(&str) -> String) -> String {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut message = d.message.clone();
    if let Some(h) = &d.hint {
        message.push_str("\nhint: ");
        message.push_str(h);
    }
    let at = Location {
        file: locate(&d.file),
        line: d.line,
        col: d.column,
    };
    annotation(level, Some(&at), &d.code.id(), &message)
}

/// `berth validate --format github`: one annotation per diagnostic, then the count as a plain
/// line.
pub fn diagnostics(diags: &[Diagnostic], locate: &dyn Fn(&str) -> String) -> String {
    let mut s: String = diags.iter().map(|d| diagnostic(d, locate)).collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    s.push_str(&format!(
        "{errors} error(s), {} warning(s)\n",
        diags.len() - errors
    ));
    s
}

/// `berth plan --format github`: the diagnostics as annotations, a warning per failed
/// verification (no file position) and per promotion problem (on its policy file), then a
/// notice with
/// the plan's summary.
pub fn plan(c: &Computed, locate: &dyn Fn(&str) -> String) -> String {
    let mut s: String = c
        .diagnostics
        .iter()
        .map(|d| diagnostic(d, locate))
        .collect();
    for v in c.verifications.iter().filter(|v| v.result == "failed") {
        s.push_str(&annotation(
            "warning",
            None,
            "berth verification",
            &format!(
                "{}@{} {}: {}",
                v.code,
                v.version,
                v.reference,
                v.reason.as_deref().unwrap_or("failed")
            ),
        ));
    }
    for p in &c.promotions.problems {
        let at = p.file.as_deref().map(|f| Location {
            file: locate(f),
            ..Location::default()
        });
        s.push_str(&annotation(
            "warning",
            at.as_ref(),
            "berth promotion",
            &format!(
                "{}{}: {}",
                p.policy.as_deref().unwrap_or("manual"),
                p.source
                    .as_deref()
                    .map(|x| format!(" {x}"))
                    .unwrap_or_default(),
                p.message
            ),
        ));
    }
    let errors = c.diagnostics.iter().filter(|d| d.is_error()).count();
    let summary = if errors > 0 {
        format!("{errors} error(s): this catalogue cannot be applied")
    } else if c.changes.is_empty() {
        // The text report's first line: never "up to date" for an index still to be
        // written or while promotions are pending.
        crate::report::plan::no_changes(c).trim_end().to_string()
    } else {
        let images: std::collections::BTreeSet<&str> =
            c.changes.iter().map(|ch| ch.code.as_str()).collect();
        format!("{} change(s) in {} image(s)", c.changes.len(), images.len())
    };
    s.push_str(&annotation("notice", None, "berth plan", &summary));
    s
}

/// One `$GITHUB_OUTPUT` entry in the multiline form `name<<DELIM`, value, `DELIM`, with a
/// random delimiter that does not occur in the value (so a value cannot set other outputs).
pub fn output(name: &str, value: &str) -> String {
    loop {
        let delim = format!(
            "ghadelimiter_{:016x}{:016x}",
            fastrand::u64(..),
            fastrand::u64(..)
        );
        if !value.contains(&delim) && !name.contains(&delim) {
            return format!("{name}<<{delim}\n{value}\n{delim}\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diag::Code;
    use crate::model::span::Pos;

    #[test]
    fn escaping_follows_the_runner_rules() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_data("a::b,c:d"), "a::b,c:d");
        assert_eq!(
            escape_property("images/a,b:c%.yaml\n"),
            "images/a%2Cb%3Ac%25.yaml%0A"
        );
    }

    #[test]
    fn a_diagnostic_is_an_annotation_at_its_repository_path() {
        let d = Diagnostic::error(
            Code::TagLatest,
            "images/ci-base.yaml",
            Pos { line: 7, col: 8 },
            "tag `latest` is not allowed\n::warning::injected",
        )
        .with_hint("pin a version, 100%");
        let line = diagnostic(&d, &|f| format!("catalogue/{f}"));
        assert_eq!(
            line,
            "::error file=catalogue/images/ci-base.yaml,line=7,col=8,title=E0106::tag `latest` is not allowed%0A::warning::injected%0Ahint: pin a version, 100%25\n"
        );
        // One line: the message cannot start a command of its own.
        assert_eq!(line.lines().count(), 1);
    }

    #[test]
    fn output_entries_use_a_delimiter_absent_from_the_value() {
        let e = output("plan-json", "line 1\nline 2");
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 4);
        let delim = lines[0].strip_prefix("plan-json<<").unwrap();
        assert!(delim.starts_with("ghadelimiter_"), "{delim}");
        assert_eq!(&lines[1..3], &["line 1", "line 2"]);
        assert_eq!(lines[3], delim);
        assert!(e.ends_with('\n'));
    }
}
