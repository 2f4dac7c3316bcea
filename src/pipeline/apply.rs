//! Stage: apply — compute the plan, write the index atomically, commit and push it.
//!
//! Input: catalogue and options. Output: the new `index.json` (or `--out`), optionally one
//! commit containing only that file, pushed without force; the plan report on stdout.
//! Invariants: nothing is written or committed when the catalogue has errors — including an
//! index berth did not write (see [`crate::pipeline::integrity`]); one apply at a time per
//! working copy (a lock, waited for a bounded time); the write is atomic and skipped when the
//! bytes are unchanged (a no-op run is byte-identical and makes no commit); every commit
//! carries the `Berth-Index-Sha256` trailer of the index it commits and a message describing
//! everything it changes against its parent; a rejected push fetches, regenerates on the new
//! base and retries (bounded).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::gitops::{Author, PushAuth, PushRequest, Regenerated};
use crate::pipeline::plan::{Computed, Options, compute};

/// Environment variables holding the push token, first non-empty wins.
pub const TOKEN_VARS: &[&str] = &["BERTH_GIT_TOKEN", "GITHUB_TOKEN"];

/// What `berth apply` was asked to do.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Catalogue, index and verification options (as for plan).
    pub plan: Options,
    /// Write the new index here instead of over the index it read.
    pub out: Option<PathBuf>,
    /// Commit the index.
    pub commit: bool,
    /// Push the commit (implies commit).
    pub push: bool,
    pub remote: String,
    /// Branch to push (default: the current branch).
    pub branch: Option<String>,
    pub max_push_attempts: u32,
    /// How long to wait for another apply on this working copy to finish.
    pub lock_timeout: Duration,
}

/// The steps of an apply, handed to the caller as they happen so that a report is shown even
/// when a later step fails.
#[derive(Debug)]
pub enum Step<'a> {
    /// The plan was computed (and its promotions executed). With errors nothing follows.
    Planned(&'a Computed),
    /// The index was written (`changed`) or already held these bytes.
    Wrote { path: &'a Path, changed: bool },
    /// A commit was made (`Some(id)`) or there was nothing to commit.
    Committed {
        id: Option<&'a str>,
        message: &'a str,
    },
    /// The push ended: `Some` when a commit was pushed, `None` when the remote had this state.
    Pushed {
        outcome: &'a crate::gitops::PushOutcome,
        remote: &'a str,
        branch: &'a str,
    },
}

/// How an apply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The catalogue has errors: nothing was written.
    Refused,
    /// Written (and committed/pushed as asked); `promotion_problems` when a promotion failed,
    /// `refused` when a release was refused (E0401); neither holds back the index or its
    /// commit.
    Done {
        promotion_problems: bool,
        refused: bool,
    },
}

/// `berth apply`: compute, execute promotions, write the index atomically, commit and push.
pub fn apply(
    opts: &ApplyOptions,
    step: &mut dyn FnMut(Step<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<Applied> {
    let popts = &opts.plan;
    // `--out` is a dry run that leaves the working copy alone: it needs no lock.
    let _lock = match opts.out {
        Some(_) => None,
        None => Some(crate::pipeline::integrity::lock(
            &popts.catalogue,
            opts.lock_timeout,
            "berth apply",
        )?),
    };
    let mut c = compute(popts)?;
    if !c.blocks_write() {
        execute_promotions(&mut c, &popts.progress);
    }
    step(Step::Planned(&c))?;
    if c.blocks_write() {
        return Ok(Applied::Refused);
    }
    let target = opts.out.clone().unwrap_or_else(|| c.index_path.clone());
    if opts.out.is_none() {
        crate::pipeline::integrity::remove_leftovers(&c.index_path)?;
    }
    let wrote = crate::index::write::write_atomic(&target, c.next())?;
    c.written(&wrote.sha256);
    if opts.out.is_none() {
        crate::pipeline::integrity::record_written(&popts.catalogue, &target, &wrote.sha256)?;
    }
    step(Step::Wrote {
        path: &target,
        changed: wrote.changed,
    })?;
    let done = Applied::Done {
        promotion_problems: c.promotions.has_problems(),
        // Only refused releases are left among the errors here.
        refused: c.has_errors(),
    };
    if !(opts.commit || opts.push) {
        return Ok(done);
    }
    let author = author(&c);
    let rel = vec![relative_to(&popts.catalogue, &c.index_path)];
    let message = commit_message(&c, parent_index(&popts.catalogue, &rel[0]).as_ref())?;
    let id = crate::gitops::commit_paths(&popts.catalogue, &rel, &message, &author)?;
    step(Step::Committed {
        id: id.as_deref(),
        message: &message,
    })?;
    if !opts.push {
        return Ok(done);
    }
    let branch = match &opts.branch {
        Some(b) => b.clone(),
        None => crate::gitops::current_branch(&popts.catalogue)?.ok_or_else(|| {
            anyhow::anyhow!("HEAD is detached; pass --branch to say where to push")
        })?,
    };
    let auth = PushAuth::from_env(TOKEN_VARS);
    let req = PushRequest {
        remote: &opts.remote,
        branch: &branch,
        auth: &auth,
        max_attempts: opts.max_push_attempts,
        author: &author,
        generated: &rel,
    };
    // On a rejected push the branch is reset to the new remote tip; recompute from there.
    let regenerate = |_: &Path| -> anyhow::Result<Regenerated> {
        let mut again = compute(popts)?;
        if !again.blocks_write() {
            // Copies already made are found at the target and only recorded.
            execute_promotions(&mut again, &popts.progress);
        }
        if again.blocks_write() {
            anyhow::bail!(
                "the catalogue on the new base has {} error(s); run `berth plan` on it",
                again.diagnostics.iter().filter(|d| d.is_error()).count()
            );
        }
        let wrote = crate::index::write::write_atomic(&again.index_path, again.next())?;
        again.written(&wrote.sha256);
        crate::pipeline::integrity::record_written(
            &popts.catalogue,
            &again.index_path,
            &wrote.sha256,
        )?;
        // The commit goes on top of the fetched tip: describe it against that tip's index.
        let parent = parent_index(&popts.catalogue, &rel[0]);
        Ok(Regenerated {
            paths: rel.clone(),
            message: commit_message(&again, parent.as_ref())?,
        })
    };
    let outcome = crate::gitops::push_with_retry(&popts.catalogue, &req, regenerate)?;
    step(Step::Pushed {
        outcome: &outcome,
        remote: &opts.remote,
        branch: &branch,
    })?;
    Ok(done)
}

/// Run the plan's pending promotions and record what was done in the next index.
fn execute_promotions(c: &mut Computed, progress: &crate::model::progress::Handle) {
    if c.promotions.pending.is_empty() {
        return;
    }
    crate::promote::execute_planned(&c.catalogue, &mut c.promotions, progress);
    let done = c.promotions.done.clone();
    c.next_mut().promotions.extend(done);
}

fn relative_to(root: &Path, p: &Path) -> PathBuf {
    p.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| p.to_path_buf())
}

/// Commit author: berth.yaml `commit`, else the GitHub Actions bot on Actions, else `berth`.
fn author(c: &Computed) -> Author {
    let cfg = c.catalogue.config.commit.clone().unwrap_or_default();
    let fallback = if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
        Author::github_actions_bot()
    } else {
        Author::new("berth", "berth@localhost")
    };
    Author::new(
        cfg.author_name.unwrap_or(fallback.name),
        cfg.author_email.unwrap_or(fallback.email),
    )
}

/// The index committed at `HEAD` (`None` outside git, on an unborn branch, when the file is
/// not committed or cannot be read): the parent of the commit about to be made.
fn parent_index(catalogue: &Path, index: &Path) -> Option<(crate::model::Index, String)> {
    let bytes = crate::gitops::read_file_at(catalogue, "HEAD", index).ok()??;
    let text = String::from_utf8(bytes).ok()?;
    let idx = crate::index::parse(&text, "HEAD:index").ok()?;
    Some((idx, text))
}

/// What a commit from `old` to `new` changes, one short item per changed version (`code@v`
/// for a new one, `code@v → status` for a status change, `code@v updated` otherwise), per
/// image changed outside its versions, and for new promotions.
fn describe(old: &crate::model::Index, new: &crate::model::Index) -> Described {
    let mut d = Described::default();
    for (code, img) in &new.images {
        let before = old.images.get(code);
        let mut touched = false;
        for v in &img.versions {
            let was = before.and_then(|b| b.versions.iter().find(|o| o.version == v.version));
            let item = match was {
                None => {
                    d.versions.push(format!("{code}@{}", v.version));
                    format!("{code}@{}", v.version)
                }
                Some(o) if o == v => continue,
                Some(o) if o.status != v.status => format!("{code}@{} {}", v.version, v.status),
                Some(_) => format!("{code}@{} updated", v.version),
            };
            d.lines.push(match was {
                None => format!(
                    "{code}@{}: new version {} ({}) {} → {}",
                    v.version,
                    v.version,
                    v.release_type.as_str(),
                    v.reference,
                    v.status
                ),
                Some(o) => describe_version_change(code, o, v),
            });
            d.items.push(item);
            touched = true;
        }
        if let Some(b) = before {
            for o in &b.versions {
                if !img.versions.iter().any(|v| v.version == o.version) {
                    d.items.push(format!("{code}@{} removed", o.version));
                    d.lines
                        .push(format!("{code}@{}: removed from the index", o.version));
                    touched = true;
                }
            }
        }
        if touched {
            d.images += 1;
        } else if before != Some(img) {
            let what = if before.is_none() {
                "new image"
            } else {
                "image details"
            };
            d.items.push(format!("{code} ({what})"));
            d.lines.push(format!("{code}: {what} updated"));
            d.images += 1;
        }
    }
    for code in old.images.keys().filter(|c| !new.images.contains_key(*c)) {
        d.items.push(format!("{code} removed"));
        d.lines.push(format!("{code}: removed from the index"));
        d.images += 1;
    }
    let new_promotions: Vec<_> = new
        .promotions
        .iter()
        .filter(|p| !old.promotions.contains(p))
        .collect();
    if !new_promotions.is_empty() {
        d.items
            .push(format!("{} promotion(s)", new_promotions.len()));
    }
    for p in new_promotions {
        let by = match &p.policy {
            Some(policy) => format!("policy {policy}"),
            None => "manual".to_string(),
        };
        d.promotions
            .push(format!("promoted {} → {} ({by})", p.source, p.target));
    }
    d
}

fn describe_version_change(
    code: &str,
    o: &crate::model::VersionEntry,
    v: &crate::model::VersionEntry,
) -> String {
    let mut parts = Vec::new();
    if o.status != v.status {
        parts.push(format!("{} → {}", o.status, v.status));
    }
    if o.reference != v.reference {
        parts.push(format!("retagged {} → {}", o.reference, v.reference));
    }
    if o.digest != v.digest {
        parts.push(format!(
            "digest {} → {}",
            o.digest.as_deref().unwrap_or("none"),
            v.digest.as_deref().unwrap_or("none")
        ));
    }
    if o.qa != v.qa {
        parts.push("QA mark changed".to_string());
    }
    if parts.is_empty() {
        parts.push("details updated".to_string());
    }
    format!("{code}@{}: {}", v.version, parts.join(", "))
}

#[derive(Default)]
struct Described {
    /// Short items for the summary.
    items: Vec<String>,
    /// New versions, `code@v`.
    versions: Vec<String>,
    /// Body lines when the engine's own change list does not apply.
    lines: Vec<String>,
    promotions: Vec<String>,
    images: usize,
}

/// How many summary items the subject names before "and N more".
const SUMMARY_ITEMS: usize = 8;

/// Commit message from berth.yaml `commit.message` (or the default template) with
/// `summary`, `changed`, `versions`, `source` filled in, the changes as body, and berth's
/// trailer with the sha256 of the index committed. Everything is described against
/// `parent`, the index the commit replaces (the engine's change lines when it started from
/// exactly that index).
pub fn commit_message(
    c: &Computed,
    parent: Option<&(crate::model::Index, String)>,
) -> anyhow::Result<String> {
    let empty = crate::index::empty();
    let old = parent.map(|p| &p.0).unwrap_or(&empty);
    let d = describe(old, c.next());
    let summary = if d.items.is_empty() {
        "no changes".to_string()
    } else if d.items.len() > SUMMARY_ITEMS {
        format!(
            "{} and {} more",
            d.items[..SUMMARY_ITEMS].join(", "),
            d.items.len() - SUMMARY_ITEMS
        )
    } else {
        d.items.join(", ")
    };
    let mut vars = BTreeMap::new();
    vars.insert("summary", summary);
    vars.insert("changed", d.images.to_string());
    vars.insert("versions", d.versions.join(", "));
    vars.insert("source", c.next().source_commit.clone().unwrap_or_default());
    let template = c
        .catalogue
        .config
        .commit
        .as_ref()
        .and_then(|m| m.message.as_ref())
        .map(|m| m.value.clone())
        .unwrap_or_else(|| crate::gitops::DEFAULT_MESSAGE_TEMPLATE.to_string());
    let template = crate::gitops::message::MessageTemplate::parse(&template)?;
    let mut msg = template.render(&vars)?.trim_end().to_string();
    // The engine's lines are richer, but they describe the change from the index the run
    // started from; use them only when that is the parent's.
    let engine = parent.map(|p| crate::index::sha256_hex(p.1.as_bytes())) == c.prev_sha256
        || (parent.is_none() && c.prev_sha256.is_none());
    let mut body: Vec<String> = if engine {
        c.changes.iter().map(|ch| ch.to_string()).collect()
    } else {
        d.lines.clone()
    };
    body.extend(d.promotions.iter().cloned());
    if !body.is_empty() {
        msg.push_str("\n\n");
        for line in &body {
            msg.push_str(&format!("- {line}\n"));
        }
        msg.pop();
    }
    msg.push_str("\n\n");
    msg.push_str(&crate::gitops::history::trailer_line(c.next_sha256()));
    msg.push('\n');
    Ok(msg)
}
