//! Who wrote the index: berth's commit trailer and the history read behind it.
//!
//! Every commit berth writes ends with the trailer `Berth-Index-Sha256: <hex>`, the sha256 of
//! the index file it committed. Input: a catalogue directory and the index path (relative to
//! it). Output: [`Provenance`] of the index at `HEAD`, the catalogue's source commit (the
//! newest first-parent commit that is not one of berth's), and the record of index bytes berth
//! wrote but did not commit yet (kept in the git dir, per working copy).
//!
//! Invariant: the index at `HEAD` is trusted when the last commit that changed it is a berth
//! commit whose trailer is the file's sha256, or when its bytes are those the newest berth
//! commit for that path wrote (an edit that was reverted). Anything else names the commit that
//! changed it last.

use std::path::{Path, PathBuf};

use git2::{Commit, ErrorCode, Oid, Repository, Sort};

use super::{Ctx, GitError, Result, git_err, open};

/// The trailer key of berth's commits.
pub const TRAILER: &str = "Berth-Index-Sha256";

/// The trailer line for an index with this sha256 (hex).
pub fn trailer_line(sha256_hex: &str) -> String {
    format!("{TRAILER}: {sha256_hex}")
}

/// The index sha256 a commit message vouches for, if it carries berth's trailer.
pub fn trailer_of(message: &str) -> Option<String> {
    let trailers = git2::message_trailers_strs(message).ok()?;
    trailers
        .iter()
        .filter(|(k, _)| *k == TRAILER)
        .map(|(_, v)| v.trim().to_string())
        .rfind(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn trailer_in(c: &Commit<'_>) -> Option<String> {
    c.message().ok().and_then(trailer_of)
}

/// A commit as shown to people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub subject: String,
    pub author: String,
}

impl CommitInfo {
    fn of(c: &Commit<'_>) -> Self {
        CommitInfo {
            id: c.id().to_string(),
            subject: c.summary().ok().flatten().unwrap_or("").to_string(),
            author: c.author().name().unwrap_or("?").to_string(),
        }
    }
    /// The first 12 hex digits.
    pub fn short(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }
}

/// Where the index committed at `HEAD` comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Not in a git repository, or `HEAD` has no commit yet.
    NoHistory,
    /// No berth commit ever wrote this path (first adoption, a fixture, a shallow clone that
    /// does not reach one). `shallow` tells which repositories cannot know.
    NoBerthCommit { at_head: bool, shallow: bool },
    /// The index at `HEAD` is what berth wrote (`commit` vouches for it).
    Berth { commit: CommitInfo },
    /// The index at `HEAD` was changed (or deleted: `deleted`) by `last`, after `berth` wrote it.
    Edited {
        last: CommitInfo,
        berth: CommitInfo,
        deleted: bool,
    },
}

/// The content sha256 (hex) recorded in a commit's trailer equals the blob's.
fn blob_sha(repo: &Repository, id: Oid) -> Result<String> {
    let blob = repo.find_blob(id).map_err(|e| git_err("read blob", e))?;
    Ok(sha256_hex(blob.content()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn blob_at(c: &Commit<'_>, rel: &Path) -> Result<Option<Oid>> {
    let tree = c.tree().map_err(|e| git_err("read tree", e))?;
    match tree.get_path(rel) {
        Ok(e) if e.kind() == Some(git2::ObjectType::Blob) => Ok(Some(e.id())),
        Ok(_) => Ok(None),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(git_err("read tree", e)),
    }
}

/// The last commit that changed `rel` as seen from `start` (git's default history
/// simplification: follow a parent with the same content, stop where none has it).
fn last_change<'r>(start: Commit<'r>, rel: &Path) -> Result<Commit<'r>> {
    let mut c = start;
    let mut at = blob_at(&c, rel)?;
    loop {
        let mut next = None;
        for p in c.parents() {
            let there = blob_at(&p, rel)?;
            if there == at {
                next = Some(p);
                break;
            }
        }
        match next {
            Some(p) => {
                at = blob_at(&p, rel)?;
                c = p;
            }
            None => return Ok(c),
        }
    }
}

/// Does `c` change `rel` against its first parent (or add it, as a root commit)?
fn changes(c: &Commit<'_>, rel: &Path) -> Result<bool> {
    let here = blob_at(c, rel)?;
    let before = match c.parent(0) {
        Ok(p) => blob_at(&p, rel)?,
        Err(_) => None,
    };
    Ok(here != before)
}

/// The newest commit reachable from `head` that changed `rel` and carries berth's trailer
/// with the sha256 of what it committed there (a trailer that does not match its own commit
/// vouches for nothing).
fn newest_berth_commit<'r>(
    repo: &'r Repository,
    head: Oid,
    rel: &Path,
) -> Result<Option<Commit<'r>>> {
    let mut walk = repo.revwalk().map_err(|e| git_err("walk history", e))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
        .map_err(|e| git_err("walk history", e))?;
    walk.push(head).map_err(|e| git_err("walk history", e))?;
    for oid in walk {
        let oid = oid.map_err(|e| git_err("walk history", e))?;
        let c = repo
            .find_commit(oid)
            .map_err(|e| git_err("walk history", e))?;
        let Some(vouched) = trailer_in(&c) else {
            continue;
        };
        if !changes(&c, rel)? {
            continue;
        }
        if let Some(id) = blob_at(&c, rel)?
            && blob_sha(repo, id)? == vouched
        {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Where the index at `HEAD` (catalogue-relative `index`) comes from.
pub fn head_provenance(catalogue: &Path, index: &Path) -> Result<Provenance> {
    let Some(ctx) = open(catalogue)? else {
        return Ok(Provenance::NoHistory);
    };
    let Some(head) = ctx.head_oid()? else {
        return Ok(Provenance::NoHistory);
    };
    let rel = ctx.repo_rel(index)?;
    let repo = &ctx.repo;
    let head_commit = repo
        .find_commit(head)
        .map_err(|e| git_err("read HEAD", e))?;
    let at_head = blob_at(&head_commit, &rel)?;
    let sha = match at_head {
        Some(id) => Some(blob_sha(repo, id)?),
        None => None,
    };
    let mut last = None;
    if let Some(sha) = &sha {
        let l = last_change(head_commit.clone(), &rel)?;
        if trailer_in(&l).as_deref() == Some(sha.as_str()) {
            return Ok(Provenance::Berth {
                commit: CommitInfo::of(&l),
            });
        }
        last = Some(l);
    }
    let Some(berth) = newest_berth_commit(repo, head, &rel)? else {
        return Ok(Provenance::NoBerthCommit {
            at_head: at_head.is_some(),
            shallow: repo.is_shallow(),
        });
    };
    let vouched = trailer_in(&berth);
    if sha.is_some() && vouched == sha {
        // Edited and restored to exactly what berth wrote last (e.g. a reverted edit).
        return Ok(Provenance::Berth {
            commit: CommitInfo::of(&berth),
        });
    }
    let last = match last {
        Some(l) => l,
        None => last_change(head_commit, &rel)?,
    };
    Ok(Provenance::Edited {
        last: CommitInfo::of(&last),
        berth: CommitInfo::of(&berth),
        deleted: at_head.is_none(),
    })
}

/// Is `c` one of berth's own index commits?
fn is_berth(c: &Commit<'_>) -> bool {
    trailer_in(c).is_some()
}

/// The catalogue's source commit: from `HEAD` along first parents, the first commit that is
/// not berth's own index commit. `None` outside git, on an unborn branch, or when every
/// commit is berth's.
pub fn source_commit(catalogue: &Path) -> Result<Option<String>> {
    let Some(ctx) = open(catalogue)? else {
        return Ok(None);
    };
    let Some(head) = ctx.head_oid()? else {
        return Ok(None);
    };
    let mut c = ctx
        .repo
        .find_commit(head)
        .map_err(|e| git_err("read HEAD", e))?;
    loop {
        if !is_berth(&c) {
            return Ok(Some(c.id().to_string()));
        }
        c = match c.parent(0) {
            Ok(p) => p,
            Err(_) => return Ok(None),
        };
    }
}

/// The git dir of this working copy (`.git`, or `.git/worktrees/<name>` for a linked work
/// tree); `None` outside git.
pub fn git_dir(catalogue: &Path) -> Result<Option<PathBuf>> {
    Ok(open(catalogue)?.map(|ctx| ctx.repo.path().to_path_buf()))
}

/// Make sure `pattern` is in the repository's `info/exclude` (local, never committed), so
/// files matching it never show in `git status`. No-op outside git.
pub fn ensure_excluded(catalogue: &Path, pattern: &str) -> Result<()> {
    let Some(ctx) = open(catalogue)? else {
        return Ok(());
    };
    let path = ctx.repo.commondir().join("info").join("exclude");
    let io = |e: std::io::Error| GitError::Io {
        path: path.clone(),
        message: e.to_string(),
    };
    let current = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    if current.lines().any(|l| l.trim() == pattern) {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().expect("info dir")).map_err(io)?;
    let mut text = current;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# berth's temporary files (a killed run's leftovers are removed by the next)\n");
    text.push_str(pattern);
    text.push('\n');
    std::fs::write(&path, text).map_err(io)
}

/// Where berth records index bytes it wrote but has not committed (`apply` without
/// `--commit`, `promote`): `<git dir>/berth/written`, lines `<sha256> <repo-relative path>`.
fn written_record(ctx: &Ctx) -> PathBuf {
    ctx.repo.path().join("berth").join("written")
}

fn record_key(ctx: &Ctx, index: &Path) -> Result<String> {
    Ok(ctx
        .repo_rel(index)?
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/"))
}

/// Record that berth wrote `bytes` to `index` (catalogue-relative). No-op outside git.
pub fn record_written(catalogue: &Path, index: &Path, bytes: &[u8]) -> Result<()> {
    record_written_sha256(catalogue, index, &sha256_hex(bytes))
}

/// [`record_written`] by the bytes' hex sha256 (an index streamed to its file is never held
/// whole).
pub fn record_written_sha256(catalogue: &Path, index: &Path, sha256: &str) -> Result<()> {
    let Some(ctx) = open(catalogue)? else {
        return Ok(());
    };
    let key = record_key(&ctx, index)?;
    let path = written_record(&ctx);
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split_once(' ').map(|(_, p)| p) != Some(key.as_str()))
        .map(str::to_string)
        .collect();
    lines.push(format!("{sha256} {key}"));
    let text: String = lines.into_iter().map(|l| l + "\n").collect();
    crate::model::fsutil::write_atomic(&path, text.as_bytes())
        .map(|_| ())
        .map_err(|e| GitError::Io {
            path,
            message: e.to_string(),
        })
}

/// Did berth itself write these bytes to `index` (catalogue-relative) in this working copy?
pub fn written_by_berth(catalogue: &Path, index: &Path, bytes: &[u8]) -> Result<bool> {
    let Some(ctx) = open(catalogue)? else {
        return Ok(false);
    };
    let key = record_key(&ctx, index)?;
    let want = format!("{} {key}", sha256_hex(bytes));
    Ok(std::fs::read_to_string(written_record(&ctx))
        .unwrap_or_default()
        .lines()
        .any(|l| l == want))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_is_read_from_the_last_paragraph_only() {
        let sha = "a".repeat(64);
        let msg = format!(
            "berth: update index (x)\n\n- change\n\n{}\n",
            trailer_line(&sha)
        );
        assert_eq!(trailer_of(&msg), Some(sha.clone()));
        let body = format!("subject\n\n{}\n\nlast paragraph\n", trailer_line(&sha));
        assert_eq!(trailer_of(&body), None);
        assert_eq!(trailer_of("s\n\nBerth-Index-Sha256: short\n"), None);
    }
}
