//! Committing the generated index: exactly the given paths on top of `HEAD` (other staged or
//! modified files are left alone), never an empty commit.

use super::*;

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

pub(super) fn commit_in(
    ctx: &Ctx,
    paths: &[PathBuf],
    message: &str,
    author: &Author,
) -> Result<Option<Oid>> {
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
