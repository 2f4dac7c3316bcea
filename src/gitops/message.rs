//! Commit message templates (`commit.message` in berth.yaml).
//!
//! Input: the template text and the values of its variables ([`VARIABLES`]). Output: the
//! rendered message. A template with `{{` or `{%` is minijinja, like the tag templates of
//! promotion policies (strict undefined: a misspelt variable is an error, never an empty
//! string). A template without them that uses the old single-brace form (`{summary}`) is
//! still read: each `{name}` of a known variable is replaced once ([`render_legacy`]); berth
//! validate warns about it with the minijinja spelling as hint.

use std::collections::BTreeMap;

use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};

/// The default template.
pub const DEFAULT_MESSAGE_TEMPLATE: &str = "berth: update index ({{ summary }})";

/// Variables a commit message template may use.
pub const VARIABLES: &[&str] = &["summary", "changed", "versions", "source"];

pub use crate::model::template::TemplateError;
use crate::model::template::{check_variables, error_detail, error_offset};

/// A checked commit message template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageTemplate {
    source: String,
    legacy: bool,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // A commit message is plain text: nothing is escaped.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

fn context(vars: &BTreeMap<&str, String>) -> Value {
    Value::from_pairs(
        vars.iter()
            .map(|(k, v)| (*k, Value::from(v.as_str())))
            .collect::<Vec<_>>(),
    )
}

fn jinja_error(e: &minijinja::Error, src: &str) -> TemplateError {
    TemplateError {
        message: format!("commit message template: {}", error_detail(e)),
        offset: error_offset(e, src),
    }
}

/// Is `source` written in the old `{name}` form (no minijinja markers, a known `{name}`)?
pub fn is_legacy(source: &str) -> bool {
    !source.contains("{{")
        && !source.contains("{%")
        && VARIABLES
            .iter()
            .any(|v| source.contains(&format!("{{{v}}}")))
}

/// The minijinja spelling of an old `{name}` template (`{summary}` → `{{ summary }}`).
pub fn modernised(source: &str) -> String {
    let mut out = source.to_string();
    for v in VARIABLES {
        out = out.replace(&format!("{{{v}}}"), &format!("{{{{ {v} }}}}"));
    }
    out
}

impl MessageTemplate {
    /// Parse and check a template (syntax, unknown variables, filters, tests, functions).
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        if is_legacy(source) || !(source.contains("{{") || source.contains("{%")) {
            return Ok(MessageTemplate {
                source: source.to_string(),
                legacy: true,
            });
        }
        let env = environment();
        let tmpl = env
            .template_from_str(source)
            .map_err(|e| jinja_error(&e, source))?;
        check_variables(&tmpl, source, VARIABLES, "commit message template")?;
        let sample: BTreeMap<&str, String> =
            VARIABLES.iter().map(|v| (*v, v.to_string())).collect();
        if let Err(e) = tmpl.render(context(&sample))
            && matches!(
                e.kind(),
                ErrorKind::UnknownFilter
                    | ErrorKind::UnknownTest
                    | ErrorKind::UnknownFunction
                    | ErrorKind::UnknownMethod
                    | ErrorKind::SyntaxError
            )
        {
            return Err(jinja_error(&e, source));
        }
        Ok(MessageTemplate {
            source: source.to_string(),
            legacy: false,
        })
    }

    /// Written in the old `{name}` form (or without any placeholder).
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// Render with `vars` (every name of [`VARIABLES`]).
    pub fn render(&self, vars: &BTreeMap<&str, String>) -> Result<String, TemplateError> {
        if self.legacy {
            return Ok(render_legacy(&self.source, vars));
        }
        let env = environment();
        let tmpl = env
            .template_from_str(&self.source)
            .map_err(|e| jinja_error(&e, &self.source))?;
        tmpl.render(context(vars))
            .map_err(|e| jinja_error(&e, &self.source))
    }
}

/// Substitute `{name}` placeholders from `vars` in one pass (values are not re-scanned);
/// unknown placeholders are kept verbatim. The old template form.
pub fn render_legacy(template: &str, vars: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if vars.contains_key(&after[..close]) => {
                out.push_str(&vars[&after[..close]]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<&'static str, String> {
        let mut v = BTreeMap::new();
        v.insert("summary", "2 changed, {source}".to_string());
        v.insert("source", "abc".to_string());
        v.insert("changed", "2".to_string());
        v.insert("versions", "a@1.0.0".to_string());
        v
    }

    #[test]
    fn legacy_replaces_known_keeps_unknown_and_does_not_rescan() {
        assert_eq!(
            render_legacy("berth: update index ({summary}) {nope} {", &vars()),
            "berth: update index (2 changed, {source}) {nope} {"
        );
        assert_eq!(render_legacy("{source}{source}", &vars()), "abcabc");
        let t = MessageTemplate::parse("index ({summary})").unwrap();
        assert!(t.is_legacy());
        assert_eq!(t.render(&vars()).unwrap(), "index (2 changed, {source})");
        assert_eq!(
            modernised("x {summary} {source}"),
            "x {{ summary }} {{ source }}"
        );
    }

    #[test]
    fn jinja_renders_and_checks() {
        let t = MessageTemplate::parse(DEFAULT_MESSAGE_TEMPLATE).unwrap();
        assert!(!t.is_legacy());
        assert_eq!(
            t.render(&vars()).unwrap(),
            "berth: update index (2 changed, {source})"
        );
        let t = MessageTemplate::parse(
            "{{ changed }} image(s){% if source %} from {{ source[:7] }}{% endif %}",
        )
        .unwrap();
        assert_eq!(t.render(&vars()).unwrap(), "2 image(s) from abc");
        let e = MessageTemplate::parse("x {{ sumary }}").unwrap_err();
        assert!(e.message.contains("unknown variable sumary"), "{e}");
        assert_eq!(e.offset, Some(5));
        let e = MessageTemplate::parse("x {{ summary | nope }}").unwrap_err();
        assert!(e.message.contains("nope"), "{e}");
        assert!(MessageTemplate::parse("x {{ summary").is_err());
    }
}
