//! The `dockerfile:` path of a listing, checked against the catalogue directory.
//!
//! Input: the listing's `dockerfile` value (with its span) and the catalogue root. Output:
//! E0112 when the path is empty, absolute, climbs out with `..`, or leads outside the
//! catalogue through a symlinked directory; E0008 when the Dockerfile itself is a symlink
//! (wherever it points: reviewers see the link, not the content); E0113 when nothing (or no
//! regular file) is there.
//!
//! Invariants: paths are normalised lexically first ([`super::normalize_relative`]), so no
//! file-system call ever sees a path outside the root; the lookups are cached, so a large
//! catalogue costs about one `lstat` per distinct Dockerfile plus one `canonicalize` per
//! distinct parent directory (a symlinked directory can lead outside as well).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::catalogue::validate::normalize_relative;
use crate::model::diag::{Code, Diagnostic, Diagnostics, display_path};
use crate::model::span::Sp;

/// Outcome of looking a Dockerfile up on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DockerfileState {
    Inside,
    /// Exists, but resolves (through a symlinked directory) outside the catalogue.
    Outside,
    /// Is a symlink itself (an error wherever it points, dangling included).
    Symlink,
    /// Missing, dangling, or not a regular file.
    Missing,
}

/// Caches the file-system lookups of the Dockerfile checks of one run.
pub(super) struct Dockerfiles<'a> {
    root: &'a Path,
    canonical_root: Option<Option<PathBuf>>,
    dirs: HashMap<PathBuf, Option<PathBuf>>,
    states: HashMap<PathBuf, DockerfileState>,
}

impl<'a> Dockerfiles<'a> {
    pub(super) fn new(root: &'a Path) -> Self {
        Dockerfiles {
            root,
            canonical_root: None,
            dirs: HashMap::new(),
            states: HashMap::new(),
        }
    }

    /// Check the `dockerfile:` value `df` of the listing in `file`.
    pub(super) fn check(&mut self, df: &Sp<String>, file: &Path, d: &mut Diagnostics) {
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
            Ok(rel) => match self.lookup(&rel) {
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
                                "dockerfile `{}` lies outside the catalogue (through a symlinked directory)",
                                df.value
                            ),
                        )
                        .with_hint("copy the Dockerfile into the catalogue repository"),
                    );
                }
                DockerfileState::Symlink => {
                    d.push(
                        Diagnostic::error(
                            Code::Symlink,
                            file,
                            df.pos,
                            format!("dockerfile `{}` is a symlink", display_path(&rel)),
                        )
                        .with_hint("replace the link with the Dockerfile itself: git shows reviewers the link, not the content"),
                    );
                }
                DockerfileState::Inside => {}
            },
        }
    }

    fn canonical_root(&mut self) -> Option<&Path> {
        let root = self.root;
        self.canonical_root
            .get_or_insert_with(|| root.canonicalize().ok())
            .as_deref()
    }

    /// Where a lexically normalised Dockerfile path leads. One `lstat` per distinct path (a
    /// symlink is an error wherever it points), plus one `canonicalize` per distinct parent
    /// directory (cached), because a symlinked directory can lead outside.
    fn lookup(&mut self, rel: &Path) -> DockerfileState {
        if let Some(state) = self.states.get(rel) {
            return *state;
        }
        let full = self.root.join(rel);
        let state = match std::fs::symlink_metadata(&full) {
            Err(_) => DockerfileState::Missing,
            Ok(m) if m.file_type().is_symlink() => DockerfileState::Symlink,
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
        self.states.insert(rel.to_path_buf(), state);
        state
    }

    /// When the root cannot be resolved the lexical check stands.
    fn inside(&mut self, canonical: &Path) -> DockerfileState {
        match self.canonical_root() {
            Some(r) if !canonical.starts_with(r) => DockerfileState::Outside,
            _ => DockerfileState::Inside,
        }
    }
}
