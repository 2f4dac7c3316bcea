//! Stage 2, validate: static checks of a loaded catalogue (`berth validate`).
//!
//! Inputs: a [`Catalogue`] from `load` (config, listings, policies with their relative paths)
//! and, when it exists, the current [`Index`]. Output: [`Diagnostics`], every problem at once,
//! each with a stable [`Code`], the `file:line:col` of the offending value and a hint.
//!
//! Invariants and choices:
//! - [`check`] is a pure function of its inputs except for the Dockerfile checks, which look at
//!   the catalogue directory (existence, symlink escapes). It never stops at the first error.
//! - Every cross-file rule (duplicate code, name, reference, policy name) is a single pass with a
//!   hash map keyed by the normalised value, so the run is linear in the catalogue size; regexes
//!   are compiled once (`LazyLock`).
//! - Duplicates are reported at the *second* occurrence in path order (files are loaded sorted),
//!   and the message names the first `file:line:col`.
//! - Listing names and policy names are unique **case-insensitively** (`CI Base` and `ci base`
//!   would be indistinguishable in a UI list); codes are compared exactly, as they are
//!   identities that must equal the file stem.
//! - Categories are kebab-case (`pipeline-job`, `tool`); `pipeline-job` needs `agentScope`.
//! - A version mark without `qa` and without `delisted` is only a warning (it does nothing).
//! - Template syntax of `target.tag` is not checked here (the promote stage owns templates).
//! - Positions: every finding points at the offending value. Map keys (`registries.<host>`,
//!   `credentials.<name>`, `versions.<v>`) and criterion operators carry no span in the models,
//!   so for those the file is re-read (lazily, only when such a finding exists) to locate them.
//! - Output of [`run`]: sorted diagnostics as text (`file:line:col: error[E0xxx]: ...`), JSON
//!   (`{"diagnostics": [...], "errors": N, "warnings": N}`, keys sorted) or a markdown list; exit
//!   status 1 when there is at least one error, else 0 (warnings alone pass).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::catalogue::load::{CONFIG_FILE, Catalogue, Source};
use crate::model::diag::{Code, Diagnostic, Diagnostics, display_path};
use crate::model::reference::{self, ImageRef};
use crate::model::span::{Pos, Sp};
use crate::model::{Criterion, Index, Listing, Policy, QaStatus, Status, StringMatch};

static CODE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z_][A-Za-z0-9_-]{0,31}$").unwrap());
static CATEGORY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:-[a-z0-9]+)*$").unwrap());
static POLICY_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_][A-Za-z0-9_.-]{0,63}$").unwrap());
static PLATFORM_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$").unwrap());
static ENV_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$").unwrap());

/// Longest listing name, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// The category that requires `agentScope`.
pub const PIPELINE_JOB: &str = "pipeline-job";

// ---------------------------------------------------------------------------------------------
// Entry points

/// Check a loaded catalogue (and the index, for duplicate references). Collects everything.
pub fn check(cat: &Catalogue, index: Option<&Index>) -> Diagnostics {
    let mut d = Diagnostics::new();
    check_config(cat, &mut d);
    check_listings(cat, index, &mut d);
    check_policies(cat, &mut d);
    // Tag templates are checked by the promotion stage, which owns their language.
    for p in &cat.policies {
        d.extend(crate::policy::check::check_policy(&cat.root, p));
    }
    d
}

// ---------------------------------------------------------------------------------------------
// Helpers

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

// ---------------------------------------------------------------------------------------------
// berth.yaml

fn check_config(cat: &Catalogue, d: &mut Diagnostics) {
    let file = cat
        .config_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(CONFIG_FILE));
    let cfg = &cat.config;
    let mut keys = KeyLocator::new(&cat.root);
    if let Some(index) = &cfg.index {
        match normalize_relative(&index.value) {
            Ok(_) => {}
            Err(why) => d.push(
                Diagnostic::error(
                    Code::IndexPathEscapes,
                    &file,
                    index.pos,
                    format!("index path `{}` {why}", index.value),
                )
                .with_hint("use a path inside the catalogue, e.g. `index.json`"),
            ),
        }
    }
    for (host, reg) in &cfg.registries {
        if !reference::valid_registry(host) {
            d.push(
                Diagnostic::error(
                    Code::InvalidRegistry,
                    &file,
                    keys.key(&file, Section::Registries, host, reg.pos),
                    format!("registry key `{host}` is not a valid registry host"),
                )
                .with_hint("write the host only, e.g. `reg.example.com` or `localhost:5000` (no scheme, no path)"),
            );
        }
        if reg.max_concurrency == Some(0) {
            d.push(
                Diagnostic::error(
                    Code::InvalidConfig,
                    &file,
                    keys.field(
                        &file,
                        Section::Registries,
                        host,
                        |f| f.max_concurrency.as_ref().map(|s| s.pos),
                        reg.pos,
                    ),
                    format!("registries.{host}.maxConcurrency must be at least 1"),
                )
                .with_hint("remove the setting to use the default"),
            );
        }
        if let Some(rps) = reg.requests_per_second
            && !(rps.is_finite() && rps > 0.0)
        {
            d.push(
                Diagnostic::error(
                    Code::InvalidConfig,
                    &file,
                    keys.field(
                        &file,
                        Section::Registries,
                        host,
                        |f| f.requests_per_second.as_ref().map(|s| s.pos),
                        reg.pos,
                    ),
                    format!(
                        "registries.{host}.requestsPerSecond must be a positive number, got {rps}"
                    ),
                )
                .with_hint("remove the setting for no rate limit"),
            );
        }
    }
    for (name, cred) in &cfg.credentials {
        let user = cred.username_env.as_deref();
        let pass = cred.password_env.as_deref();
        let env_pair = user.is_some() || pass.is_some();
        let problem = match (user, pass, cred.docker_config) {
            (Some(_), Some(_), false) | (None, None, true) => None,
            (_, _, true) => Some("sets both dockerConfig and usernameEnv/passwordEnv"),
            (Some(_), None, false) => Some("has usernameEnv but no passwordEnv"),
            (None, Some(_), false) => Some("has passwordEnv but no usernameEnv"),
            (None, None, false) => Some("has no source"),
        };
        if let Some(problem) = problem {
            d.push(
                Diagnostic::error(
                    Code::InvalidConfig,
                    &file,
                    keys.key(&file, Section::Credentials, name, cred.pos),
                    format!("credential `{name}` {problem}"),
                )
                .with_hint("give both usernameEnv and passwordEnv (environment variable names), or dockerConfig: true"),
            );
        } else if env_pair {
            for (field, var) in [("usernameEnv", user), ("passwordEnv", pass)] {
                if let Some(var) = var
                    && !ENV_NAME_RE.is_match(var)
                {
                    d.push(
                        Diagnostic::error(
                            Code::InvalidConfig,
                            &file,
                            env_pos(&mut keys, &file, name, field, cred.pos),
                            // The value is not echoed: it may be a secret pasted by mistake.
                            format!("credential `{name}`: {field} is not an environment variable name"),
                        )
                        .with_hint("name the variable that holds the secret (e.g. REGISTRY_TOKEN), never the secret itself"),
                    );
                }
            }
        }
    }
}

fn env_pos(keys: &mut KeyLocator<'_>, file: &Path, name: &str, field: &str, fallback: Pos) -> Pos {
    if field == "usernameEnv" {
        keys.field(
            file,
            Section::Credentials,
            name,
            |f| f.username_env.as_ref().map(|s| s.pos),
            fallback,
        )
    } else {
        keys.field(
            file,
            Section::Credentials,
            name,
            |f| f.password_env.as_ref().map(|s| s.pos),
            fallback,
        )
    }
}

fn check_credential(cat: &Catalogue, cred: Option<&Sp<String>>, file: &Path, d: &mut Diagnostics) {
    if let Some(c) = cred
        && !cat.config.credentials.contains_key(c.value.as_str())
    {
        let known: Vec<&str> = cat.config.credentials.keys().map(String::as_str).collect();
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

fn check_registry(reg: Option<&Sp<String>>, file: &Path, d: &mut Diagnostics) {
    if let Some(r) = reg
        && !r.value.trim().is_empty()
        && !reference::valid_registry(&r.value)
    {
        d.push(
            Diagnostic::error(
                Code::InvalidRegistry,
                file,
                r.pos,
                format!("`{}` is not a valid registry host", r.value),
            )
            .with_hint("write the host only, e.g. `reg.example.com` or `localhost:5000`; leave it out for docker.io"),
        );
    }
}

fn check_repository(repo: &Sp<String>, file: &Path, d: &mut Diagnostics) {
    if !reference::valid_repository(&repo.value) {
        d.push(
            Diagnostic::error(
                Code::InvalidRepository,
                file,
                repo.pos,
                format!("`{}` is not a valid OCI repository", repo.value),
            )
            .with_hint("lowercase components [a-z0-9] joined by `.`, `_`, `__` or `-`, separated by `/`; no registry host or tag in it"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Listings

/// Released versions in the index by canonical reference, for duplicate-reference checks.
struct ReleasedRef<'a> {
    code: &'a str,
    version: &'a str,
    /// Is it the newest version of its image (the normal "unchanged" case)?
    newest: bool,
}

fn canonical_index_ref(s: &str) -> String {
    match ImageRef::parse_canonical(s) {
        Some(r) => ImageRef::new(Some(&r.registry), &r.repository, &r.tag).to_string(),
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

fn check_listings(cat: &Catalogue, index: Option<&Index>, d: &mut Diagnostics) {
    let released = index.map(released_refs).unwrap_or_default();
    let mut codes: HashMap<&str, Seen<'_>> = HashMap::new();
    let mut names: HashMap<String, Seen<'_>> = HashMap::new();
    let mut refs: HashMap<String, Seen<'_>> = HashMap::new();
    let mut keys = KeyLocator::new(&cat.root);
    for src in &cat.listings {
        let file = src.path.as_path();
        let l = &src.value;
        check_listing_fields(cat, src, &mut keys, d);

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
        if !name_key.is_empty() {
            if let Some(first) = earlier(
                &mut names,
                name_key,
                Seen {
                    file,
                    pos: l.name.pos,
                },
            ) {
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
    keys: &mut KeyLocator<'_>,
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
    check_registry(img.registry.as_ref(), file, d);
    check_repository(&img.repository, file, d);
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
        match normalize_relative(&df.value) {
            Err(why) => d.push(
                Diagnostic::error(
                    Code::DockerfileEscapes,
                    file,
                    df.pos,
                    format!("dockerfile path `{}` {why}", df.value),
                )
                .with_hint("give a path relative to the catalogue root, e.g. `dockerfiles/ci-base.Dockerfile`"),
            ),
            Ok(rel) => match keys.dockerfile(&rel) {
                DockerfileState::Missing => {
                    d.push(
                        Diagnostic::error(
                            Code::DockerfileMissing,
                            file,
                            df.pos,
                            format!("dockerfile `{}` does not exist", display_path(&rel)),
                        )
                        .with_hint("paths are relative to the catalogue root, not to the listing"),
                    );
                }
                DockerfileState::Outside => {
                    d.push(
                        Diagnostic::error(
                            Code::DockerfileEscapes,
                            file,
                            df.pos,
                            format!(
                                "dockerfile `{}` is a symlink to a file outside the catalogue",
                                df.value
                            ),
                        )
                        .with_hint("copy the Dockerfile into the catalogue repository"),
                    );
                }
                DockerfileState::Inside => {}
            },
        }
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
                    keys.key(file, Section::Versions, key, mark.pos),
                    format!("versions key `{key}` is not a semantic version: {e}"),
                )
                .with_hint("quote the full version, e.g. \"1.0.1\""),
            );
        }
        let reason_empty = mark.reason.as_deref().is_none_or(|r| r.trim().is_empty());
        if mark.qa == Some(QaStatus::Failed) && reason_empty {
            d.push(
                Diagnostic::error(
                    Code::QaReasonMissing,
                    file,
                    keys.field(
                        file,
                        Section::Versions,
                        key,
                        |f| f.reason.as_ref().or(f.qa.as_ref()).map(|s| s.pos),
                        mark.pos,
                    ),
                    format!("version {key} is marked `qa: failed` without a reason"),
                )
                .with_hint("add `reason: \"...\"`, e.g. the failing acceptance run"),
            );
        }
        if mark.qa.is_none() && !mark.delisted {
            d.push(
                Diagnostic::warning(
                    Code::EmptyMark,
                    file,
                    keys.key(file, Section::Versions, key, mark.pos),
                    format!("the mark for version {key} has neither `qa` nor `delisted: true`; it has no effect"),
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

// ---------------------------------------------------------------------------------------------
// Policies

/// Compile a doublestar repository pattern (`dev/**`, `team-*/web?`) to an anchored regex.
///
/// `*` matches within one path component, `?` one character of a component, and a `**`
/// component any number (including zero) of whole components. Literal parts must be valid
/// repository characters, so a pattern only matches repositories a registry can hold.
pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    if pattern.is_empty() {
        return Err("the pattern is empty".into());
    }
    let mut comps: Vec<&str> = Vec::new();
    for c in pattern.split('/') {
        // `**/**` is the same as `**`.
        if c == "**" && comps.last() == Some(&"**") {
            continue;
        }
        comps.push(c);
    }
    for c in &comps {
        if c.is_empty() {
            return Err("empty path component (`//`, or a leading or trailing `/`)".into());
        }
        if *c != "**" {
            if c.contains("**") {
                return Err(format!("`**` must be a whole path component, found `{c}`"));
            }
            // Wildcards stand for at least a valid character; the rest must be a valid component.
            let probe = c.replace(['*', '?'], "a");
            if !reference::valid_repository(&probe) {
                return Err(format!(
                    "component `{c}` is not a valid repository component"
                ));
            }
        }
    }
    if comps == ["**"] {
        return Regex::new(r"^[^/]+(?:/[^/]+)*$").map_err(|e| e.to_string());
    }
    let mut re = String::from("^");
    let mut after_leading_globstar = false;
    for (i, c) in comps.iter().enumerate() {
        if *c == "**" {
            if i == 0 {
                re.push_str("(?:[^/]+/)*");
                after_leading_globstar = true;
            } else {
                re.push_str("(?:/[^/]+)*");
            }
            continue;
        }
        if i > 0 && !after_leading_globstar {
            re.push('/');
        }
        after_leading_globstar = false;
        for ch in c.chars() {
            match ch {
                '*' => re.push_str("[^/]*"),
                '?' => re.push_str("[^/]"),
                other => re.push_str(&regex::escape(&other.to_string())),
            }
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| e.to_string())
}

/// The last meaningful line of a regex error ("error: unclosed group"), so the diagnostic
/// stays on one line.
fn regex_error_text(e: &regex::Error) -> String {
    let s = e.to_string();
    s.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: ").map(str::to_string))
        .unwrap_or_else(|| s.lines().last().unwrap_or("").trim().to_string())
}

fn check_policies(cat: &Catalogue, d: &mut Diagnostics) {
    let mut names: HashMap<String, Seen<'_>> = HashMap::new();
    let mut keys = KeyLocator::new(&cat.root);
    for src in &cat.policies {
        let file = src.path.as_path();
        let p = &src.value;
        check_policy(cat, p, file, &mut keys, d);
        let key = p.name.value.to_lowercase();
        if let Some(first) = earlier(
            &mut names,
            key,
            Seen {
                file,
                pos: p.name.pos,
            },
        ) {
            d.push(
                Diagnostic::error(
                    Code::DuplicatePolicyName,
                    file,
                    p.name.pos,
                    format!(
                        "policy name `{}` is already used by {} (compared case-insensitively)",
                        p.name.value,
                        at(first.pos, first.file)
                    ),
                )
                .with_hint("promotions are recorded by policy name; give each policy its own"),
            );
        }
    }
}

fn check_policy(
    cat: &Catalogue,
    p: &Policy,
    file: &Path,
    keys: &mut KeyLocator<'_>,
    d: &mut Diagnostics,
) {
    if !POLICY_NAME_RE.is_match(&p.name.value) {
        d.push(
            Diagnostic::error(
                Code::InvalidPolicyName,
                file,
                p.name.pos,
                format!("policy name `{}` is not valid", p.name.value),
            )
            .with_hint("up to 64 letters, digits, `_`, `.` or `-`, e.g. `website-to-qa`"),
        );
    }
    check_registry(p.source.registry.as_ref(), file, d);
    check_credential(cat, p.source.credential.as_ref(), file, d);
    if let Err(e) = compile_pattern(&p.source.repository.value) {
        d.push(
            Diagnostic::error(
                Code::InvalidPattern,
                file,
                p.source.repository.pos,
                format!(
                    "source repository `{}` is not a valid pattern: {e}",
                    p.source.repository.value
                ),
            )
            .with_hint(
                "a repository path where components may use `*`, `?`, or be `**`, e.g. `dev/**`",
            ),
        );
    }
    check_registry(p.target.registry.as_ref(), file, d);
    check_repository(&p.target.repository, file, d);
    check_credential(cat, p.target.credential.as_ref(), file, d);
    for (i, c) in p.criteria.iter().enumerate() {
        let mut pos_of = |op: Option<&str>| keys.criterion(file, i, op, c.pos);
        match &c.value {
            Criterion::Tag(m) => check_match("tag", m, &mut pos_of, file, d),
            Criterion::Label(l) => {
                if l.name.trim().is_empty() {
                    d.push(
                        Diagnostic::error(
                            Code::EmptyField,
                            file,
                            pos_of(Some("name")),
                            "label criterion has an empty `name`",
                        )
                        .with_hint(
                            "name the image config label, e.g. `org.opencontainers.image.vendor`",
                        ),
                    );
                }
                check_match("label", &l.operators(), &mut pos_of, file, d);
            }
            Criterion::Platform(pl) => {
                if !PLATFORM_RE.is_match(pl) {
                    d.push(
                        Diagnostic::error(
                            Code::InvalidPlatform,
                            file,
                            pos_of(None),
                            format!("platform `{pl}` is not os/arch[/variant]"),
                        )
                        .with_hint("e.g. `linux/amd64` or `linux/arm64/v8`"),
                    );
                }
            }
        }
    }
}

/// `pos_of(Some(op))` is the position of operator `op`'s value, `pos_of(None)` the criterion's.
fn check_match(
    kind: &str,
    m: &StringMatch,
    pos_of: &mut dyn FnMut(Option<&str>) -> Pos,
    file: &Path,
    d: &mut Diagnostics,
) {
    let any = m.equals.is_some()
        || m.starts_with.is_some()
        || m.ends_with.is_some()
        || m.contains.is_some()
        || m.one_of.is_some()
        || m.not_one_of.is_some()
        || m.matches.is_some()
        || m.semver.is_some();
    if !any {
        d.push(
            Diagnostic::error(
                Code::EmptyMatch,
                file,
                pos_of(None),
                format!("{kind} criterion has no operator"),
            )
            .with_hint(
                "use equals, startsWith, endsWith, contains, oneOf, notOneOf, matches or semver",
            ),
        );
    }
    if m.one_of.as_ref().is_some_and(Vec::is_empty) {
        d.push(
            Diagnostic::error(
                Code::EmptyMatch,
                file,
                pos_of(Some("oneOf")),
                format!("{kind} criterion has an empty `oneOf`, which never matches"),
            )
            .with_hint("list at least one value"),
        );
    }
    if let Some(re) = &m.matches
        && let Err(e) = Regex::new(re)
    {
        d.push(
            Diagnostic::error(
                Code::InvalidRegex,
                file,
                pos_of(Some("matches")),
                format!(
                    "{kind} `matches` is not a valid regex: {}",
                    regex_error_text(&e)
                ),
            )
            .with_hint("Rust regex syntax (https://docs.rs/regex); the whole value must match"),
        );
    }
    if let Some(range) = &m.semver
        && let Err(e) = semver::VersionReq::parse(range)
    {
        d.push(
            Diagnostic::error(
                Code::InvalidSemverRange,
                file,
                pos_of(Some("semver")),
                format!("{kind} `semver` range `{range}` is not valid: {e}"),
            )
            .with_hint("e.g. `>=1.2, <2` or `^1.4`"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Key positions

/// A mapping key with its position. Models key maps by `String` (no span), so when a finding is
/// about a key (`registries.<host>`, `credentials.<name>`, `versions.<v>`) the file is re-read
/// for the key positions. This only happens for files that have such a finding.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
struct KeySp(Sp<String>);

impl PartialEq for KeySp {
    fn eq(&self, o: &Self) -> bool {
        self.0.value == o.0.value
    }
}
impl Eq for KeySp {}
impl PartialOrd for KeySp {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for KeySp {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.value.cmp(&o.0.value)
    }
}

/// Positions of the nested fields validation reports on; everything else is ignored.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldPos {
    #[serde(default)]
    max_concurrency: Option<Sp<serde::de::IgnoredAny>>,
    #[serde(default)]
    requests_per_second: Option<Sp<serde::de::IgnoredAny>>,
    #[serde(default)]
    username_env: Option<Sp<serde::de::IgnoredAny>>,
    #[serde(default)]
    password_env: Option<Sp<serde::de::IgnoredAny>>,
    #[serde(default)]
    qa: Option<Sp<serde::de::IgnoredAny>>,
    #[serde(default)]
    reason: Option<Sp<serde::de::IgnoredAny>>,
}

type KeyMap = BTreeMap<KeySp, FieldPos>;

#[derive(Debug, Default, serde::Deserialize)]
struct KeysOf {
    #[serde(default)]
    registries: KeyMap,
    #[serde(default)]
    credentials: KeyMap,
    #[serde(default)]
    versions: KeyMap,
    #[serde(default)]
    criteria: Vec<BTreeMap<String, Sp<OpPositions>>>,
}

/// Positions of the operators of one criterion (`{ name: .., matches: .. }`); empty for a
/// scalar criterion such as `platform: linux/amd64`.
#[derive(Debug, Default)]
struct OpPositions(HashMap<String, Pos>);

impl<'de> serde::Deserialize<'de> for OpPositions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OpPositions;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a criterion")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<OpPositions, A::Error> {
                let mut out = HashMap::new();
                while let Some(k) = m.next_key::<String>()? {
                    let v: Sp<serde::de::IgnoredAny> = m.next_value()?;
                    out.insert(k, v.pos);
                }
                Ok(OpPositions(out))
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<OpPositions, E> {
                Ok(OpPositions::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<OpPositions, E> {
                Ok(OpPositions::default())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<OpPositions, E> {
                Ok(OpPositions::default())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<OpPositions, E> {
                Ok(OpPositions::default())
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<OpPositions, E> {
                Ok(OpPositions::default())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<OpPositions, E> {
                Ok(OpPositions::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// Which keyed section of a file.
#[derive(Clone, Copy)]
enum Section {
    Registries,
    Credentials,
    Versions,
}

/// Lazily re-reads files for key positions; `fallback` is used when the file cannot be read.
/// Also caches the file-system lookups of the Dockerfile checks (canonical root, directories,
/// per-path results), so a large catalogue costs about one `lstat` per Dockerfile.
struct KeyLocator<'a> {
    root: &'a Path,
    cache: HashMap<PathBuf, Option<KeysOf>>,
    canonical_root: Option<Option<PathBuf>>,
    dirs: HashMap<PathBuf, Option<PathBuf>>,
    dockerfiles: HashMap<PathBuf, DockerfileState>,
}

/// Outcome of looking a Dockerfile up on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DockerfileState {
    Inside,
    /// Exists, but resolves (through a symlink) outside the catalogue.
    Outside,
    /// Missing, dangling, or not a regular file.
    Missing,
}

impl<'a> KeyLocator<'a> {
    fn new(root: &'a Path) -> Self {
        KeyLocator {
            root,
            cache: HashMap::new(),
            canonical_root: None,
            dirs: HashMap::new(),
            dockerfiles: HashMap::new(),
        }
    }

    fn canonical_root(&mut self) -> Option<&Path> {
        let root = self.root;
        self.canonical_root
            .get_or_insert_with(|| root.canonicalize().ok())
            .as_deref()
    }

    /// Where a lexically normalised Dockerfile path leads. One `lstat` per distinct path; a
    /// full `canonicalize` only for symlinks, plus one per distinct parent directory (cached),
    /// because a symlinked directory can lead outside as well.
    fn dockerfile(&mut self, rel: &Path) -> DockerfileState {
        if let Some(state) = self.dockerfiles.get(rel) {
            return *state;
        }
        let full = self.root.join(rel);
        let state = match std::fs::symlink_metadata(&full) {
            Err(_) => DockerfileState::Missing,
            Ok(m) if m.file_type().is_symlink() => match full.canonicalize() {
                Ok(target) if target.is_file() => self.inside(&target),
                _ => DockerfileState::Missing,
            },
            Ok(m) if m.is_file() => {
                let parent = full.parent().unwrap_or(self.root).to_path_buf();
                let canonical_parent = self
                    .dirs
                    .entry(parent)
                    .or_insert_with_key(|p| p.canonicalize().ok())
                    .clone();
                match canonical_parent {
                    Some(p) => self.inside(&p),
                    None => DockerfileState::Inside,
                }
            }
            Ok(_) => DockerfileState::Missing,
        };
        self.dockerfiles.insert(rel.to_path_buf(), state);
        state
    }

    /// When the root cannot be resolved the lexical check stands.
    fn inside(&mut self, canonical: &Path) -> DockerfileState {
        match self.canonical_root() {
            Some(r) if !canonical.starts_with(r) => DockerfileState::Outside,
            _ => DockerfileState::Inside,
        }
    }

    fn entry(&mut self, file: &Path, section: Section, key: &str) -> Option<(Pos, &FieldPos)> {
        let keys = self.keys_of(file)?;
        let map = match section {
            Section::Registries => &keys.registries,
            Section::Credentials => &keys.credentials,
            Section::Versions => &keys.versions,
        };
        map.get_key_value(&KeySp(Sp::bare(key.to_string())))
            .map(|(k, v)| (k.0.pos, v))
    }

    fn keys_of(&mut self, file: &Path) -> Option<&KeysOf> {
        let root = self.root;
        self.cache
            .entry(file.to_path_buf())
            .or_insert_with(|| {
                let text = std::fs::read_to_string(root.join(file)).ok()?;
                crate::catalogue::load::parse_yaml::<KeysOf>(&text).ok()
            })
            .as_ref()
    }

    /// Position of criterion `i`'s value, or of one of its operators (`op`), else `fallback`.
    fn criterion(&mut self, file: &Path, i: usize, op: Option<&str>, fallback: Pos) -> Pos {
        let Some(keys) = self.keys_of(file) else {
            return fallback;
        };
        let Some(value) = keys.criteria.get(i).and_then(|c| c.values().next()) else {
            return fallback;
        };
        op.and_then(|o| value.value.0.get(o).copied())
            .unwrap_or(value.pos)
    }

    /// Position of the key itself.
    fn key(&mut self, file: &Path, section: Section, key: &str, fallback: Pos) -> Pos {
        self.entry(file, section, key)
            .map(|(p, _)| p)
            .unwrap_or(fallback)
    }

    /// Position of a field inside the keyed entry (its value), else of the key, else `fallback`.
    fn field(
        &mut self,
        file: &Path,
        section: Section,
        key: &str,
        pick: fn(&FieldPos) -> Option<Pos>,
        fallback: Pos,
    ) -> Pos {
        match self.entry(file, section, key) {
            Some((k, f)) => pick(f).unwrap_or(k),
            None => fallback,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        ImageEntry, Index, ReleaseType, VerificationEntry, VerifyState, VersionEntry,
    };

    fn listing(yaml: &str) -> Listing {
        crate::catalogue::load::parse_yaml(yaml).expect("test listing parses")
    }

    fn basic(code: &str, repo: &str, tag: &str, extra: &str) -> Listing {
        listing(&format!(
            "code: {code}\nname: {code}\nsummary: s\npublisher: p\nimage:\n  registry: reg.example.com\n  repository: {repo}\n  tag: \"{tag}\"\nrelease:\n  type: new\n  stage: testing\n{extra}"
        ))
    }

    fn catalogue(root: &Path, listings: Vec<Listing>) -> Catalogue {
        Catalogue {
            root: root.to_path_buf(),
            listings: listings
                .into_iter()
                .map(|l| Source {
                    path: PathBuf::from(format!("images/{}.yaml", l.code.value)),
                    value: l,
                })
                .collect(),
            ..Catalogue::default()
        }
    }

    fn codes(d: &Diagnostics) -> Vec<(Code, String)> {
        d.clone()
            .into_sorted()
            .into_iter()
            .map(|x| (x.code, x.file))
            .collect()
    }

    fn version(v: &str, status: Status, reference: &str) -> VersionEntry {
        VersionEntry {
            version: v.into(),
            release_type: ReleaseType::New,
            status,
            qa: None,
            reference: reference.into(),
            digest: None,
            pull: None,
            platforms: vec![],
            size: None,
            config_labels: BTreeMap::new(),
            notes: None,
            recorded_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            catalogue_commit: None,
            verification: VerificationEntry {
                state: VerifyState::Skipped,
                level: None,
                reason: None,
            },
            drift: None,
        }
    }

    fn index_with(images: Vec<(&str, Vec<VersionEntry>)>) -> Index {
        Index {
            schema_version: 1,
            source_commit: None,
            images: images
                .into_iter()
                .map(|(code, versions)| {
                    (
                        code.to_string(),
                        ImageEntry {
                            code: code.into(),
                            versions,
                            ..ImageEntry::default()
                        },
                    )
                })
                .collect(),
            promotions: vec![],
        }
    }

    #[test]
    fn normalizes_relative_paths() {
        assert_eq!(
            normalize_relative("dockerfiles/./a/../x.Dockerfile").unwrap(),
            PathBuf::from("dockerfiles/x.Dockerfile")
        );
        assert_eq!(normalize_relative("a//b").unwrap(), PathBuf::from("a/b"));
        for bad in [
            "../x",
            "a/../../x",
            "a/b/../../../x",
            "..\\x",
            "a\\..\\..\\x",
            "/etc/passwd",
            "\\\\server\\share",
            "C:/x",
            "",
            "  ",
            ".",
            "a/..",
        ] {
            assert!(normalize_relative(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn dockerfile_escape_missing_and_ok() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dockerfiles")).unwrap();
        std::fs::write(
            dir.path().join("dockerfiles/x.Dockerfile"),
            "FROM scratch\n",
        )
        .unwrap();
        let cat = catalogue(
            dir.path(),
            vec![
                basic(
                    "ok1",
                    "a/one",
                    "1",
                    "dockerfile: dockerfiles/x.Dockerfile\n",
                ),
                basic(
                    "ok2",
                    "a/two",
                    "1",
                    "dockerfile: ./dockerfiles/../dockerfiles/x.Dockerfile\n",
                ),
                basic(
                    "esc",
                    "a/three",
                    "1",
                    "dockerfile: dockerfiles/../../x.Dockerfile\n",
                ),
                basic("abs", "a/four", "1", "dockerfile: /etc/passwd\n"),
                basic(
                    "gone",
                    "a/five",
                    "1",
                    "dockerfile: dockerfiles/missing.Dockerfile\n",
                ),
            ],
        );
        assert_eq!(
            codes(&check(&cat, None)),
            vec![
                (Code::DockerfileEscapes, "images/abs.yaml".to_string()),
                (Code::DockerfileEscapes, "images/esc.yaml".to_string()),
                (Code::DockerfileMissing, "images/gone.yaml".to_string()),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn dockerfile_symlink_out_of_the_catalogue_is_an_escape() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linkdir")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("dangling"))
            .unwrap();
        std::fs::create_dir_all(dir.path().join("real")).unwrap();
        std::fs::write(dir.path().join("real/ok"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real/ok"), dir.path().join("inner-link"))
            .unwrap();
        let cat = catalogue(
            dir.path(),
            vec![
                basic("a", "a/a", "1", "dockerfile: link\n"),
                basic("b", "a/b", "1", "dockerfile: linkdir/secret\n"),
                basic("c", "a/c", "1", "dockerfile: dangling\n"),
                basic("d", "a/d", "1", "dockerfile: inner-link\n"),
                basic("e", "a/e", "1", "dockerfile: real/ok\n"),
                basic("f", "a/f", "1", "dockerfile: real\n"),
            ],
        );
        assert_eq!(
            codes(&check(&cat, None)),
            vec![
                (Code::DockerfileEscapes, "images/a.yaml".to_string()),
                (Code::DockerfileEscapes, "images/b.yaml".to_string()),
                (Code::DockerfileMissing, "images/c.yaml".to_string()),
                (Code::DockerfileMissing, "images/f.yaml".to_string()),
            ]
        );
    }

    #[test]
    fn duplicate_reference_against_index() {
        let dir = tempfile::tempdir().unwrap();
        let r1 = "reg.example.com/team/a:1";
        let r2 = "reg.example.com/team/a:2";
        let index = index_with(vec![
            (
                "a",
                vec![
                    version("1.0.0", Status::Released, r1),
                    version("1.1.0", Status::Released, r2),
                ],
            ),
            (
                "b",
                vec![
                    version("1.0.0", Status::Released, "reg.example.com/team/b:1"),
                    version("2.0.0", Status::Testing, "reg.example.com/team/b:2"),
                ],
            ),
            // A testing (not released) reference is free for others to use.
            (
                "c",
                vec![version(
                    "1.0.0",
                    Status::Testing,
                    "reg.example.com/team/c:9",
                )],
            ),
        ]);
        let check_one = |l: Listing| codes(&check(&catalogue(dir.path(), vec![l]), Some(&index)));
        // Unchanged newest version: the normal case.
        assert!(check_one(basic("a", "team/a", "2", "")).is_empty());
        // Back to an older released tag of the same image.
        assert_eq!(
            check_one(basic("a", "team/a", "1", "")),
            vec![(Code::DuplicateReference, "images/a.yaml".into())]
        );
        // Another image's released reference.
        assert_eq!(
            check_one(basic("z", "team/a", "2", "")),
            vec![(Code::DuplicateReference, "images/z.yaml".into())]
        );
        // b's newest is testing; 1.0.0 is released but no longer the newest.
        assert_eq!(
            check_one(basic("b", "team/b", "1", "")),
            vec![(Code::DuplicateReference, "images/b.yaml".into())]
        );
        assert!(check_one(basic("b", "team/b", "2", "")).is_empty());
        assert!(check_one(basic("z", "team/c", "9", "")).is_empty());
        // Index references are compared canonically (docker.io/library).
        let hub = index_with(vec![(
            "u",
            vec![version(
                "1.0.0",
                Status::Released,
                "docker.io/library/ubuntu:24.04",
            )],
        )]);
        let l = listing(
            "code: v\nname: v\nsummary: s\npublisher: p\nimage:\n  repository: ubuntu\n  tag: \"24.04\"\nrelease:\n  type: new\n  stage: testing\n",
        );
        assert_eq!(
            codes(&check(&catalogue(dir.path(), vec![l]), Some(&hub))),
            vec![(Code::DuplicateReference, "images/v.yaml".into())]
        );
    }

    #[test]
    fn duplicate_reference_between_listings_points_at_the_second() {
        let dir = tempfile::tempdir().unwrap();
        let a = listing(
            "code: a\nname: A\nsummary: s\npublisher: p\nimage:\n  repository: ubuntu\n  tag: \"1\"\nrelease:\n  type: new\n  stage: testing\n",
        );
        let b = listing(
            "code: b\nname: B\nsummary: s\npublisher: p\nimage:\n  registry: docker.io\n  repository: library/ubuntu\n  tag: \"1\"\nrelease:\n  type: new\n  stage: testing\n",
        );
        let d = check(&catalogue(dir.path(), vec![a, b]), None).into_sorted();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::DuplicateReference);
        assert_eq!(d[0].file, "images/b.yaml");
        assert_eq!((d[0].line, d[0].column), (8, 8));
        assert!(
            d[0].message.contains("images/a.yaml:7:8"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn names_are_unique_case_insensitively() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = basic("a", "x/a", "1", "");
        a.name.value = "CI Base".into();
        let mut b = basic("b", "x/b", "1", "");
        b.name.value = "ci base".into();
        assert_eq!(
            codes(&check(&catalogue(dir.path(), vec![a, b]), None)),
            vec![(Code::DuplicateName, "images/b.yaml".into())]
        );
    }

    #[test]
    fn doublestar_patterns() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "dev/website",
                &["dev/website"],
                &["dev/websites", "dev", "x/dev/website"],
            ),
            (
                "dev/*",
                &["dev/a", "dev/web-site"],
                &["dev", "dev/a/b", "x/dev/a"],
            ),
            (
                "dev/**",
                &["dev", "dev/a", "dev/a/b/c"],
                &["devx", "x/dev/a"],
            ),
            ("**/web", &["web", "a/web", "a/b/web"], &["web2", "a/web/b"]),
            (
                "a/**/b",
                &["a/b", "a/x/b", "a/x/y/b"],
                &["a/xb", "ab", "a/b/c"],
            ),
            ("**", &["a", "a/b/c"], &[""]),
            (
                "team-?/web*",
                &["team-a/web", "team-b/website"],
                &["team-ab/web", "team-/web"],
            ),
            ("a/**/**/b", &["a/b", "a/x/b"], &["b"]),
            ("v1.0/x", &["v1.0/x"], &["v1x0/x"]),
        ];
        for (pat, yes, no) in cases {
            let re = compile_pattern(pat).unwrap_or_else(|e| panic!("{pat}: {e}"));
            for y in *yes {
                assert!(re.is_match(y), "{pat} should match {y}");
            }
            for n in *no {
                assert!(!re.is_match(n), "{pat} should not match {n}");
            }
        }
        for bad in [
            "", "dev/", "/dev", "dev//x", "dev/***", "dev/a**", "Dev/x", "dev/x:1", "a b",
        ] {
            assert!(compile_pattern(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn credentials_need_exactly_one_source() {
        let dir = tempfile::tempdir().unwrap();
        let cfg: crate::model::Config = crate::catalogue::load::parse_yaml(
            "credentials:\n  ok-env: { usernameEnv: U, passwordEnv: P }\n  ok-docker: { dockerConfig: true }\n  half: { usernameEnv: U }\n  both: { usernameEnv: U, passwordEnv: P, dockerConfig: true }\n  none: {}\n  badvar: { usernameEnv: U, passwordEnv: \"my secret\" }\n",
        )
        .unwrap();
        let cat = Catalogue {
            root: dir.path().to_path_buf(),
            config: cfg,
            ..Catalogue::default()
        };
        let d = check(&cat, None).into_sorted();
        let msgs: Vec<&str> = d.iter().map(|x| x.message.as_str()).collect();
        assert_eq!(d.len(), 4, "{msgs:?}");
        assert!(d.iter().all(|x| x.code == Code::InvalidConfig));
        for name in ["half", "both", "none", "badvar"] {
            assert!(
                msgs.iter().any(|m| m.contains(&format!("`{name}`"))),
                "{name}: {msgs:?}"
            );
        }
    }

    #[test]
    fn regex_errors_stay_on_one_line() {
        // Built at run time, as user input is; a literal would be rejected by clippy.
        let pattern = String::from("(");
        let e = Regex::new(&pattern).unwrap_err();
        let t = regex_error_text(&e);
        assert!(!t.contains('\n') && !t.is_empty(), "{t:?}");
    }
}
