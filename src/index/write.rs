//! Writing `index.json` without a text copy of it: the canonical bytes are streamed into the
//! file (or into a sha256) and never held whole.
//!
//! Input: an [`Index`]. Output: its canonical bytes — exactly `serde_json::to_string_pretty`
//! of the index plus a newline (keys sorted, see [`super::to_canonical_json`]) — written to a
//! [`Write`], hashed, or written atomically to a file.
//!
//! How: the images, which are nearly all of the bytes, are serialized in batches on all cores,
//! each entry on its own and re-indented to its depth in the file (a JSON string never holds a
//! raw newline, so indenting after each `\n` is exact), and written in key order. A batch is
//! the only text held at a time, so memory stays flat however large the index is.
//! `tests` below and `index::tests` hold the bytes equal to the one-piece serialization.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::index::IndexError;
use crate::model::{ImageEntry, Index};

/// Images serialized per batch: enough to keep every core busy, small enough to keep the
/// text of one batch small (a few MiB).
const BATCH: usize = 1024;

/// Indentation of an image entry in the file: `{` → `"images": {` → entry.
const ENTRY_INDENT: &[u8] = b"\n    ";

/// Write the canonical bytes of `index` to `w`.
pub fn write_canonical(index: &Index, w: &mut dyn Write) -> std::io::Result<()> {
    use rayon::prelude::*;
    // Everything but the images, serialized whole: it starts `{\n  "images": {},\n` because
    // `images` is the first field, and the images are spliced in there.
    let shell = Index {
        images: Default::default(),
        promotions: index.promotions.clone(),
        schema_version: index.schema_version,
        source_commit: index.source_commit.clone(),
    };
    let shell = serde_json::to_string_pretty(&shell).map_err(std::io::Error::other)?;
    const EMPTY_IMAGES: &str = "{\n  \"images\": {}";
    let rest = shell
        .strip_prefix(EMPTY_IMAGES)
        .expect("images is the first field of the index");
    if index.images.is_empty() {
        w.write_all(shell.as_bytes())?;
        return w.write_all(b"\n");
    }
    w.write_all(b"{\n  \"images\": {")?;
    let entries: Vec<(&String, &Arc<ImageEntry>)> = index.images.iter().collect();
    let mut first = true;
    for batch in entries.chunks(BATCH) {
        let texts: Vec<std::io::Result<Vec<u8>>> = batch
            .par_iter()
            .map(|(code, entry)| entry_bytes(code, entry))
            .collect();
        for text in texts {
            w.write_all(if first { b"\n    " } else { b",\n    " })?;
            w.write_all(&text?)?;
            first = false;
        }
    }
    w.write_all(b"\n  }")?;
    w.write_all(rest.as_bytes())?;
    w.write_all(b"\n")
}

/// `"code": {entry}` as it stands in the file, without the leading indentation.
fn entry_bytes(code: &str, entry: &ImageEntry) -> std::io::Result<Vec<u8>> {
    let mut key = serde_json::to_vec(code).map_err(std::io::Error::other)?;
    key.extend_from_slice(b": ");
    let body = serde_json::to_vec_pretty(entry).map_err(std::io::Error::other)?;
    let lines = body.iter().filter(|b| **b == b'\n').count();
    let mut out = Vec::with_capacity(key.len() + body.len() + lines * (ENTRY_INDENT.len() - 1));
    out.extend_from_slice(&key);
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(ENTRY_INDENT);
        }
        out.extend_from_slice(line);
    }
    Ok(out)
}

/// Hex sha256 of the canonical bytes of `index`, streamed (no text copy).
pub fn canonical_sha256(index: &Index) -> String {
    let mut h = HashingWriter::new(std::io::sink());
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut h);
        write_canonical(index, &mut w).expect("a sink does not fail");
        w.flush().expect("a sink does not fail");
    }
    h.hex()
}

/// What [`write_atomic`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// `false` when the file already held these bytes (it is left untouched).
    pub changed: bool,
    /// Hex sha256 of the bytes written (what berth's commit trailer records).
    pub sha256: String,
}

/// Write the canonical bytes of `index` to `path` atomically, streamed
/// ([`crate::model::fsutil::write_atomic_with`]).
pub fn write_atomic(path: &Path, index: &Index) -> Result<Written, IndexError> {
    let mut sha256 = String::new();
    let changed = crate::model::fsutil::write_atomic_with(path, |w| {
        let mut h = HashingWriter::new(w);
        write_canonical(index, &mut h)?;
        sha256 = h.hex();
        Ok(())
    })
    .map_err(|source| IndexError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(Written { changed, sha256 })
}

/// A writer that passes bytes on and hashes them.
struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hash: Sha256::new(),
        }
    }
    fn hex(&self) -> String {
        self.hash
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_piece(index: &Index) -> String {
        serde_json::to_string_pretty(index).unwrap() + "\n"
    }

    fn streamed(index: &Index) -> String {
        let mut out = Vec::new();
        write_canonical(index, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn streamed_bytes_equal_the_one_piece_serialization() {
        let demo: Index =
            serde_json::from_str(include_str!("../../fixtures/demo/index.json")).unwrap();
        assert!(demo.images.len() > 1);
        assert_eq!(streamed(&demo), one_piece(&demo));
        assert_eq!(
            streamed(&demo),
            include_str!("../../fixtures/demo/index.json")
        );
        // No images, and more images than one batch (strings with escapes and newlines).
        let empty = crate::index::empty();
        assert_eq!(streamed(&empty), one_piece(&empty));
        let mut big = demo.clone();
        let template = ImageEntry::clone(demo.images.values().next().unwrap());
        for i in 0..(2 * BATCH + 3) {
            let mut e = template.clone();
            e.code = format!("img-{i:05}");
            e.description = Some(format!("line one\nline \"two\"\t{i}\n"));
            big.images.insert(e.code.clone(), Arc::new(e));
        }
        assert_eq!(streamed(&big), one_piece(&big));
        assert_eq!(
            canonical_sha256(&big),
            crate::index::sha256_hex(one_piece(&big).as_bytes())
        );
    }

    #[test]
    fn atomic_write_reports_the_sha256_and_skips_identical_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.json");
        let demo: Index =
            serde_json::from_str(include_str!("../../fixtures/demo/index.json")).unwrap();
        let want = crate::index::sha256_hex(one_piece(&demo).as_bytes());
        let first = write_atomic(&p, &demo).unwrap();
        assert_eq!(
            first,
            Written {
                changed: true,
                sha256: want.clone()
            }
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), one_piece(&demo));
        let again = write_atomic(&p, &demo).unwrap();
        assert_eq!(
            again,
            Written {
                changed: false,
                sha256: want
            }
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temp file left: {names:?}");
        // Same length, other bytes: rewritten.
        let mut edited = one_piece(&demo).into_bytes();
        let at = edited.iter().position(|b| *b == b'1').unwrap();
        edited[at] = b'2';
        std::fs::write(&p, &edited).unwrap();
        assert!(write_atomic(&p, &demo).unwrap().changed);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), one_piece(&demo));
    }
}
