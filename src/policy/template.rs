//! Target tag templates.
//!
//! Input: a policy's `target.tag` and the [`TemplateInput`] of one promotion. Output: the
//! rendered tag. A template containing `{{` is minijinja (strict undefined; variables `tag`,
//! `repository`, `digest`, `version` (`.major`/`.minor`/`.patch`/`.pre`/`.build`, only when
//! the tag parses as semver, leading `v` allowed), `labels`, `created`, `promoted_at`; a
//! `strftime(fmt)` filter over RFC 3339 times). Otherwise it is read as MSR-style codes:
//! `%n` is the source tag, the other codes are strftime fields of `promoted_at` (UTC), `%%`
//! is a literal `%`.
//! Invariant: [`TagTemplate::render`] never returns a string that is not a valid OCI tag;
//! such a result is an error, so it is never pushed.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Utc};
use minijinja::value::{Object, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};

use crate::model::reference::valid_tag;
use crate::model::template::{check_variables, error_detail, error_offset};
use crate::policy::criteria::parse_semver;

/// Variables a minijinja tag template may use.
pub const VARIABLES: &[&str] = &[
    "tag",
    "repository",
    "digest",
    "version",
    "labels",
    "created",
    "promoted_at",
];

/// Why a template cannot be used (shared with commit message templates).
pub use crate::model::template::TemplateError;

/// Why rendering failed for one image.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("tag template failed: {0}")]
    Template(String),
    #[error("tag template rendered {0:?}, which is not a valid OCI tag")]
    InvalidTag(String),
}

/// Everything a template can refer to.
#[derive(Clone, Debug)]
pub struct TemplateInput<'a> {
    pub tag: &'a str,
    pub repository: &'a str,
    pub digest: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    /// Image creation time from its config (RFC 3339), when known.
    pub created: Option<&'a str>,
    pub promoted_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    SourceTag,
    /// A chrono strftime specifier applied to `promoted_at`.
    Time(&'static str),
}

#[derive(Clone, Debug)]
enum Kind {
    Jinja,
    Msr(Vec<Piece>),
}

/// A checked tag template.
#[derive(Clone, Debug)]
pub struct TagTemplate {
    source: String,
    kind: Kind,
}

/// MSR code → chrono specifier. Only codes whose output can appear in a tag are accepted
/// (`%c`, `%x`, `%X` would put spaces, `/` or `:` into it, `%z` a `+`).
fn msr_code(c: char) -> Option<&'static str> {
    Some(match c {
        'Y' => "%Y",
        'y' => "%y",
        'm' => "%m",
        'd' => "%d",
        'H' => "%H",
        'I' => "%I",
        'M' => "%M",
        'S' => "%S",
        'f' => "%6f",
        'p' => "%p",
        'A' => "%A",
        'a' => "%a",
        'B' => "%B",
        'b' => "%b",
        'j' => "%j",
        'W' => "%W",
        'U' => "%U",
        'w' => "%w",
        'u' => "%u",
        'Z' => "%Z",
        's' => "%s",
        _ => return None,
    })
}

fn parse_msr(src: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut it = src.char_indices();
    while let Some((i, ch)) = it.next() {
        if ch != '%' {
            lit.push(ch);
            continue;
        }
        let Some((_, code)) = it.next() else {
            return Err(TemplateError {
                message: "template ends with a lone '%'; write '%%' for a literal percent sign"
                    .into(),
                offset: Some(i),
            });
        };
        let piece = match code {
            '%' => {
                lit.push('%');
                continue;
            }
            'n' => Piece::SourceTag,
            c => match msr_code(c) {
                Some(spec) => Piece::Time(spec),
                None => {
                    return Err(TemplateError {
                        message: format!(
                            "unknown template code '%{c}' (known: %n and strftime codes %Y %m %d %H %M %S %f %A %a %B %b %j %W %U %w %u %p %I %y %Z %s, %% for '%')"
                        ),
                        offset: Some(i),
                    });
                }
            },
        };
        if !lit.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut lit)));
        }
        pieces.push(piece);
    }
    if !lit.is_empty() {
        pieces.push(Piece::Literal(lit));
    }
    Ok(pieces)
}

/// A semver tag as a template value: renders as the version, with part attributes.
#[derive(Debug)]
struct VersionValue(semver::Version);

impl Object for VersionValue {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let v = &self.0;
        Some(match key.as_str()? {
            "major" => Value::from(v.major),
            "minor" => Value::from(v.minor),
            "patch" => Value::from(v.patch),
            "pre" => Value::from(v.pre.as_str()),
            "build" => Value::from(v.build.as_str()),
            _ => return None,
        })
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, minijinja::Error> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("strftime: {s:?} is not an RFC 3339 time: {e}"),
            )
        })
}

/// Is `fmt` a strftime format chrono can render?
fn valid_strftime(fmt: &str) -> bool {
    !StrftimeItems::new(fmt).any(|i| matches!(i, Item::Error))
}

fn strftime(value: &Value, fmt: &str) -> Result<String, minijinja::Error> {
    if !valid_strftime(fmt) {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("strftime: invalid format {fmt:?}"),
        ));
    }
    let s = value.as_str().ok_or_else(|| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            "strftime applies to a time (promoted_at, created)",
        )
    })?;
    Ok(parse_time(s)?.format(fmt).to_string())
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A typo in a variable name must fail, not render as an empty string.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("strftime", strftime);
    env
}

fn jinja_error(e: &minijinja::Error, src: &str) -> TemplateError {
    let what = match e.kind() {
        ErrorKind::SyntaxError => "syntax error",
        ErrorKind::UnknownFilter => "unknown filter",
        ErrorKind::UnknownTest => "unknown test",
        ErrorKind::UnknownFunction => "unknown function",
        ErrorKind::UnknownMethod => "unknown method",
        _ => "error",
    };
    TemplateError {
        message: format!("template {what}: {}", error_detail(e)),
        offset: error_offset(e, src),
    }
}

fn context(input: &TemplateInput<'_>) -> Value {
    let version = parse_semver(input.tag)
        .map(|v| Value::from_object(VersionValue(v)))
        .unwrap_or(Value::UNDEFINED);
    let labels = Value::from_pairs(
        input
            .labels
            .iter()
            .map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str()))),
    );
    let mut ctx: BTreeMap<&str, Value> = BTreeMap::new();
    ctx.insert("tag", Value::from(input.tag));
    ctx.insert("repository", Value::from(input.repository));
    ctx.insert("digest", Value::from(input.digest));
    ctx.insert("version", version);
    ctx.insert("labels", labels);
    ctx.insert(
        "created",
        input.created.map(Value::from).unwrap_or(Value::UNDEFINED),
    );
    ctx.insert(
        "promoted_at",
        Value::from(crate::model::time::format(&input.promoted_at)),
    );
    Value::from_pairs(ctx)
}

impl TagTemplate {
    /// Parse and check a template. Errors are problems with the template itself, found
    /// without any image (syntax, unknown filters/tests/functions/variables, unknown codes,
    /// invalid strftime formats).
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        if !source.contains("{{") {
            let pieces = parse_msr(source)?;
            return Ok(TagTemplate {
                source: source.to_string(),
                kind: Kind::Msr(pieces),
            });
        }
        let env = environment();
        let tmpl = env
            .template_from_str(source)
            .map_err(|e| jinja_error(&e, source))?;
        check_variables(&tmpl, source, VARIABLES, "template")?;
        // Filters, tests and functions are looked up while rendering, so render once with
        // a sample image to find the ones that do not exist (and bad strftime formats).
        let sample = sample_labels();
        let input = TemplateInput {
            tag: "1.2.3",
            repository: "sample/repository",
            digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            labels: &sample,
            created: Some("2026-01-02T03:04:05Z"),
            promoted_at: DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
                .expect("sample time")
                .with_timezone(&Utc),
        };
        if let Err(e) = tmpl.render(context(&input)) {
            let structural = matches!(
                e.kind(),
                ErrorKind::UnknownFilter
                    | ErrorKind::UnknownTest
                    | ErrorKind::UnknownFunction
                    | ErrorKind::UnknownMethod
                    | ErrorKind::SyntaxError
            ) || e
                .detail()
                .is_some_and(|d| d.starts_with("strftime: invalid format"));
            if structural {
                return Err(jinja_error(&e, source));
            }
        }
        Ok(TagTemplate {
            source: source.to_string(),
            kind: Kind::Jinja,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Render the tag for one image; the result is always a valid OCI tag.
    pub fn render(&self, input: &TemplateInput<'_>) -> Result<String, RenderError> {
        let out = match &self.kind {
            Kind::Msr(pieces) => {
                let mut s = String::new();
                for p in pieces {
                    match p {
                        Piece::Literal(l) => s.push_str(l),
                        Piece::SourceTag => s.push_str(input.tag),
                        Piece::Time(spec) => {
                            s.push_str(&input.promoted_at.format(spec).to_string())
                        }
                    }
                }
                s
            }
            Kind::Jinja => {
                let env = environment();
                let tmpl = env
                    .template_from_str(&self.source)
                    .map_err(|e| RenderError::Template(e.to_string()))?;
                tmpl.render(context(input)).map_err(|e| {
                    RenderError::Template(
                        e.detail()
                            .map(str::to_string)
                            .unwrap_or_else(|| e.kind().to_string()),
                    )
                })?
            }
        };
        let out = out.trim().to_string();
        if valid_tag(&out) {
            Ok(out)
        } else {
            Err(RenderError::InvalidTag(out))
        }
    }
}

/// Label map used for the check render: `labels.x` lookups of labels the sample lacks are
/// not template errors (they depend on the image), so the sample offers none and strict
/// undefined errors from it are ignored by [`TagTemplate::parse`].
fn sample_labels() -> BTreeMap<String, String> {
    BTreeMap::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        // A Wednesday afternoon, 3.5 ms past the second: exercises %p/%I/%f/%A.
        DateTime::parse_from_rfc3339("2026-03-04T15:06:07.003500Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn render(t: &str, tag: &str) -> Result<String, String> {
        let labels: BTreeMap<String, String> = [
            (
                "org.opencontainers.image.vendor".to_string(),
                "acme".to_string(),
            ),
            ("build".to_string(), "4411".to_string()),
        ]
        .into_iter()
        .collect();
        let tmpl = TagTemplate::parse(t).map_err(|e| format!("parse: {e}"))?;
        tmpl.render(&TemplateInput {
            tag,
            repository: "dev/website",
            digest: "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
            labels: &labels,
            created: Some("2025-12-31T23:59:58Z"),
            promoted_at: at(),
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn msr_codes_table() {
        let cases: &[(&str, &str, &str)] = &[
            ("%n", "1.0-stable", "1.0-stable"),
            ("%n-%Y%m%d", "1.0-stable", "1.0-stable-20260304"),
            ("%Y%m%d-%H%M%S", "x", "20260304-150607"),
            ("%y.%j", "x", "26.063"),
            ("%A-%a", "x", "Wednesday-Wed"),
            ("%B-%b", "x", "March-Mar"),
            ("%I%p", "x", "03PM"),
            ("%W", "x", "09"),
            ("%f", "x", "003500"),
            ("%Z", "x", "UTC"),
            ("qa_%n", "v2", "qa_v2"),
            ("100%%", "x", "100%"),
            ("release", "x", "release"),
        ];
        for (t, tag, want) in cases {
            let got = render(t, tag);
            if want.contains('%') {
                // `%%` renders a literal percent sign, which no OCI tag may contain.
                assert_eq!(
                    got.unwrap_err(),
                    format!("tag template rendered {want:?}, which is not a valid OCI tag")
                );
            } else {
                assert_eq!(got.as_deref(), Ok(*want), "{t}");
            }
        }
    }

    #[test]
    fn msr_errors() {
        let e = TagTemplate::parse("%n-%Q").unwrap_err();
        assert_eq!(e.offset, Some(3));
        assert!(e.message.contains("'%Q'"), "{}", e.message);
        assert_eq!(TagTemplate::parse("x%").unwrap_err().offset, Some(1));
        // %c/%x/%X would produce spaces, '/' or ':'.
        assert!(TagTemplate::parse("%c").is_err());
        assert!(TagTemplate::parse("%X").is_err());
    }

    #[test]
    fn jinja_table() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "{{ promoted_at | strftime('%Y%m%d-%H%M%S') }}",
                "1-stable",
                "20260304-150607",
            ),
            ("{{ tag }}-qa", "1.0-stable", "1.0-stable-qa"),
            ("{{ version.major }}.{{ version.minor }}", "v1.2.3", "1.2"),
            ("{{ version }}", "v1.2.3-rc.1", "1.2.3-rc.1"),
            (
                "{{ version.patch }}-{{ version.pre }}",
                "1.2.3-rc.1",
                "3-rc.1",
            ),
            (
                "{{ repository | replace('/', '-') }}-{{ tag }}",
                "1",
                "dev-website-1",
            ),
            ("{{ digest[7:19] }}", "1", "abcdef012345"),
            ("b{{ labels.build }}", "1", "b4411"),
            (
                "{{ labels['org.opencontainers.image.vendor'] }}-{{ tag }}",
                "1",
                "acme-1",
            ),
            ("{{ created | strftime('%Y') }}-{{ tag }}", "1", "2025-1"),
            (
                "{% if version is defined %}{{ version.major }}{% else %}{{ tag }}{% endif %}-x",
                "nightly",
                "nightly-x",
            ),
        ];
        for (t, tag, want) in cases {
            assert_eq!(render(t, tag).as_deref(), Ok(*want), "{t}");
        }
    }

    #[test]
    fn jinja_render_errors() {
        // Not semver: version is undefined, strict mode refuses to print it.
        assert!(
            render("{{ version.major }}", "nightly")
                .unwrap_err()
                .starts_with("tag template failed")
        );
        assert_eq!(
            render("{{ promoted_at }}", "1").unwrap_err(),
            "tag template rendered \"2026-03-04T15:06:07Z\", which is not a valid OCI tag"
        );
        assert!(
            render("{{ tag }}/x", "1")
                .unwrap_err()
                .contains("not a valid OCI tag")
        );
        assert!(
            render("{{ labels.missing }}", "1")
                .unwrap_err()
                .starts_with("tag template failed")
        );
        // A 129-character tag is too long.
        assert!(render(&format!("{}{{{{ tag }}}}", "a".repeat(128)), "1").is_err());
    }

    #[test]
    fn jinja_check_errors() {
        let cases: &[(&str, &str)] = &[
            ("{{ tag ", "syntax error"),
            ("{{ tag | nosuchfilter }}", "unknown filter"),
            ("{{ tga }}", "unknown variable tga"),
            ("{{ promoted_at | strftime('%Q') }}", "invalid format"),
            ("{{ tag is nosuchtest }}", "unknown test"),
            ("{{ nosuchfn() }}", "unknown"),
        ];
        for (t, want) in cases {
            let e = TagTemplate::parse(t).unwrap_err();
            assert!(e.message.contains(want), "{t}: {}", e.message);
        }
        let e = TagTemplate::parse("abc-{{ tag | nosuchfilter }}").unwrap_err();
        assert!(e.offset.is_some_and(|o| o >= 4), "{e:?}");
        // Label lookups depend on the image: not a template error.
        assert!(TagTemplate::parse("{{ labels.build }}").is_ok());
    }
}
