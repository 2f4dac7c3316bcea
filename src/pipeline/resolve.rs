//! `berth resolve`: read the recorded index from a file, standard input or a URL, and resolve
//! one or more selectors against it.
//!
//! Input: catalogue directory (only when no index is given: berth.yaml names the index), the
//! `--index` argument, the selectors and the asking project. Output: one result per selector,
//! in the order asked. A malformed selector or an unreadable index is an error for the whole
//! call; a selector that does not resolve is a result.
//! The catalogue's own index (no `--index`) must be one berth wrote (an edit after berth's
//! last commit is refused, never resolved from); every index is validated on read.

use std::path::Path;

use crate::index::source::{FetchOptions, Source};
use crate::lifecycle::resolve::{ResolveError, Resolved, resolve as resolve_in};

/// What `berth resolve` read and found.
#[derive(Debug)]
pub struct Resolution {
    /// Where the index came from (a path, "standard input", a URL).
    pub index_name: String,
    /// A URL's cached copy was confirmed unchanged (304) rather than downloaded.
    pub from_cache: bool,
    /// One entry per selector, in the order given.
    pub results: Vec<(String, Result<Resolved, ResolveError>)>,
}

/// Read the index and resolve every selector in `targets`.
pub fn resolve(
    catalogue: &Path,
    index: Option<&str>,
    targets: &[String],
    project: Option<&str>,
    fetch: &FetchOptions,
) -> anyhow::Result<Resolution> {
    let source = match index {
        Some(arg) => Source::parse(arg),
        None => {
            // Only berth.yaml (it names the index): the listings are not needed here.
            let (cat, _) = crate::catalogue::load::load_config(catalogue);
            let path = cat.index_path();
            if let Ok(text) = std::fs::read_to_string(&path) {
                let checked = crate::pipeline::integrity::check_start(
                    catalogue,
                    &cat.root,
                    &path,
                    Some(&text),
                );
                if let Some(d) = checked.iter().find(|d| d.is_error()) {
                    anyhow::bail!("{d}");
                }
            }
            Source::File(path)
        }
    };
    let fetched = crate::index::source::read(&source, fetch)?;
    let index = crate::index::parse(&fetched.text, &fetched.name)?;
    let mut results = Vec::new();
    for t in targets {
        match resolve_in(&index, t, project) {
            Err(ResolveError::Syntax(s)) => anyhow::bail!(ResolveError::Syntax(s)),
            r => results.push((t.clone(), r)),
        }
    }
    Ok(Resolution {
        index_name: fetched.name,
        from_cache: fetched.from_cache,
        results,
    })
}
