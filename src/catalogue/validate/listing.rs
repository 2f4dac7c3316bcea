//! Checks of the listings (`images/**/*.yaml`).
//!
//! Input: the loaded listings (with spans on values and on the `versions.<v>` keys), the
//! catalogue (for credentials in berth.yaml and the Dockerfile lookups) and the recorded
//! index (for references already released). Output: diagnostics pushed into the caller's
//! collector — per listing: code format and file stem (E0101, E0102), name (E0104), empty
//! fields (E0120), category (E0121, E0111), image registry/repository/tag (E0109, E0107,
//! E0106, E0108), credential (E0110), Dockerfile (E0112, E0113), `release.version` and
//! `versions` keys (E0116), QA marks (E0119, warning E0122); across listings: duplicate code
//! (E0103), name (E0105, case-insensitive) and reference (E0115, also against released
//! versions in the index).
//!
//! Invariants: one pass over the listings in path order with hash maps for the cross-file
//! rules (linear in the catalogue size); a duplicate is reported at its second occurrence and
//! names the first; categories are kebab-case, `pipeline-job` needs `agentScope`; a version
//! mark without `qa` and without `delisted` is only a warning (it does nothing).

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::catalogue::load::{Catalogue, Source};
use crate::catalogue::validate::dockerfile::Dockerfiles;
use crate::catalogue::validate::{Seen, at, check_credential, earlier};
use crate::model::diag::{Code, Diagnostic, Diagnostics};
use crate::model::reference::{self, ImageRef, registry_diagnostic, repository_diagnostic};
use crate::model::span::Sp;
use crate::model::{Index, Listing, QaStatus, Status};

static CODE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z_][A-Za-z0-9_-]{0,31}$").unwrap());
static CATEGORY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:-[a-z0-9]+)*$").unwrap());

/// Longest listing name, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// The category that requires `agentScope`.
pub const PIPELINE_JOB: &str = "pipeline-job";

/// Released versions in the index by canonical reference, for duplicate-reference checks.
struct ReleasedRef<'a> {
    code: &'a str,
    version: &'a str,
    /// Is it the newest version of its image (the normal "unchanged" case)?
    newest: bool,
}

/// An index reference in canonical form (Docker Hub aliases and `library/` folded).
fn canonical_index_ref(s: &str) -> String {
    match ImageRef::parse_canonical(s) {
        Some(r) => r.to_string(),
        None => s.to_string(),
    }
}

fn released_refs(index: &Index) -> HashMap<String, Vec<ReleasedRef<'_>>> {
    let mut map: HashMap<String, Vec<ReleasedRef<'_>>> = HashMap::new();
    for (code, img) in &index.images {
        // Newest by semver precedence; the index keeps them ascending, but do not rely on it.
        let newest = img
            .versions
            .iter()
            .filter_map(|v| semver::Version::parse(&v.version).ok().map(|p| (p, v)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, v)| v.version.as_str())
            .or_else(|| img.versions.last().map(|v| v.version.as_str()));
        for v in &img.versions {
            if v.status == Status::Released {
                map.entry(canonical_index_ref(&v.reference))
                    .or_default()
                    .push(ReleasedRef {
                        code,
                        version: &v.version,
                        newest: Some(v.version.as_str()) == newest,
                    });
            }
        }
    }
    map
}

pub(super) fn check_listings(cat: &Catalogue, index: Option<&Index>, d: &mut Diagnostics) {
    let released = index.map(released_refs).unwrap_or_default();
    let mut codes: HashMap<&str, Seen<'_>> = HashMap::new();
    let mut names: HashMap<String, Seen<'_>> = HashMap::new();
    let mut refs: HashMap<String, Seen<'_>> = HashMap::new();
    let mut dockerfiles = Dockerfiles::new(&cat.root);
    for src in &cat.listings {
        let file = src.path.as_path();
        let l = &src.value;
        check_listing_fields(cat, src, &mut dockerfiles, d);

        if let Some(first) = earlier(
            &mut codes,
            l.code.value.as_str(),
            Seen {
                file,
                pos: l.code.pos,
            },
        ) {
            d.push(
                Diagnostic::error(
                    Code::DuplicateCode,
                    file,
                    l.code.pos,
                    format!(
                        "code `{}` is already used by {}",
                        l.code.value,
                        at(first.pos, first.file)
                    ),
                )
                .with_hint("codes identify images in the store; give this listing its own code and file name"),
            );
        }

        let name_key = l.name.value.trim().to_lowercase();
        if !name_key.is_empty()
            && let Some(first) = earlier(
                &mut names,
                name_key,
                Seen {
                    file,
                    pos: l.name.pos,
                },
            )
        {
            d.push(
                Diagnostic::error(
                    Code::DuplicateName,
                    file,
                    l.name.pos,
                    format!(
                        "name `{}` is already used by {} (names are compared case-insensitively)",
                        l.name.value,
                        at(first.pos, first.file)
                    ),
                )
                .with_hint("names must be unique across the catalogue"),
            );
        }

        let r = ImageRef::of_spec(&l.image);
        let r_str = r.to_string();
        if let Some(first) = earlier(
            &mut refs,
            r_str.clone(),
            Seen {
                file,
                pos: l.image.tag.pos,
            },
        ) {
            d.push(
                Diagnostic::error(
                    Code::DuplicateReference,
                    file,
                    l.image.tag.pos,
                    format!(
                        "image `{r_str}` is also listed by {}",
                        at(first.pos, first.file)
                    ),
                )
                .with_hint(
                    "each listing publishes its own image; use a different repository or tag",
                ),
            );
        }
        if let Some(users) = released.get(&r_str) {
            // Report the most relevant clash only: another image first, then an older version.
            let clash = users
                .iter()
                .filter(|u| u.code != l.code.value.as_str())
                .min_by_key(|u| u.code)
                .or_else(|| users.iter().find(|u| !u.newest));
            if let Some(u) = clash {
                let (msg, hint) = if u.code != l.code.value.as_str() {
                    (
                        format!(
                            "image `{r_str}` is already released as version {} of `{}`",
                            u.version, u.code
                        ),
                        "a released reference belongs to one image; push a new tag for this one",
                    )
                } else {
                    (
                        format!(
                            "image `{r_str}` is already released as version {}, which is not the newest version of `{}`",
                            u.version, u.code
                        ),
                        "going back to an old tag would release the same image again under a new number; push a new tag, or delist the newer versions",
                    )
                };
                d.push(
                    Diagnostic::error(Code::DuplicateReference, file, l.image.tag.pos, msg)
                        .with_hint(hint),
                );
            }
        }
    }
}

fn check_listing_fields(
    cat: &Catalogue,
    src: &Source<Listing>,
    dockerfiles: &mut Dockerfiles<'_>,
    d: &mut Diagnostics,
) {
    let file = src.path.as_path();
    let l = &src.value;

    // code
    if !CODE_RE.is_match(&l.code.value) {
        d.push(
            Diagnostic::error(
                Code::InvalidCode,
                file,
                l.code.pos,
                format!("code `{}` is not valid", l.code.value),
            )
            .with_hint("a letter or `_`, then up to 31 letters, digits, `_` or `-` (^[a-zA-Z_][A-Za-z0-9_-]{0,31}$)"),
        );
    }
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if stem != l.code.value {
        d.push(
            Diagnostic::error(
                Code::CodeStemMismatch,
                file,
                l.code.pos,
                format!(
                    "code `{}` does not match the file name `{stem}`",
                    l.code.value
                ),
            )
            .with_hint(format!(
                "rename the file to `{}.yaml` or set `code: {stem}`",
                l.code.value
            )),
        );
    }

    // name, summary, publisher
    let name_chars = l.name.value.chars().count();
    if l.name.value.trim().is_empty() || name_chars > MAX_NAME_CHARS {
        let why = if l.name.value.is_empty() {
            "is empty".to_string()
        } else if l.name.value.trim().is_empty() {
            "is blank".to_string()
        } else {
            format!("is {name_chars} characters long")
        };
        d.push(
            Diagnostic::error(
                Code::InvalidName,
                file,
                l.name.pos,
                format!("name {why}"),
            )
            .with_hint(format!(
                "names are 1-{MAX_NAME_CHARS} characters; put longer text in `summary` or `description`"
            )),
        );
    }
    for (field, v) in [("summary", &l.summary), ("publisher", &l.publisher)] {
        empty_field(field, v, file, d);
    }
    if let Some(p) = &l.debug_project {
        empty_field("debugProject", p, file, d);
    }
    for s in &l.agent_scope {
        empty_field("agentScope entry", s, file, d);
    }
    for s in &l.labels {
        empty_field("labels entry", s, file, d);
    }

    // category
    if let Some(cat_) = &l.category {
        if !CATEGORY_RE.is_match(&cat_.value) {
            d.push(
                Diagnostic::error(
                    Code::InvalidCategory,
                    file,
                    cat_.pos,
                    format!("category `{}` is not kebab-case", cat_.value),
                )
                .with_hint("lowercase words joined by `-`, e.g. `pipeline-job`"),
            );
        }
        if cat_.value == PIPELINE_JOB && l.agent_scope.is_empty() {
            d.push(
                Diagnostic::error(
                    Code::MissingAgentScope,
                    file,
                    cat_.pos,
                    "category `pipeline-job` requires a non-empty `agentScope`",
                )
                .with_hint(
                    "add e.g. `agentScope: [linux-docker]` naming the agents the job may run on",
                ),
            );
        }
    }

    // image
    let img = &l.image.value;
    d.push_all(registry_diagnostic(img.registry.as_ref(), file));
    d.push_all(repository_diagnostic(&img.repository, file));
    if img.tag.value == "latest" {
        d.push(
            Diagnostic::error(
                Code::TagLatest,
                file,
                img.tag.pos,
                "the tag `latest` is not allowed",
            )
            .with_hint("use an immutable, versioned tag (e.g. `2026.11.1`); berth provides `latest` as a channel"),
        );
    } else if !reference::valid_tag(&img.tag.value) {
        d.push(
            Diagnostic::error(
                Code::InvalidTag,
                file,
                img.tag.pos,
                format!("`{}` is not a valid OCI tag", img.tag.value),
            )
            .with_hint("up to 128 characters [A-Za-z0-9_.-], not starting with `.` or `-`; quote numeric tags"),
        );
    }
    check_credential(cat, img.credential.as_ref(), file, d);

    // dockerfile
    if let Some(df) = &l.dockerfile {
        dockerfiles.check(df, file, d);
    }

    // release.version
    if let Some(v) = &l.release.version
        && semver::Version::parse(&v.value).is_err()
    {
        d.push(
            Diagnostic::error(
                Code::InvalidVersionKey,
                file,
                v.pos,
                format!("release.version `{}` is not a semantic version", v.value),
            )
            .with_hint("write MAJOR.MINOR.PATCH, e.g. `1.2.0` (a pre-release suffix like `-rc.1` is allowed)"),
        );
    }

    // versions
    for (key, mark) in &l.versions {
        if let Err(e) = semver::Version::parse(key) {
            d.push(
                Diagnostic::error(
                    Code::InvalidVersionKey,
                    file,
                    key.pos,
                    format!(
                        "versions key `{}` is not a semantic version: {e}",
                        key.value
                    ),
                )
                .with_hint("quote the full version, e.g. \"1.0.1\""),
            );
        }
        let reason_empty = mark.reason.as_ref().is_none_or(|r| r.trim().is_empty());
        if mark
            .qa
            .as_ref()
            .is_some_and(|q| q.value == QaStatus::Failed)
            && reason_empty
        {
            let pos = mark
                .reason
                .as_ref()
                .map(|r| r.pos)
                .or(mark.qa.as_ref().map(|q| q.pos))
                .unwrap_or(key.pos);
            d.push(
                Diagnostic::error(
                    Code::QaReasonMissing,
                    file,
                    pos,
                    format!(
                        "version {} is marked `qa: failed` without a reason",
                        key.value
                    ),
                )
                .with_hint("add `reason: \"...\"`, e.g. the failing acceptance run"),
            );
        }
        if mark.qa.is_none() && !mark.delisted {
            d.push(
                Diagnostic::warning(
                    Code::EmptyMark,
                    file,
                    key.pos,
                    format!(
                        "the mark for version {} has neither `qa` nor `delisted: true`; it has no effect",
                        key.value
                    ),
                )
                .with_hint("set `qa: failed|passed` or `delisted: true`, or remove the entry"),
            );
        }
    }
}

fn empty_field(field: &str, v: &Sp<String>, file: &Path, d: &mut Diagnostics) {
    if v.value.trim().is_empty() {
        d.push(
            Diagnostic::error(Code::EmptyField, file, v.pos, format!("{field} is empty"))
                .with_hint("give a value or remove the field when it is optional"),
        );
    }
}
