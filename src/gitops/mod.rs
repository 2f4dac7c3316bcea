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

mod commit;
pub mod history;
pub mod message;
mod push;

pub use commit::commit_paths;
pub use push::push_with_retry;

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
