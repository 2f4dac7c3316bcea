//! Stage: plan — load, validate, reconcile, verify, reconcile again, and report.
//!
//! Input: catalogue directory and options. Output: [`Computed`] (the next index as canonical
//! text, the changes, verification results, diagnostics and the index diff) and its
//! rendering as text, markdown (PR comment / step summary) or JSON (stable shape, see
//! [`PlanJson`]). `apply` runs the same computation and then writes.
//! Invariant: computing never writes anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalogue::load::Catalogue;
use crate::lifecycle::{Change, Context, VerifyOutcome, reconcile};
use crate::model::Index;
use crate::model::diag::{Code, Diagnostic, Diagnostics};
use crate::model::span::Pos;
use crate::verify::VerifyStats;

/// Options shared by plan and apply.
#[derive(Clone, Debug)]
pub struct Options {
    pub catalogue: PathBuf,
    pub index: Option<PathBuf>,
    pub offline: bool,
    pub level: crate::verify::Level,
    /// Re-verify the newest released version of each image to detect drift.
    pub check_drift: bool,
    /// Take the recorded state from the index committed at this git revision instead of
    /// reading the file (plan --base).
    pub base_rev: Option<String>,
    /// Where verification, promotion planning and promotion copies (apply) report their
    /// progress (silent by default).
    pub progress: crate::model::progress::Handle,
}

/// Result of a plan computation.
///
/// Neither index is held as text: the file the plan started from is known by its sha256, the
/// next index's bytes are hashed on demand ([`Computed::next_sha256`], streamed) and streamed
/// into the file by apply ([`crate::index::write::write_atomic`]).
#[derive(Debug)]
pub struct Computed {
    pub catalogue: Catalogue,
    pub index_path: PathBuf,
    /// Hex sha256 of the index file the plan started from (`None`: there was none).
    pub prev_sha256: Option<String>,
    /// The recorded state the plan started from.
    pub prev: Index,
    next: Index,
    /// sha256 of `next`'s canonical bytes, computed once when first asked for.
    next_sha256: std::sync::OnceLock<String>,
    pub changes: Vec<Change>,
    pub verifications: Vec<VerificationLine>,
    pub stats: VerifyStats,
    pub diagnostics: Vec<Diagnostic>,
    /// Promotion policies evaluated against the registries (executed by apply).
    pub promotions: crate::promote::Report,
}

impl Computed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
    /// Errors that stop apply from writing. A refused release (E0401) is an error but not
    /// one of these: its image's new state and all other images are written, then apply
    /// exits 1.
    pub fn blocks_write(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::blocks_write)
    }
    /// The next index: what apply writes.
    pub fn next(&self) -> &Index {
        &self.next
    }
    /// The next index, to change it (apply records the promotions it made).
    pub fn next_mut(&mut self) -> &mut Index {
        self.next_sha256 = std::sync::OnceLock::new();
        &mut self.next
    }
    /// Hex sha256 of the next index's canonical bytes (streamed, not held as text).
    pub fn next_sha256(&self) -> &str {
        self.next_sha256
            .get_or_init(|| crate::index::write::canonical_sha256(&self.next))
    }
    /// Would writing change the index file? Canonical bytes differ exactly when the indexes
    /// differ, so the next index is hashed only when it equals the recorded one (to tell
    /// whether the file was in canonical form).
    pub fn index_changed(&self) -> bool {
        match &self.prev_sha256 {
            None => true,
            Some(_) if !crate::index::same(&self.prev, &self.next) => true,
            Some(prev) => prev != self.next_sha256(),
        }
    }
    /// Record the sha256 of the bytes just written for the next index (apply: the file was
    /// hashed while it was streamed), so it is not serialized again.
    pub fn written(&self, sha256: &str) {
        let _ = self.next_sha256.set(sha256.to_string());
    }
    /// Unified diff of the index, image by image. A whole-file diff of a large index costs
    /// time quadratic in the changed lines; per-image diffs stay linear in the index size.
    pub fn diff(&self) -> String {
        self.diff_limited(usize::MAX)
    }

    /// [`Computed::diff`], stopping (and saying so) once `max` bytes are written: a plan
    /// that changes thousands of images is read as a summary, and the rest is not computed.
    pub fn diff_limited(&self, max: usize) -> String {
        if !self.index_changed() {
            return String::new();
        }
        let name = self
            .index_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let section = |label: &str, old: &str, new: &str| -> String {
            similar::TextDiff::from_lines(old, new)
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{name} {label}"), &format!("b/{name} {label}"))
                .to_string()
        };
        let json = |v: Option<&crate::model::ImageEntry>| {
            v.map(|e| {
                let mut s = serde_json::to_string_pretty(e).expect("entry serializes");
                s.push('\n');
                s
            })
            .unwrap_or_default()
        };
        let changed: Vec<&String> = {
            let codes: std::collections::BTreeSet<&String> = self
                .prev
                .images
                .keys()
                .chain(self.next.images.keys())
                .collect();
            codes
                .into_iter()
                .filter(|c| !same_entry(self.prev.images.get(*c), self.next.images.get(*c)))
                .collect()
        };
        let mut out = String::new();
        for (i, code) in changed.iter().enumerate() {
            if out.len() >= max {
                out.push_str(&format!(
                    "… {} more changed image(s) not shown; `berth plan --format json` has the full diff\n",
                    changed.len() - i
                ));
                return out;
            }
            let (a, b) = (
                self.prev.images.get(*code).map(|e| &**e),
                self.next.images.get(*code).map(|e| &**e),
            );
            out.push_str(&section(&format!("images.{code}"), &json(a), &json(b)));
        }
        let top = |i: &Index| {
            let mut v = serde_json::to_value(i).expect("index serializes");
            if let Some(m) = v.as_object_mut() {
                m.remove("images");
            }
            crate::index::canonical_string(&v)
        };
        let (a, b) = (top(&self.prev), top(&self.next));
        if a != b {
            out.push_str(&section("(top level)", &a, &b));
        }
        if out.is_empty() && self.prev_sha256.is_none() {
            out.push_str("(new file: an empty index)\n");
        } else if out.is_empty() {
            out.push_str("(formatting only: the file is rewritten in canonical form)\n");
        }
        out
    }
}

/// Are two optional index entries equal? Shared entries (the unchanged images) are equal
/// without comparing them field by field.
fn same_entry(
    a: Option<&std::sync::Arc<crate::model::ImageEntry>>,
    b: Option<&std::sync::Arc<crate::model::ImageEntry>>,
) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b) || a == b,
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// One verified (or skipped) reference in the report.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct VerificationLine {
    pub code: String,
    pub version: String,
    pub reference: String,
    /// `passed`, `failed`, `skipped`, or `unchanged` (a testing tag confirmed at its
    /// recorded digest by one HEAD).
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Read the recorded state: (index, its exact text) or an empty index, and whether the file
/// could be read and is valid (`false` after a diagnostic).
fn read_prev(path: &Path, root: &Path, diags: &mut Diagnostics) -> (Index, Option<String>, bool) {
    let file = crate::model::diag::rel(root, path);
    let hint = "the index is generated by `berth apply`; restore it from git instead of editing it";
    match crate::index::read(path) {
        Ok(Some((idx, text))) => (idx, Some(text), true),
        Ok(None) => (crate::index::empty(), None, true),
        Err(crate::index::IndexError::Invalid { problems, .. }) => {
            for p in problems {
                diags.push(
                    Diagnostic::error(
                        Code::IndexInvalid,
                        &file,
                        Pos::new(p.line as u32, p.column as u32),
                        format!("{}: {}", p.pointer, p.message),
                    )
                    .with_hint(hint),
                );
            }
            (crate::index::empty(), None, false)
        }
        Err(e) => {
            let (pos, msg) = match &e {
                crate::index::IndexError::Parse {
                    line,
                    column,
                    message,
                    ..
                } => (
                    Pos::new(*line as u32, *column as u32),
                    format!("the index is not valid: {message}"),
                ),
                other => (Pos::UNKNOWN, other.to_string()),
            };
            diags.push(Diagnostic::error(Code::IndexUnreadable, &file, pos, msg).with_hint(hint));
            (crate::index::empty(), None, false)
        }
    }
}

/// The recorded state a plan starts from, and what reading it found.
struct Recorded {
    index: Index,
    /// sha256 of the index file (`None`: none); the text itself is not kept.
    sha256: Option<String>,
    /// Whether the index could be read and is valid: checks against an index that could not
    /// be read would only report the consequences of reading none.
    readable: bool,
    diags: Diagnostics,
}

/// Read the recorded state: the index file (or, with `--base`, the index at that revision)
/// and the integrity checks of where it comes from.
fn recorded_state(opts: &Options, index_path: &Path) -> anyhow::Result<Recorded> {
    let root = &opts.catalogue;
    let mut diags = Diagnostics::new();
    match &opts.base_rev {
        Some(rev) => {
            let (index, text) = index_at_rev(root, index_path, rev)?;
            let working = std::fs::read(index_path).ok();
            let base = (!text.is_empty()).then_some(text.as_str());
            diags.extend(crate::pipeline::integrity::check_against_base(
                root,
                index_path,
                working.as_deref(),
                base,
                rev,
            ));
            Ok(Recorded {
                index,
                sha256: Some(crate::index::sha256_hex(text.as_bytes())),
                readable: true,
                diags,
            })
        }
        None => {
            let (index, text, readable) = read_prev(index_path, root, &mut diags);
            if readable {
                diags.extend(crate::pipeline::integrity::check_start(
                    root,
                    root,
                    index_path,
                    text.as_deref(),
                ));
            }
            Ok(Recorded {
                index,
                sha256: text.map(|t| crate::index::sha256_hex(t.as_bytes())),
                readable,
                diags,
            })
        }
    }
}

/// `commit.message` of berth.yaml: a template error is an error, the old `{summary}` form a
/// warning with the minijinja spelling as hint.
fn check_commit_template(cat: &Catalogue) -> Diagnostics {
    let mut d = Diagnostics::new();
    let Some(msg) = cat.config.commit.as_ref().and_then(|c| c.message.as_ref()) else {
        return d;
    };
    let file = cat
        .config_path
        .as_deref()
        .map(|p| crate::model::diag::rel(&cat.root, p))
        .unwrap_or_else(|| PathBuf::from("berth.yaml"));
    match crate::gitops::message::MessageTemplate::parse(&msg.value) {
        Err(e) => {
            // The value may be quoted in YAML: point at its start, plus the offset when the
            // template is on one line.
            let pos = match e.offset {
                Some(o) if !msg.value.contains('\n') => {
                    Pos::new(msg.pos.line, msg.pos.col + o as u32 + 1)
                }
                _ => msg.pos,
            };
            d.push(
                Diagnostic::error(Code::CommitTemplate, &file, pos, e.message).with_hint(format!(
                    "variables: {} (minijinja, e.g. \"berth: update index ({{{{ summary }}}})\")",
                    crate::gitops::message::VARIABLES.join(", ")
                )),
            );
        }
        Ok(t) if crate::gitops::message::is_legacy(&msg.value) && t.is_legacy() => d.push(
            Diagnostic::warning(
                Code::CommitTemplate,
                &file,
                msg.pos,
                "commit.message uses the old `{name}` placeholders (still read)",
            )
            .with_hint(format!(
                "write it as minijinja: \"{}\"",
                crate::gitops::message::modernised(&msg.value)
            )),
        ),
        Ok(_) => {}
    }
    d
}

/// Resolve the index path: `--index`, else berth.yaml `index`, else `index.json`.
pub fn index_path(cat: &Catalogue, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) => p.to_path_buf(),
        None => cat.index_path(),
    }
}

/// Compute a plan. `Err` only for internal problems (e.g. registry verification missing);
/// user errors are diagnostics in the result.
pub fn compute(opts: &Options) -> anyhow::Result<Computed> {
    let t = std::time::Instant::now();
    let lap = |what: &str| {
        tracing::debug!(
            elapsed_ms = t.elapsed().as_millis() as u64,
            cpu_ms = cpu_ms(),
            rss_mib = resident_mib(),
            "{what}"
        )
    };
    let (mut cat, mut diags) = crate::catalogue::load::load_config(&opts.catalogue);
    let index_path = index_path(&cat, opts.index.as_deref());
    // The listings and the recorded state are read side by side: neither needs the other.
    let (files, recorded) = rayon::join(
        || crate::catalogue::load::load_files(&opts.catalogue),
        || recorded_state(opts, &index_path),
    );
    let (listings, policies, file_diags) = files;
    cat.listings = listings;
    cat.policies = policies;
    diags.extend(file_diags);
    let Recorded {
        index: prev,
        sha256: prev_sha256,
        readable: index_ok,
        diags: index_diags,
    } = recorded?;
    diags.extend(index_diags);
    lap("catalogue and index read");
    // The catalogue's own commit, never berth's index commit on top of it.
    let commit = match crate::gitops::history::source_commit(&opts.catalogue) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("no catalogue commit: {e}");
            None
        }
    };
    let ctx = Context {
        now: crate::model::time::now_string(),
        commit,
        check_drift: opts.check_drift && !opts.offline,
    };
    // The static checks and the first engine run read the same inputs and not each other's
    // results: side by side.
    let (checks, first) = rayon::join(
        || {
            let mut d = check_commit_template(&cat);
            d.extend(crate::catalogue::validate::check(
                &cat,
                index_ok.then_some(&prev),
            ));
            d
        },
        || reconcile(&cat, &prev, &BTreeMap::new(), &ctx),
    );
    diags.extend(checks);
    lap("checked and planned");
    let (outcomes, stats) = if diags.has_blocking_errors() || first.diags.has_blocking_errors() {
        // Do not spend registry requests on a catalogue that cannot be applied.
        (BTreeMap::new(), VerifyStats::default())
    } else {
        crate::verify::verify_all(
            &first.requests,
            opts.offline,
            opts.level,
            &cat.config,
            &cat.root,
            &*opts.progress,
        )?
    };
    lap("verified");
    // Without registry answers the second run would repeat the first exactly.
    let second = if outcomes.values().all(|o| *o == VerifyOutcome::Skipped) {
        first
    } else {
        reconcile(&cat, &prev, &outcomes, &ctx)
    };
    lap("re-planned");
    let verifications = second
        .requests
        .iter()
        .map(|r| {
            let o = outcomes
                .get(&r.reference)
                .cloned()
                .unwrap_or(VerifyOutcome::Skipped);
            let (result, digest, reason) = match o {
                VerifyOutcome::Skipped => ("skipped", None, None),
                VerifyOutcome::Passed(f) => ("passed", Some(f.digest), None),
                VerifyOutcome::Failed(why) => ("failed", None, Some(why)),
                VerifyOutcome::Unchanged(d) => ("unchanged", Some(d), None),
            };
            VerificationLine {
                code: r.code.clone(),
                version: r.version.clone(),
                reference: r.reference.clone(),
                result,
                digest,
                reason,
            }
        })
        .collect();
    // The engine's findings on a file that already failed the static checks only repeat them
    // in other words (an unparsable release.version is also "not the computed version").
    let broken: std::collections::BTreeSet<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.file.clone())
        .collect();
    for d in second.diags.into_sorted() {
        if index_ok && !broken.contains(&d.file) {
            diags.push(d);
        }
    }
    let promotions = if diags.has_blocking_errors() {
        crate::promote::Report::skipped("catalogue has errors: promotion policies not evaluated")
    } else {
        crate::promote::plan_promotions(&cat, &prev, opts.offline, &opts.progress)
    };
    Ok(Computed {
        catalogue: cat,
        index_path,
        prev_sha256,
        prev,
        next: second.index,
        next_sha256: std::sync::OnceLock::new(),
        changes: second.changes,
        verifications,
        stats,
        diagnostics: diags.into_sorted(),
        promotions,
    })
}

/// CPU time (user + system, all threads) of this process so far in ms (Linux; 0 elsewhere),
/// for the per-stage debug log: on a shared machine wall time alone says little.
fn cpu_ms() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces): utime is the 12th, stime
            // the 13th; clock ticks are 100 per second on Linux.
            let rest = s.rsplit_once(')')?.1;
            let mut f = rest.split_whitespace().skip(11);
            let user: u64 = f.next()?.parse().ok()?;
            let system: u64 = f.next()?.parse().ok()?;
            Some((user + system) * 10)
        })
        .unwrap_or(0)
}

/// Resident memory of this process in MiB (Linux; 0 elsewhere), for the per-stage debug log.
fn resident_mib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096 / (1024 * 1024))
}

/// The recorded state at a git revision: the index file as committed at `rev` (an empty
/// index when it did not exist yet there).
pub fn index_at_rev(catalogue: &Path, path: &Path, rev: &str) -> anyhow::Result<(Index, String)> {
    // read_file_at wants the path relative to the catalogue directory.
    let rel = path
        .strip_prefix(catalogue)
        .map(Path::to_path_buf)
        .unwrap_or(path.to_path_buf());
    match crate::gitops::read_file_at(catalogue, rev, &rel)? {
        Some(bytes) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{} at {rev} is not UTF-8", rel.display()))?;
            let idx = crate::index::parse(&text, &format!("{}@{rev}", rel.display()))?;
            Ok((idx, text))
        }
        None => Ok((crate::index::empty(), String::new())),
    }
}
