//! The git side of berth: read the catalogue's history, commit the generated index, push it.
//!
//! Inputs: a catalogue directory (which may be a subdirectory of a git work tree; the
//! repository is found with `Repository::discover`), paths relative to that directory,
//! revspecs (`HEAD~1`, `origin/main`, a sha), an [`Author`] and [`PushAuth`].
//! Outputs: commit ids as hex strings, file contents at a revision, a [`PushOutcome`].
//!
//! Invariants:
//! - [`commit_paths`] commits exactly the given paths on top of `HEAD` (other staged or
//!   modified files are left alone) and never creates an empty commit.
//! - [`push_with_retry`] never force-pushes: the push refspec has no `+`. On a rejection caused by
//!   the remote branch moving it fetches, hard-resets the local branch onto the new tip (only
//!   after checking that the local-only commits touch nothing but generated files), asks the
//!   caller to regenerate, commits and pushes again, at most `max_attempts` pushes in all.
//! - Secrets never leave this module: every error message that could carry a URL or a
//!   transport message is scrubbed of URL user-info and of the token itself; the token is
//!   offered only to https remotes, never to a plain `http://` one.
//!
//! [`history`] reads who wrote the index (berth's `Berth-Index-Sha256` commit trailer) and the
//! catalogue's source commit; [`message`] renders commit message templates.

pub mod github;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use git2::{
    Cred, CredentialType, ErrorCode, FetchOptions, Index, IndexEntry, IndexTime, ObjectType, Oid,
    PushOptions, RemoteCallbacks, Repository, ResetType, Signature, StatusOptions,
};

pub mod history;
pub mod message;

pub use message::{DEFAULT_MESSAGE_TEMPLATE, render_legacy as render_message};

/// Username GitHub expects together with an installation/`GITHUB_TOKEN` token over https.
pub const TOKEN_USERNAME: &str = "x-access-token";

/// Stage errors of the git layer. Messages are already scrubbed of secrets.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{0} is not inside a git repository")]
    NotARepo(PathBuf),
    #[error("the git repository at {0} has no work tree (bare repository)")]
    Bare(PathBuf),
    #[error("path {0} lies outside the repository work tree")]
    PathOutsideRepo(PathBuf),
    #[error("{0} is not a regular file (only files can be committed)")]
    NotAFile(PathBuf),
    #[error("revision `{0}` not found in the repository")]
    RevNotFound(String),
    #[error(
        "HEAD is detached; berth commits only on a branch (check out the branch first, e.g. `git checkout main`)"
    )]
    DetachedHead,
    #[error("remote branch {remote}/{branch} does not exist")]
    RemoteBranchMissing { remote: String, branch: String },
    #[error("push to {remote}/{branch} rejected: {reason}")]
    PushRejected {
        remote: String,
        branch: String,
        reason: String,
    },
    #[error(
        "push to {remote}/{branch} still rejected after {attempts} attempt(s) because the remote branch keeps moving: {last}"
    )]
    RetriesExhausted {
        remote: String,
        branch: String,
        attempts: u32,
        last: String,
    },
    #[error(
        "refusing to reset onto the new remote tip: local commit {commit} changes {path}, which is not a generated file (push or drop it by hand)"
    )]
    UnpushedWork { commit: String, path: String },
    #[error(
        "refusing to reset onto the new remote tip: the work tree has uncommitted changes in {0} (commit or stash them)"
    )]
    DirtyWorktree(String),
    #[error("regenerating on the new base failed: {0}")]
    Regenerate(String),
    #[error("io error on {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("git {op} failed: {message}")]
    Git { op: &'static str, message: String },
}

pub type Result<T> = std::result::Result<T, GitError>;

/// Commit author (also used as committer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

impl Author {
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Author {
            name: name.into(),
            email: email.into(),
        }
    }

    /// The identity GitHub shows as "github-actions[bot]".
    pub fn github_actions_bot() -> Self {
        Author::new(
            "github-actions[bot]",
            "41898282+github-actions[bot]@users.noreply.github.com",
        )
    }
}

/// Credentials for fetch/push. `Debug` never prints the secrets.
///
/// The credentials callback picks by what the transport allows: https → `token` as
/// `token_username:token`; ssh → the key file if set, else the ssh-agent; local paths and
/// `file://` URLs never ask. A plain `http://` remote is never offered the token: when it
/// asks for credentials the operation fails saying the token was withheld.
#[derive(Clone)]
pub struct PushAuth {
    token: Option<String>,
    /// Username sent with the token (GitHub: `x-access-token`).
    pub token_username: String,
    ssh_key: Option<PathBuf>,
    ssh_passphrase: Option<String>,
}

impl Default for PushAuth {
    fn default() -> Self {
        PushAuth::none()
    }
}

impl fmt::Debug for PushAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushAuth")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("token_username", &self.token_username)
            .field("ssh_key", &self.ssh_key)
            .field(
                "ssh_passphrase",
                &self.ssh_passphrase.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

impl PushAuth {
    /// No explicit credentials (ssh-agent is still tried for ssh remotes).
    pub fn none() -> Self {
        PushAuth {
            token: None,
            token_username: TOKEN_USERNAME.to_string(),
            ssh_key: None,
            ssh_passphrase: None,
        }
    }

    /// An https token, sent as `x-access-token:<token>`.
    pub fn with_token(token: impl Into<String>) -> Self {
        PushAuth {
            token: Some(token.into()),
            ..PushAuth::none()
        }
    }

    /// The token from the first of `token_vars` that is set and non-empty (e.g.
    /// `["BERTH_GIT_TOKEN", "GITHUB_TOKEN"]`); no token when none is.
    pub fn from_env(token_vars: &[&str]) -> Self {
        let token = token_vars
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|t| !t.trim().is_empty());
        PushAuth {
            token: token.map(|t| t.trim().to_string()),
            ..PushAuth::none()
        }
    }

    /// Use this private key file for ssh remotes instead of the agent.
    pub fn with_ssh_key(mut self, key: impl Into<PathBuf>, passphrase: Option<String>) -> Self {
        self.ssh_key = Some(key.into());
        self.ssh_passphrase = passphrase;
        self
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    fn secrets(&self) -> Vec<&str> {
        self.token
            .iter()
            .chain(self.ssh_passphrase.iter())
            .map(String::as_str)
            .collect()
    }
}

/// Result of [`push_with_retry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// Push attempts made (1 when the first push went through).
    pub attempts: u32,
    /// The commit the remote branch now points at as far as we know: our pushed commit, or the
    /// fetched remote tip when regeneration left nothing to commit.
    pub commit: String,
    /// False when, after a rebase onto the moved remote, there was nothing left to push.
    pub pushed: bool,
}

/// What the regenerate callback of [`push_with_retry`] hands back.
#[derive(Debug, Clone)]
pub struct Regenerated {
    /// Files rewritten (catalogue-relative or absolute) to commit.
    pub paths: Vec<PathBuf>,
    /// Commit message for the new commit (summaries may change with the new base).
    pub message: String,
}

/// What to push and how, for [`push_with_retry`].
#[derive(Debug, Clone)]
pub struct PushRequest<'a> {
    /// A configured remote name (`origin`) or a URL/path.
    pub remote: &'a str,
    /// Remote branch name (without `refs/heads/`).
    pub branch: &'a str,
    pub auth: &'a PushAuth,
    /// Upper bound on push attempts (0 is treated as 1).
    pub max_attempts: u32,
    /// Author of the regenerated commits.
    pub author: &'a Author,
    /// Generated files (catalogue-relative or absolute): the only paths local unpushed commits
    /// and uncommitted changes may touch before a reset onto the remote tip is allowed.
    pub generated: &'a [PathBuf],
}

/// Remove URL user-info (`https://user:pass@host` → `https://***@host`) and every given
/// secret from `text`. Used on every message that may come from a transport.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s, "***");
        }
    }
    // `scheme://userinfo@` — userinfo cannot contain '/', '@' or whitespace.
    static USERINFO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@").expect("static regex")
    });
    USERINFO.replace_all(&out, "${1}***@").into_owned()
}

fn git_err(op: &'static str, e: git2::Error) -> GitError {
    GitError::Git {
        op,
        message: scrub(e.message(), &[]),
    }
}

fn git_err_s(op: &'static str, e: git2::Error, secrets: &[&str]) -> GitError {
    GitError::Git {
        op,
        message: scrub(e.message(), secrets),
    }
}

/// An opened repository plus where the catalogue sits inside its work tree.
struct Ctx {
    repo: Repository,
    workdir: PathBuf,
    catalogue: PathBuf,
}

fn open(catalogue: &Path) -> Result<Option<Ctx>> {
    let repo = match Repository::discover(catalogue) {
        Ok(r) => r,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(git_err("open", e)),
    };
    let workdir = repo
        .workdir()
        .ok_or_else(|| GitError::Bare(repo.path().to_path_buf()))?;
    let workdir = canonical(workdir)?;
    let catalogue = canonical(catalogue)?;
    if !catalogue.starts_with(&workdir) {
        return Err(GitError::PathOutsideRepo(catalogue));
    }
    Ok(Some(Ctx {
        repo,
        workdir,
        catalogue,
    }))
}

fn open_required(catalogue: &Path) -> Result<Ctx> {
    open(catalogue)?.ok_or_else(|| GitError::NotARepo(catalogue.to_path_buf()))
}

fn canonical(p: &Path) -> Result<PathBuf> {
    p.canonicalize().map_err(|e| GitError::Io {
        path: p.to_path_buf(),
        message: e.to_string(),
    })
}

impl Ctx {
    /// Repo-relative path (forward slashes via `Path`) of a catalogue-relative or absolute path,
    /// normalised lexically; errors when it escapes the work tree.
    fn repo_rel(&self, p: &Path) -> Result<PathBuf> {
        let joined = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.catalogue.join(p)
        };
        let mut norm = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::ParentDir => {
                    if !norm.pop() {
                        return Err(GitError::PathOutsideRepo(p.to_path_buf()));
                    }
                }
                Component::CurDir => {}
                other => norm.push(other.as_os_str()),
            }
        }
        // An absolute path given by the caller may use a non-canonical spelling of the work
        // tree (symlinked temp dirs); canonicalise the existing parent to compare.
        let norm = match norm.parent().and_then(|d| d.canonicalize().ok()) {
            Some(parent) => parent.join(norm.file_name().unwrap_or_default()),
            None => norm,
        };
        let rel = norm
            .strip_prefix(&self.workdir)
            .map_err(|_| GitError::PathOutsideRepo(p.to_path_buf()))?;
        if rel.as_os_str().is_empty() || rel.starts_with(".git") {
            return Err(GitError::PathOutsideRepo(p.to_path_buf()));
        }
        Ok(rel.to_path_buf())
    }

    fn head_oid(&self) -> Result<Option<Oid>> {
        match self.repo.head() {
            Ok(h) => Ok(h.target()),
            Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
            Err(e) => Err(git_err("head", e)),
        }
    }
}

/// The commit `HEAD` points at, or `None` when `catalogue` is not in a git repository or the
/// branch has no commit yet.
pub fn head_commit(catalogue: &Path) -> Result<Option<String>> {
    match open(catalogue)? {
        None => Ok(None),
        Some(ctx) => Ok(ctx.head_oid()?.map(|o| o.to_string())),
    }
}

/// The branch `HEAD` is on (`main`), or `None` when detached, unborn-less or not a repository.
pub fn current_branch(catalogue: &Path) -> Result<Option<String>> {
    let Some(ctx) = open(catalogue)? else {
        return Ok(None);
    };
    if ctx.repo.head_detached().map_err(|e| git_err("head", e))? {
        return Ok(None);
    }
    // Works for an unborn branch too: read the symbolic target of HEAD.
    let head = ctx
        .repo
        .find_reference("HEAD")
        .map_err(|e| git_err("head", e))?;
    Ok(head
        .symbolic_target()
        .ok()
        .flatten()
        .and_then(|t| t.strip_prefix("refs/heads/"))
        .map(str::to_string))
}

/// The content of `path_in_catalogue` (relative to the catalogue dir) at revision `rev`
/// (any revspec). `None` when the file does not exist at that revision.
pub fn read_file_at(
    catalogue: &Path,
    rev: &str,
    path_in_catalogue: &Path,
) -> Result<Option<Vec<u8>>> {
    let ctx = open_required(catalogue)?;
    let rel = ctx.repo_rel(path_in_catalogue)?;
    let obj = ctx
        .repo
        .revparse_single(rev)
        .map_err(|_| GitError::RevNotFound(rev.to_string()))?;
    let commit = obj
        .peel_to_commit()
        .map_err(|_| GitError::RevNotFound(rev.to_string()))?;
    let tree = commit.tree().map_err(|e| git_err("read tree", e))?;
    let entry = match tree.get_path(&rel) {
        Ok(e) => e,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(git_err("read tree", e)),
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    let blob = ctx
        .repo
        .find_blob(entry.id())
        .map_err(|e| git_err("read blob", e))?;
    Ok(Some(blob.content().to_vec()))
}

/// Commit exactly `paths` (catalogue-relative or absolute; a missing file is committed as a
/// deletion) on the current branch with `message`, authored and committed by `author`.
/// Returns the new commit id, or `None` — and creates no commit — when the tree would not
/// change. Other staged or modified files are neither committed nor unstaged.
pub fn commit_paths(
    catalogue: &Path,
    paths: &[PathBuf],
    message: &str,
    author: &Author,
) -> Result<Option<String>> {
    let ctx = open_required(catalogue)?;
    commit_in(&ctx, paths, message, author).map(|o| o.map(|o| o.to_string()))
}

fn commit_in(ctx: &Ctx, paths: &[PathBuf], message: &str, author: &Author) -> Result<Option<Oid>> {
    let repo = &ctx.repo;
    if repo.head_detached().map_err(|e| git_err("head", e))? {
        return Err(GitError::DetachedHead);
    }
    let parent = match ctx.head_oid()? {
        Some(oid) => Some(repo.find_commit(oid).map_err(|e| git_err("read HEAD", e))?),
        None => None,
    };
    // Build the new tree from HEAD's tree plus these paths in an in-memory index, so that
    // whatever else the user has staged stays out of the commit (`git commit -- paths`).
    let mut mem = Index::new().map_err(|e| git_err("index", e))?;
    if let Some(p) = &parent {
        let tree = p.tree().map_err(|e| git_err("read tree", e))?;
        mem.read_tree(&tree).map_err(|e| git_err("index", e))?;
    }
    let mut rels = Vec::with_capacity(paths.len());
    for p in paths {
        let rel = ctx.repo_rel(p)?;
        let abs = ctx.workdir.join(&rel);
        match std::fs::symlink_metadata(&abs) {
            Ok(md) if md.is_file() => {
                let bytes = std::fs::read(&abs).map_err(|e| GitError::Io {
                    path: abs.clone(),
                    message: e.to_string(),
                })?;
                let id = repo.blob(&bytes).map_err(|e| git_err("write blob", e))?;
                mem.add(&index_entry(&rel, id, executable(&md), bytes.len()))
                    .map_err(|e| git_err("index", e))?;
            }
            Ok(_) => return Err(GitError::NotAFile(p.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Deleting a path that is not tracked is a no-op.
                let _ = mem.remove_path(&rel);
            }
            Err(e) => {
                return Err(GitError::Io {
                    path: abs,
                    message: e.to_string(),
                });
            }
        }
        rels.push(rel);
    }
    let tree_id = mem
        .write_tree_to(repo)
        .map_err(|e| git_err("write tree", e))?;
    if let Some(p) = &parent
        && p.tree_id() == tree_id
    {
        return Ok(None);
    }
    let tree = repo
        .find_tree(tree_id)
        .map_err(|e| git_err("write tree", e))?;
    let sig = Signature::now(&author.name, &author.email).map_err(|e| git_err("signature", e))?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let oid = repo
        .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .map_err(|e| git_err("commit", e))?;
    // Keep the real index in step for these paths so `git status` shows them clean.
    let mut idx = repo.index().map_err(|e| git_err("index", e))?;
    for rel in &rels {
        let r = if ctx.workdir.join(rel).exists() {
            idx.add_path(rel)
        } else {
            idx.remove_path(rel)
        };
        r.map_err(|e| git_err("index", e))?;
    }
    idx.write().map_err(|e| git_err("index", e))?;
    Ok(Some(oid))
}

#[cfg(unix)]
fn executable(md: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    md.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_md: &std::fs::Metadata) -> bool {
    false
}

fn index_entry(rel: &Path, id: Oid, exec: bool, len: usize) -> IndexEntry {
    let path = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode: if exec { 0o100755 } else { 0o100644 },
        uid: 0,
        gid: 0,
        file_size: u32::try_from(len).unwrap_or(u32::MAX),
        id,
        flags: 0,
        flags_extended: 0,
        path: path.into_bytes(),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_userinfo_and_secrets() {
        let s = scrub(
            "failed https://x-access-token:ghs_ABC@github.com/o/r.git and ghs_ABC again; ssh://git@h/x",
            &["ghs_ABC"],
        );
        assert!(!s.contains("ghs_ABC"), "{s}");
        assert!(s.contains("https://***@github.com/o/r.git"), "{s}");
        assert!(s.contains("ssh://***@h/x"), "{s}");
    }

    #[test]
    fn debug_of_auth_hides_token() {
        let a = PushAuth::with_token("supersecret-token");
        assert!(!format!("{a:?}").contains("supersecret"));
    }
}
