//! Pushing without force, with bounded retries: on a rejection caused by the remote branch
//! moving, fetch, reset onto the new tip (only when the local-only commits touch nothing but
//! generated files), let the caller regenerate, commit and push again. Credentials go only to
//! https remotes (a plain-http remote that asks fails the push with the token withheld).

use super::commit::commit_in;
use super::*;

/// Why a single push did not go through.
enum PushFailure {
    /// The remote refused the update (non-fast-forward, lock failure, hook).
    Rejected(String),
    Other(GitError),
}

fn callbacks<'a>(auth: &'a PushAuth, calls: &'a std::cell::Cell<u32>) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    cb.credentials(move |url, user_from_url, allowed| {
        // libgit2 calls again after every refusal; stop instead of looping forever.
        calls.set(calls.get() + 1);
        if calls.get() > 3 {
            return Err(git2::Error::from_str(&format!(
                "authentication to {} failed: credentials rejected",
                scrub(url, &auth.secrets())
            )));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
            && let Some(token) = &auth.token
        {
            // Secrets travel only over TLS: a plain-http remote never gets the token.
            if is_plain_http(url) {
                return Err(git2::Error::from_str(&format!(
                    "{} asks for credentials, but it is plain http: the git token was withheld (use an https or ssh remote)",
                    scrub(url, &auth.secrets())
                )));
            }
            return Cred::userpass_plaintext(&auth.token_username, token);
        }
        let user = user_from_url.unwrap_or("git");
        if allowed.contains(CredentialType::SSH_KEY) {
            return match &auth.ssh_key {
                Some(key) => Cred::ssh_key(user, None, key, auth.ssh_passphrase.as_deref()),
                None => Cred::ssh_key_from_agent(user),
            };
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(user);
        }
        if allowed.contains(CredentialType::DEFAULT) {
            return Cred::default();
        }
        Err(git2::Error::from_str(&format!(
            "no credentials available for {} (give a token for https or an ssh key/agent for ssh)",
            scrub(url, &auth.secrets())
        )))
    });
    cb
}

/// `http://…` (any case): a transport without TLS.
fn is_plain_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

fn find_remote<'r>(repo: &'r Repository, remote: &str) -> Result<git2::Remote<'r>> {
    match repo.find_remote(remote) {
        Ok(r) => Ok(r),
        Err(_) => repo
            .remote_anonymous(remote)
            .map_err(|e| git_err("find remote", e)),
    }
}

fn is_named_remote(repo: &Repository, remote: &str) -> bool {
    repo.find_remote(remote).is_ok()
}

/// Push the current branch to `remote`'s `branch` once, without `+` (never forced).
fn push_once(
    ctx: &Ctx,
    remote: &str,
    branch: &str,
    auth: &PushAuth,
) -> std::result::Result<(), PushFailure> {
    let secrets = auth.secrets();
    let head = ctx
        .repo
        .find_reference("HEAD")
        .map_err(|e| PushFailure::Other(git_err("head", e)))?;
    let local = head
        .symbolic_target()
        .ok()
        .flatten()
        .ok_or(PushFailure::Other(GitError::DetachedHead))?
        .to_string();
    let refspec = format!("{local}:refs/heads/{branch}");
    let mut rem = find_remote(&ctx.repo, remote).map_err(PushFailure::Other)?;
    let calls = std::cell::Cell::new(0);
    let rejected: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
    let result = {
        let mut cb = callbacks(auth, &calls);
        cb.push_update_reference(|refname, status| {
            if let Some(msg) = status {
                *rejected.borrow_mut() = Some(format!("{refname}: {msg}"));
            }
            Ok(())
        });
        let mut opts = PushOptions::new();
        opts.remote_callbacks(cb);
        let mut proxy = git2::ProxyOptions::new();
        proxy.auto();
        opts.proxy_options(proxy);
        rem.push(&[refspec.as_str()], Some(&mut opts))
    };
    match result {
        Err(e) if e.code() == ErrorCode::NotFastForward => {
            Err(PushFailure::Rejected(scrub(e.message(), &secrets)))
        }
        Err(e) => Err(PushFailure::Other(git_err_s("push", e, &secrets))),
        Ok(()) => match rejected.into_inner() {
            Some(msg) => Err(PushFailure::Rejected(scrub(&msg, &secrets))),
            None => Ok(()),
        },
    }
}

/// Fetch `branch` from `remote`; returns the remote tip.
fn fetch_tip(ctx: &Ctx, remote: &str, branch: &str, auth: &PushAuth) -> Result<Oid> {
    let secrets = auth.secrets();
    // A named remote updates its usual tracking ref; a bare URL gets a private ref.
    let tracking = if is_named_remote(&ctx.repo, remote) {
        format!("refs/remotes/{remote}/{branch}")
    } else {
        format!("refs/berth/fetched/{branch}")
    };
    let refspec = format!("+refs/heads/{branch}:{tracking}");
    let mut rem = find_remote(&ctx.repo, remote)?;
    let calls = std::cell::Cell::new(0);
    let mut opts = FetchOptions::new();
    opts.remote_callbacks(callbacks(auth, &calls));
    let mut proxy = git2::ProxyOptions::new();
    proxy.auto();
    opts.proxy_options(proxy);
    rem.fetch(&[refspec.as_str()], Some(&mut opts), None)
        .map_err(|e| git_err_s("fetch", e, &secrets))?;
    match ctx.repo.refname_to_id(&tracking) {
        Ok(oid) => Ok(oid),
        Err(_) => Err(GitError::RemoteBranchMissing {
            remote: scrub(remote, &secrets),
            branch: branch.to_string(),
        }),
    }
}

/// Is `ancestor` reachable from `descendant` (or equal)?
fn is_ancestor(repo: &Repository, ancestor: Oid, descendant: Oid) -> Result<bool> {
    if ancestor == descendant {
        return Ok(true);
    }
    repo.graph_descendant_of(descendant, ancestor)
        .map_err(|e| git_err("walk history", e))
}

/// Commits reachable from `head` but not from `tip` (the local-only ones).
fn local_only(repo: &Repository, head: Oid, tip: Oid) -> Result<Vec<Oid>> {
    let walk = || -> std::result::Result<Vec<Oid>, git2::Error> {
        let mut walk = repo.revwalk()?;
        walk.push(head)?;
        walk.hide(tip)?;
        walk.collect()
    };
    walk().map_err(|e| git_err("walk history", e))
}

/// Before discarding local state: every local-only commit and every uncommitted change must
/// touch only generated files, or the reset would lose someone's work.
fn check_resettable(ctx: &Ctx, head: Oid, new_tip: Oid, allowed: &BTreeSet<PathBuf>) -> Result<()> {
    let repo = &ctx.repo;
    for oid in local_only(repo, head, new_tip)? {
        let commit = repo.find_commit(oid).map_err(|e| git_err("revwalk", e))?;
        let short = oid.to_string()[..12].to_string();
        if commit.parent_count() > 1 {
            return Err(GitError::UnpushedWork {
                commit: short,
                path: "(merge commit)".into(),
            });
        }
        let tree = commit.tree().map_err(|e| git_err("diff", e))?;
        let parent_tree = match commit.parent(0) {
            Ok(p) => Some(p.tree().map_err(|e| git_err("diff", e))?),
            Err(_) => None,
        };
        let diff = repo
            .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None)
            .map_err(|e| git_err("diff", e))?;
        for d in diff.deltas() {
            for f in [d.old_file().path(), d.new_file().path()]
                .into_iter()
                .flatten()
            {
                if !allowed.contains(f) {
                    return Err(GitError::UnpushedWork {
                        commit: short,
                        path: f.display().to_string(),
                    });
                }
            }
        }
    }
    let mut so = StatusOptions::new();
    so.include_untracked(false).include_ignored(false);
    let statuses = repo
        .statuses(Some(&mut so))
        .map_err(|e| git_err("status", e))?;
    let dirty: Vec<String> = statuses
        .iter()
        .filter_map(|s| s.path().ok().map(str::to_string))
        .filter(|p| !allowed.contains(Path::new(p)))
        .collect();
    if !dirty.is_empty() {
        return Err(GitError::DirtyWorktree(dirty.join(", ")));
    }
    Ok(())
}

/// Push the current branch to `req.remote`/`req.branch`, never forcing. When the push is
/// rejected because the remote branch moved: fetch, check the local-only commits touch only
/// generated files, hard-reset onto the new remote tip, call `regenerate(catalogue_dir)` to
/// rewrite the generated files from the new base, commit them (nothing to commit → done,
/// `pushed: false`), and push again — at most `req.max_attempts` pushes.
///
/// A rejection while the remote tip is already contained in ours (a hook or branch
/// protection said no) is not retried.
pub fn push_with_retry<F, E>(
    catalogue: &Path,
    req: &PushRequest<'_>,
    mut regenerate: F,
) -> Result<PushOutcome>
where
    F: FnMut(&Path) -> std::result::Result<Regenerated, E>,
    E: fmt::Display,
{
    let ctx = open_required(catalogue)?;
    let secrets = req.auth.secrets();
    let remote_shown = scrub(req.remote, &secrets);
    let max = req.max_attempts.max(1);
    let mut allowed = BTreeSet::new();
    for p in req.generated {
        allowed.insert(ctx.repo_rel(p)?);
    }
    let mut attempt = 1;
    loop {
        let head = ctx
            .head_oid()?
            .ok_or(GitError::RevNotFound("HEAD".into()))?;
        tracing::info!(remote = %remote_shown, branch = req.branch, attempt, commit = %head, "pushing");
        let reason = match push_once(&ctx, req.remote, req.branch, req.auth) {
            Ok(()) => {
                return Ok(PushOutcome {
                    attempts: attempt,
                    commit: head.to_string(),
                    pushed: true,
                });
            }
            Err(PushFailure::Other(e)) => return Err(e),
            Err(PushFailure::Rejected(reason)) => reason,
        };
        tracing::warn!(remote = %remote_shown, branch = req.branch, attempt, %reason, "push rejected");
        let tip = fetch_tip(&ctx, req.remote, req.branch, req.auth)?;
        let moved = tip != head && !is_ancestor(&ctx.repo, tip, head)?;
        if !moved {
            return Err(GitError::PushRejected {
                remote: remote_shown,
                branch: req.branch.to_string(),
                reason,
            });
        }
        if attempt >= max {
            return Err(GitError::RetriesExhausted {
                remote: remote_shown,
                branch: req.branch.to_string(),
                attempts: attempt,
                last: reason,
            });
        }
        check_resettable(&ctx, head, tip, &allowed)?;
        let tip_obj = ctx
            .repo
            .find_object(tip, None)
            .map_err(|e| git_err("reset", e))?;
        ctx.repo
            .reset(&tip_obj, ResetType::Hard, None)
            .map_err(|e| git_err("reset", e))?;
        let regen = regenerate(&ctx.catalogue)
            .map_err(|e| GitError::Regenerate(scrub(&e.to_string(), &secrets)))?;
        for p in &regen.paths {
            allowed.insert(ctx.repo_rel(p)?);
        }
        match commit_in(&ctx, &regen.paths, &regen.message, req.author)? {
            Some(_) => attempt += 1,
            None => {
                return Ok(PushOutcome {
                    attempts: attempt,
                    commit: tip.to_string(),
                    pushed: false,
                });
            }
        }
    }
}
