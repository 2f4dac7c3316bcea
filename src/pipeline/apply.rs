//! Stage: apply — compute the plan, write the index atomically, commit and push it.
//!
//! Input: catalogue and options. Output: the new `index.json` (or `--out`), optionally one
//! commit containing only that file, pushed without force; the plan report on stdout.
//! Invariants: nothing is written or committed when the catalogue has errors; the write is
//! atomic and skipped when the bytes are unchanged (a no-op run is byte-identical and makes
//! no commit); a rejected push fetches, regenerates on the new base and retries (bounded).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    let mut c = compute(popts)?;
    if !c.blocks_write() {
        execute_promotions(&mut c);
    }
    step(Step::Planned(&c))?;
    if c.blocks_write() {
        return Ok(Applied::Refused);
    }
    let target = opts.out.clone().unwrap_or_else(|| c.index_path.clone());
    let wrote = crate::index::write_atomic(&target, &c.next_text)?;
    step(Step::Wrote {
        path: &target,
        changed: wrote,
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
    let message = commit_message(&c);
    let rel = vec![relative_to(&popts.catalogue, &c.index_path)];
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
            execute_promotions(&mut again);
        }
        if again.blocks_write() {
            anyhow::bail!(
                "the catalogue on the new base has {} error(s); run `berth plan` on it",
                again.diagnostics.iter().filter(|d| d.is_error()).count()
            );
        }
        crate::index::write_atomic(&again.index_path, &again.next_text)?;
        Ok(Regenerated {
            paths: rel.clone(),
            message: commit_message(&again),
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
fn execute_promotions(c: &mut Computed) {
    if c.promotions.pending.is_empty() {
        return;
    }
    crate::promote::execute_planned(&c.catalogue, &mut c.promotions);
    c.next.promotions.extend(c.promotions.done.iter().cloned());
    c.next_text = crate::index::to_canonical_json(&c.next);
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

/// Commit message from berth.yaml `commit.message` (or the default template) with
/// `{summary}`, `{changed}`, `{versions}`, `{source}` filled in, and the change list as body.
pub fn commit_message(c: &Computed) -> String {
    let images: std::collections::BTreeSet<&str> =
        c.changes.iter().map(|ch| ch.code.as_str()).collect();
    let versions: Vec<String> = c
        .changes
        .iter()
        .filter(|ch| {
            matches!(
                ch.kind,
                crate::lifecycle::ChangeKind::NewVersion | crate::lifecycle::ChangeKind::Renumber
            )
        })
        .filter_map(|ch| ch.version.as_ref().map(|v| format!("{}@{v}", ch.code)))
        .collect();
    let summary = if c.changes.is_empty() {
        "no changes".to_string()
    } else if versions.is_empty() {
        format!("{} change(s) in {} image(s)", c.changes.len(), images.len())
    } else {
        versions.join(", ")
    };
    let mut vars = BTreeMap::new();
    vars.insert("summary", summary);
    vars.insert("changed", images.len().to_string());
    vars.insert("versions", versions.join(", "));
    vars.insert("source", c.next.source_commit.clone().unwrap_or_default());
    let template = c
        .catalogue
        .config
        .commit
        .as_ref()
        .and_then(|m| m.message.clone())
        .unwrap_or_else(|| crate::gitops::DEFAULT_MESSAGE_TEMPLATE.to_string());
    let mut msg = crate::gitops::render_message(&template, &vars);
    if !c.changes.is_empty() {
        msg.push_str("\n\n");
        for ch in &c.changes {
            msg.push_str(&format!("- {ch}\n"));
        }
    }
    msg
}
