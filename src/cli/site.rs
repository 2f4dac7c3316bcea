//! `berth site --out DIR [--base-url URL]`: the store page, a static site made from index.json.
//!
//! Reads the index (`--index`, else berth.yaml's `index`, else `index.json`) and the
//! Dockerfiles it names, checks the index and the output directory (a refusal leaves the
//! directory as it was), then writes each file [`crate::report::site`] renders as it comes.
//! Writing is incremental: a file whose bytes are unchanged is not rewritten (its mtime stays),
//! a changed file is replaced by a rename (a reader never sees half a page), a new one is
//! written before the pages that link to it, and files a previous run wrote that are no
//! longer part of the site (a removed image) are deleted. berth keeps the list of what it
//! wrote in `DIR/.berth-site`; it refuses a non-empty directory without that list (so
//! `--out ~` never overwrites someone's `index.html`) and the catalogue itself.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use clap::Args;
use sha2::{Digest, Sha256};

use crate::cli::{CatalogueArgs, EXIT_OK, IndexArgs};
use crate::model::diag::{Code, Diagnostic, Diagnostics};
use crate::model::span::Pos;
use crate::report::site::{Dockerfile, File, Input};

/// The list of files a previous `berth site` wrote into the output directory.
pub const MANIFEST: &str = ".berth-site";

/// Largest Dockerfile published beside an image page.
const MAX_DOCKERFILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Args)]
pub struct SiteArgs {
    #[command(flatten)]
    pub index: IndexArgs,
    /// Directory to write the site into: new, empty, or written by `berth site` before.
    #[arg(long)]
    pub out: PathBuf,
    /// Where the site is published (`https://acme.github.io/images/`): pages then show
    /// `berth resolve --index <URL>index.json …` lines and canonical links.
    #[arg(long)]
    pub base_url: Option<String>,
}

/// What one run did to the output directory.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// `berth site`.
pub fn run(args: &SiteArgs, cat: &CatalogueArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let root = cat.root()?;
    let base_url = args.base_url.as_deref().map(base_url).transpose()?;
    let index_path = match &args.index.index {
        Some(p) => p.clone(),
        None => config_index_path(root)?,
    };
    let started = std::time::Instant::now();
    let (index, text) = read_index(root, &index_path)?;
    crate::report::site::check_codes(&index)?;
    check_out_dir(&args.out, root)?;
    let read = started.elapsed();
    let dockerfiles = DockerfileReader::new(root);
    let writer = SiteWriter::open(&args.out)?;
    let rendered = crate::report::site::render_into(
        &Input {
            index: &index,
            index_text: &text,
            read_dockerfile: &|img| dockerfiles.read(img),
            base_url: base_url.as_deref(),
        },
        &|f: File| writer.write(&f),
    );
    // Said once rendering is over (also when it failed), sorted: the render threads read the
    // files in any order.
    for warning in dockerfiles.into_warnings() {
        tracing::warn!("{warning}");
    }
    let paths = rendered?;
    let w = writer.finish(&paths)?;
    tracing::debug!(
        "site: read {:?}, render and write {:?}",
        read,
        started.elapsed() - read
    );
    writeln!(
        out,
        "berth site: {} images, {} files written, {} unchanged, {} removed",
        index.images.len(),
        w.written,
        w.unchanged,
        w.removed
    )?;
    writeln!(out, "open {}", args.out.join("index.html").display())?;
    Ok(EXIT_OK)
}

/// `--base-url`: an absolute https URL (plain http only to a loopback host, as `berth resolve`
/// accepts), no query or fragment; returned ending in `/`.
pub fn base_url(arg: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(arg)
        .with_context(|| format!("--base-url {arg:?} is not an absolute URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => bail!(
            "--base-url {arg}: plain http is refused (berth resolve fetches an index only over https); use https"
        ),
        other => bail!("--base-url {arg}: scheme {other:?} is not https"),
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        bail!("--base-url {arg}: give the site's address without query, fragment or user");
    }
    let mut s = url.to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

/// berth.yaml's `index` (or `index.json`), relative to the catalogue root.
fn config_index_path(root: &Path) -> anyhow::Result<PathBuf> {
    let mut cat = crate::model::Catalogue {
        root: root.to_path_buf(),
        ..Default::default()
    };
    let config = root.join(crate::model::CONFIG_FILE);
    if config.is_file() {
        let mut diags = Diagnostics::new();
        match crate::catalogue::load::read_yaml(root, &config, &mut diags) {
            Some(c) => cat.config = c,
            None => bail!("{}", lines(diags.into_sorted())),
        }
    }
    Ok(cat.index_path())
}

fn lines(diags: Vec<Diagnostic>) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn read_index(root: &Path, path: &Path) -> anyhow::Result<(crate::model::Index, String)> {
    let shown = crate::model::diag::rel(root, path);
    match crate::index::read(path) {
        Ok(Some(found)) => Ok(found),
        Ok(None) => bail!(
            "no index at {}; run `berth apply` first (the store page shows the recorded index)",
            path.display()
        ),
        Err(crate::index::IndexError::Parse {
            line,
            column,
            message,
            ..
        }) => bail!(
            "{}",
            Diagnostic::error(
                Code::IndexUnreadable,
                shown,
                Pos::new(line as u32, column as u32),
                format!("the index is not valid: {message}"),
            )
            .with_hint(
                "the index is generated by `berth apply`; restore it from git instead of editing it"
            )
        ),
        Err(e) => Err(e.into()),
    }
}

/// Reads the Dockerfiles the index names from the catalogue, from several threads. One that
/// cannot be published (missing, a symlink or under a symlinked directory, outside the
/// catalogue, too large, not UTF-8) is left out with a warning: its page then shows the path
/// without the text.
///
/// Why not `canonicalize` each file: resolving every component of the absolute path costs a
/// system call per component and file. Since the relative path holds plain names only, it stays
/// inside the catalogue unless one of its components is a symlink, so each directory on the
/// way is checked once (`lstat`, cached) and the file itself is checked and opened without
/// following a symlink.
struct DockerfileReader<'a> {
    root: &'a Path,
    /// Directory (relative to the root) → why it may not be read through, if so.
    dirs: Mutex<BTreeMap<PathBuf, Option<String>>>,
    warnings: Mutex<BTreeSet<String>>,
}

impl<'a> DockerfileReader<'a> {
    fn new(root: &'a Path) -> Self {
        DockerfileReader {
            root,
            dirs: Mutex::new(BTreeMap::new()),
            warnings: Mutex::new(BTreeSet::new()),
        }
    }

    fn read(&self, img: &crate::model::ImageEntry) -> Option<Dockerfile> {
        let rel = &img.dockerfile.as_ref()?.path;
        match self.read_text(rel) {
            Ok(text) => {
                let sha256 = Sha256::digest(text.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                Some(Dockerfile { sha256, text })
            }
            Err(why) => {
                self.warnings
                    .lock()
                    .expect("no panic while holding the lock")
                    .insert(format!(
                        "{}: Dockerfile {rel} not published: {why}",
                        img.code
                    ));
                None
            }
        }
    }

    fn into_warnings(self) -> BTreeSet<String> {
        self.warnings
            .into_inner()
            .expect("no panic while holding the lock")
    }

    fn read_text(&self, rel: &str) -> Result<String, String> {
        let rel_path = Path::new(rel);
        if rel.is_empty()
            || !rel_path
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err("the path is not inside the catalogue".into());
        }
        let mut dir = PathBuf::new();
        for part in rel_path.parent().into_iter().flat_map(Path::components) {
            dir.push(part);
            if let Some(why) = self.dir_refusal(&dir) {
                return Err(why);
            }
        }
        let path = self.root.join(rel_path);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| e.to_string())?;
        if meta.file_type().is_symlink() {
            return Err("it is a symlink".into());
        }
        let mut text = String::new();
        open_no_follow(&path)
            .and_then(|f| f.take(MAX_DOCKERFILE_BYTES + 1).read_to_string(&mut text))
            .map_err(|e| e.to_string())?;
        if text.len() as u64 > MAX_DOCKERFILE_BYTES {
            return Err(format!("larger than {MAX_DOCKERFILE_BYTES} bytes"));
        }
        Ok(text)
    }

    /// Why the directory `rel` (relative to the root) may not be read through, checked once.
    fn dir_refusal(&self, rel: &Path) -> Option<String> {
        let mut dirs = self.dirs.lock().expect("no panic while holding the lock");
        if let Some(known) = dirs.get(rel) {
            return known.clone();
        }
        let why = match std::fs::symlink_metadata(self.root.join(rel)) {
            Ok(m) if m.file_type().is_symlink() => Some(format!(
                "{} is a symlink (it could lead outside the catalogue)",
                rel.display()
            )),
            Ok(m) if !m.is_dir() => Some(format!("{} is not a directory", rel.display())),
            Ok(_) => None,
            Err(e) => Some(format!("{}: {e}", rel.display())),
        };
        dirs.insert(rel.to_path_buf(), why.clone());
        why
    }
}

/// Open a file for reading, refusing a symlink even if one replaced the file since it was
/// checked (`O_NOFOLLOW`).
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// The output directory must be new, empty, or a previous `berth site` output, and not the
/// catalogue.
fn check_out_dir(dir: &Path, catalogue: &Path) -> anyhow::Result<()> {
    if let (Ok(a), Ok(b)) = (std::fs::canonicalize(dir), std::fs::canonicalize(catalogue))
        && a == b
    {
        bail!(
            "--out {} is the catalogue directory; give the site a directory of its own (e.g. _site)",
            dir.display()
        );
    }
    match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::anyhow!("cannot read --out {}: {e}", dir.display())),
        Ok(mut entries) => {
            if entries.next().is_some() && !dir.join(MANIFEST).is_file() {
                bail!(
                    "--out {} is not empty and was not written by `berth site` (no {MANIFEST}); \
                     choose a new or empty directory",
                    dir.display()
                );
            }
            Ok(())
        }
    }
}

/// A path the site may contain: relative, `/`-separated, plain names only.
fn is_site_path(p: &str) -> bool {
    !p.is_empty()
        && p.split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\\'))
}

/// Writes the site's files into a directory incrementally, then removes what a previous run
/// wrote that is gone. `write` may be called from several threads.
pub struct SiteWriter {
    dir: PathBuf,
    /// The directory is new: nothing to compare with or replace.
    fresh: bool,
    /// Files the previous run wrote (its manifest).
    previous: BTreeSet<String>,
    dirs: Mutex<BTreeSet<PathBuf>>,
    written: AtomicUsize,
    unchanged: AtomicUsize,
}

impl SiteWriter {
    pub fn open(dir: &Path) -> anyhow::Result<SiteWriter> {
        let fresh = !dir.exists();
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let previous = std::fs::read_to_string(dir.join(MANIFEST))
            .unwrap_or_default()
            .lines()
            .filter(|l| is_site_path(l))
            .map(str::to_string)
            .collect();
        Ok(SiteWriter {
            dir: dir.to_path_buf(),
            fresh,
            previous,
            dirs: Mutex::new(BTreeSet::new()),
            written: AtomicUsize::new(0),
            unchanged: AtomicUsize::new(0),
        })
    }

    /// Write one file unless it already holds these bytes.
    pub fn write(&self, f: &File) -> anyhow::Result<()> {
        anyhow::ensure!(is_site_path(&f.path), "not a site path: {:?}", f.path);
        let path = self.dir.join(&f.path);
        let exists = !self.fresh
            && match std::fs::read(&path) {
                Ok(old) if old == f.bytes => {
                    self.unchanged.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Ok(_) => true,
                Err(e) => e.kind() != std::io::ErrorKind::NotFound,
            };
        let parent = path.parent().expect("a file in the site directory");
        {
            // Create the folder while holding the lock: another thread that finds it in the set
            // must also find it on disk (a race here lost pages under load).
            let mut dirs = self.dirs.lock().expect("no panic while holding the lock");
            if !dirs.contains(parent) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
                dirs.insert(parent.to_path_buf());
            }
        }
        let result = if exists {
            replace(&path, &f.bytes)
        } else {
            // A new file is written in place: the pages that link to it are written after it.
            std::fs::File::create_new(&path).and_then(|mut file| file.write_all(&f.bytes))
        };
        result.with_context(|| format!("cannot write {}", path.display()))?;
        self.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Remove what the previous run wrote that is not in `paths`, record `paths`.
    pub fn finish(self, paths: &[String]) -> anyhow::Result<Written> {
        let dir = &self.dir;
        let current: BTreeSet<&str> = paths.iter().map(String::as_str).collect();
        let mut removed = 0;
        for stale in self
            .previous
            .iter()
            .filter(|p| !current.contains(p.as_str()))
        {
            let path = dir.join(stale);
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove {}", path.display()));
                }
            }
            // Drop folders the removal emptied (never the output directory itself).
            let mut parent = path.parent();
            while let Some(p) = parent {
                if p == dir || std::fs::remove_dir(p).is_err() {
                    break;
                }
                parent = p.parent();
            }
        }
        let manifest = dir.join(MANIFEST);
        let list: String = current.iter().map(|p| format!("{p}\n")).collect();
        if std::fs::read_to_string(&manifest).ok().as_deref() != Some(list.as_str()) {
            replace(&manifest, list.as_bytes())
                .with_context(|| format!("cannot write {}", manifest.display()))?;
        }
        Ok(Written {
            written: self.written.into_inner(),
            unchanged: self.unchanged.into_inner(),
            removed,
        })
    }
}

/// Replace `path` by a rename from a temporary file beside it. No fsync: the site is
/// regenerated from the index at will, and 10,000 fsyncs would dominate the run.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("a file in a directory");
    let mut tmp = tempfile::Builder::new()
        .prefix(crate::model::fsutil::TEMP_PREFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            base_url("https://acme.github.io/images").unwrap(),
            "https://acme.github.io/images/"
        );
        assert_eq!(
            base_url("https://acme.github.io/").unwrap(),
            "https://acme.github.io/"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8080/site/").unwrap(),
            "http://127.0.0.1:8080/site/"
        );
        for (bad, why) in [
            ("http://acme.example/", "plain http is refused"),
            ("ftp://acme.example/", "is not https"),
            ("acme.github.io/images", "is not an absolute URL"),
            ("https://acme.example/?x=1", "without query"),
            ("https://u@acme.example/", "without query, fragment or user"),
        ] {
            let e = base_url(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn site_paths() {
        assert!(is_site_path("images/a.html"));
        assert!(is_site_path(".nojekyll"));
        for bad in ["", "/etc/passwd", "../x", "a//b", "a/./b", "a\\b", "a/"] {
            assert!(!is_site_path(bad), "{bad}");
        }
    }
}
