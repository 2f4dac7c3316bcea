//! Stage: apply — compute the plan, write the index atomically, commit and push it.
//!
//! Input: catalogue and options. Output: the new `index.json` (or `--out`), optionally one
//! commit containing only that file, pushed without force; the plan report on stdout.
//! Invariants: nothing is written or committed when the catalogue has errors; the write is
//! atomic and skipped when the bytes are unchanged (a no-op run is byte-identical and makes
//! no commit); a rejected push fetches, regenerates on the new base and retries (bounded).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{ApplyArgs, EXIT_FINDINGS, EXIT_OK};
use crate::git::{Author, PushAuth, PushRequest, Regenerated};
use crate::plan::{Computed, Options, compute, render};

/// Environment variables holding the push token, first non-empty wins.
pub const TOKEN_VARS: &[&str] = &["BERTH_GIT_TOKEN", "GITHUB_TOKEN"];

/// `berth apply`.
pub fn run(args: &ApplyArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    if args.offline && !args.skip_verify {
        anyhow::bail!(
            "--offline needs --skip-verify: apply records verification, and offline it can only record it as skipped"
        );
    }
    let opts = Options {
        catalogue: args.cat.catalogue.clone(),
        index: args.index.index.clone(),
        offline: args.offline || args.skip_verify,
        level: args.verify,
        check_drift: args.check_drift,
        base_rev: None,
    };
    let mut c = compute(&opts)?;
    if !c.has_errors() {
        crate::promote::execute_planned(&mut c);
    }
    out.write_all(render(&c, args.format, opts.offline).as_bytes())?;
    if c.has_errors() {
        writeln!(out, "Nothing written: fix the errors above first.")?;
        return Ok(EXIT_FINDINGS);
    }
    let target = args.out.clone().unwrap_or_else(|| c.index_path.clone());
    let wrote = crate::index::write_atomic(&target, &c.next_text)?;
    if wrote {
        writeln!(out, "Wrote {}.", target.display())?;
    } else {
        writeln!(out, "{} unchanged.", target.display())?;
    }
    // Promotion problems are reported (exit 1) but never hold back the index or its commit.
    let status = if c.promotions.has_problems() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    };
    if !(args.commit || args.push) {
        return Ok(status);
    }
    let author = author(&c);
    let message = commit_message(&c);
    let rel = vec![relative_to(&opts.catalogue, &c.index_path)];
    match crate::git::commit_paths(&opts.catalogue, &rel, &message, &author)? {
        Some(id) => writeln!(
            out,
            "Committed {}: {}",
            &id[..12.min(id.len())],
            first_line(&message)
        )?,
        None => writeln!(out, "Nothing to commit.")?,
    }
    if !args.push {
        return Ok(status);
    }
    let branch = match &args.branch {
        Some(b) => b.clone(),
        None => crate::git::current_branch(&opts.catalogue)?.ok_or_else(|| {
            anyhow::anyhow!("HEAD is detached; pass --branch to say where to push")
        })?,
    };
    let auth = PushAuth::from_env(TOKEN_VARS);
    let req = PushRequest {
        remote: &args.remote,
        branch: &branch,
        auth: &auth,
        max_attempts: args.max_push_attempts,
        author: &author,
        generated: &rel,
    };
    // On a rejected push the branch is reset to the new remote tip; recompute from there.
    let regenerate = |_: &Path| -> anyhow::Result<Regenerated> {
        let mut again = compute(&opts)?;
        if !again.has_errors() {
            // Copies already made are found at the target and only recorded.
            crate::promote::execute_planned(&mut again);
        }
        if again.has_errors() {
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
    let outcome = crate::git::push_with_retry(&opts.catalogue, &req, regenerate)?;
    if outcome.pushed {
        writeln!(
            out,
            "Pushed {} to {}/{} (attempt {}).",
            &outcome.commit[..12.min(outcome.commit.len())],
            args.remote,
            branch,
            outcome.attempts
        )?;
    } else {
        writeln!(out, "Nothing to push: the remote already has this state.")?;
    }
    Ok(status)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
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
        .unwrap_or_else(|| crate::git::DEFAULT_MESSAGE_TEMPLATE.to_string());
    let mut msg = crate::git::render_message(&template, &vars);
    if !c.changes.is_empty() {
        msg.push_str("\n\n");
        for ch in &c.changes {
            msg.push_str(&format!("- {ch}\n"));
        }
    }
    msg
}
