//! The YAML text editor of `berth mark`: one `versions:` entry changed in place.
//!
//! Input: the listing text, the version, the action and reason. Output: [`Edit`] — the new
//! text (or the same text when the entry already says so), the `versions:` key used and the
//! resulting marks — or an [`EditError`] for a layout it cannot edit safely.
//!
//! Invariants:
//! - Only the bytes of that one entry change (or the lines added for it): every other comment,
//!   blank line, quoting style and key order stays byte-for-byte. The edit is plain text
//!   surgery guided by the positions serde-saphyr reports for each entry ([`Sp`]) and by
//!   indentation, because no YAML library round-trips comments.
//! - Before the text is returned it is parsed again and must read back as exactly the old
//!   listing with the intended mark; otherwise [`EditError::Verify`] (nothing is written).
//! - Layouts the line scanner cannot edit safely (a non-empty flow-style `versions: {…}`,
//!   anchors, tags) are refused with a message, never guessed at.

use std::collections::BTreeMap;

use semver::Version;

use crate::catalogue::load::parse_yaml;
use crate::catalogue::mark::scan::{
    body, ending, flow_end, indent, is_blank, is_comment, is_content, parse_key, quote,
    split_comment,
};
use crate::catalogue::mark::{Action, EditError, Mark, merge};
use crate::model::span::Sp;
use crate::model::{Listing, QaStatus, VersionMark};

/// Result of [`edit_text`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// The new file text (equal to the input when nothing changed).
    pub text: String,
    /// The `versions:` key used (an existing key equal as semver, else the canonical version).
    pub key: String,
    pub mark: Mark,
    pub changed: bool,
}

/// Apply `action` for `version` to listing text, keeping everything else byte-for-byte.
pub fn edit_text(
    text: &str,
    version: &Version,
    action: Action,
    reason: Option<&str>,
) -> Result<Edit, EditError> {
    let listing: Listing = parse_yaml(text).map_err(EditError::Parse)?;
    let existing_key = listing
        .versions
        .keys()
        .find(|k| Version::parse(k).is_ok_and(|v| &v == version))
        .map(|k| k.value.clone());
    let old = existing_key
        .as_ref()
        .map(|k| Mark::from(&listing.versions[k].value));
    let new = merge(old.as_ref(), action, reason);
    let key = existing_key.unwrap_or_else(|| version.to_string());
    if old.as_ref() == Some(&new) {
        return Ok(Edit {
            text: text.to_string(),
            key,
            mark: new,
            changed: false,
        });
    }
    let new_text = Editor::new(text).apply(&listing, &key, old.as_ref(), &new)?;
    verify(&listing, &new_text, &key, &new)?;
    Ok(Edit {
        text: new_text,
        key,
        mark: new,
        changed: true,
    })
}

/// The edited text must parse to the old listing with exactly the new mark for `key`.
fn verify(old: &Listing, new_text: &str, key: &str, mark: &Mark) -> Result<(), EditError> {
    let reparsed: Listing = parse_yaml(new_text)
        .map_err(|e| EditError::Verify(format!("parse error at {}: {}", e.pos, e.message)))?;
    let got = reparsed.versions.get(key).map(|m| Mark::from(&m.value));
    if got.as_ref() != Some(mark) {
        return Err(EditError::Verify(format!(
            "version {key} reads back as {got:?}, expected {mark:?}"
        )));
    }
    let mut expected = old.clone();
    expected
        .versions
        .insert(Sp::bare(key.to_string()), Sp::bare(VersionMark::from(mark)));
    let a = serde_json::to_value(&expected).map_err(|e| EditError::Verify(e.to_string()))?;
    let b = serde_json::to_value(&reparsed).map_err(|e| EditError::Verify(e.to_string()))?;
    if a != b {
        return Err(EditError::Verify(
            "other parts of the listing changed".to_string(),
        ));
    }
    Ok(())
}

fn qa_str(q: QaStatus) -> &'static str {
    match q {
        QaStatus::Passed => "passed",
        QaStatus::Failed => "failed",
    }
}

/// `{ qa: failed, reason: "…", delisted: true }` (fields that are set, in this order).
fn render_flow(m: &Mark) -> String {
    let mut parts = Vec::new();
    if let Some(q) = m.qa {
        parts.push(format!("qa: {}", qa_str(q)));
    }
    if let Some(r) = &m.reason {
        parts.push(format!("reason: {}", quote(r)));
    }
    if m.delisted {
        parts.push("delisted: true".to_string());
    }
    if parts.is_empty() {
        "{}".to_string()
    } else {
        format!("{{ {} }}", parts.join(", "))
    }
}

/// How the value of one `versions:` entry is written.
#[derive(Clone, Debug)]
enum EntryValue {
    /// `{ … }` from (line, byte col) to (line, byte offset after `}`).
    Flow {
        line: usize,
        col: usize,
        end_line: usize,
        end_col: usize,
    },
    /// Nested `key: value` lines.
    Block,
}

#[derive(Clone, Debug)]
struct Entry {
    key: String,
    /// Line of the key.
    start: usize,
    /// Last line that belongs to the entry.
    end: usize,
    value: EntryValue,
}

/// One field line of a block-style entry.
#[derive(Clone, Debug)]
struct Field {
    key: String,
    start: usize,
    end: usize,
}

/// Pending replacement of lines `start..end` (exclusive) by `lines`.
struct Splice {
    start: usize,
    end: usize,
    lines: Vec<String>,
}

struct Editor {
    lines: Vec<String>,
    eol: String,
}

impl Editor {
    fn new(text: &str) -> Self {
        let lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
        let eol = match lines.first() {
            Some(l) if l.ends_with("\r\n") => "\r\n",
            _ => "\n",
        }
        .to_string();
        Editor { lines, eol }
    }

    fn layout(&self, msg: impl Into<String>) -> EditError {
        EditError::Layout(msg.into())
    }

    fn apply(
        mut self,
        listing: &Listing,
        key: &str,
        old: Option<&Mark>,
        new: &Mark,
    ) -> Result<String, EditError> {
        let top = self.top_indent();
        let versions_line = self.top_level_key(top, "versions");
        let splices = match versions_line {
            None => self.append_versions(top, key, new),
            Some(vi) => self.edit_versions(listing, top, vi, key, old, new)?,
        };
        let mut splices = splices;
        splices.sort_by_key(|s| std::cmp::Reverse(s.start));
        for s in splices {
            self.lines.splice(s.start..s.end, s.lines);
        }
        Ok(self.lines.concat())
    }

    /// Indentation of the top-level mapping (0 unless the whole document is indented).
    fn top_indent(&self) -> usize {
        self.lines
            .iter()
            .find(|l| {
                let b = body(l).trim_start();
                is_content(l)
                    && !b.starts_with("---")
                    && !b.starts_with("...")
                    && !b.starts_with('%')
            })
            .map(|l| indent(l))
            .unwrap_or(0)
    }

    fn top_level_key(&self, top: usize, name: &str) -> Option<usize> {
        self.lines.iter().position(|l| {
            is_content(l)
                && indent(l) == top
                && parse_key(&body(l)[top..]).is_some_and(|(k, _)| k == name)
        })
    }

    fn entry_line(&self, indent_n: usize, key: &str, mark: &Mark) -> String {
        format!(
            "{}{}: {}{}",
            " ".repeat(indent_n),
            quote(key),
            render_flow(mark),
            self.eol
        )
    }

    /// No `versions:` yet: add the block at the end of the file.
    fn append_versions(&self, top: usize, key: &str, new: &Mark) -> Vec<Splice> {
        let n = self.lines.len();
        let mut lines = Vec::new();
        let mut start = n;
        if let Some(last) = self.lines.last()
            && ending(last).is_empty()
        {
            // The last line has no line ending: give it one before appending.
            lines.push(format!("{last}{}", self.eol));
            start = n - 1;
        }
        lines.push(format!("{}versions:{}", " ".repeat(top), self.eol));
        lines.push(self.entry_line(top + 2, key, new));
        vec![Splice {
            start,
            end: n,
            lines,
        }]
    }

    fn edit_versions(
        &self,
        listing: &Listing,
        top: usize,
        vi: usize,
        key: &str,
        old: Option<&Mark>,
        new: &Mark,
    ) -> Result<Vec<Splice>, EditError> {
        let vline = &self.lines[vi];
        let b = body(vline);
        let (_, after_colon) = parse_key(&b[top..]).expect("found as a key");
        let after_colon = top + after_colon;
        let (value, _) = split_comment(&b[after_colon..]);
        let value_trim = value.trim();
        if value_trim.starts_with('{') {
            let col = after_colon + (value.len() - value.trim_start().len());
            let lines = &self.lines;
            let (end_line, end_col) = flow_end(lines, vi, col)
                .ok_or_else(|| self.layout("unterminated `versions: {`"))?;
            let inner = &b[col + 1..if end_line == vi { end_col - 1 } else { b.len() }];
            if end_line != vi || !inner.trim().is_empty() {
                return Err(self.layout(format!(
                    "line {}: `versions:` is a flow mapping; berth mark edits one entry per line \
                     (rewrite it as `versions:` followed by indented `\"1.0.0\": {{ … }}` lines)",
                    vi + 1
                )));
            }
            // `versions: {}` becomes `versions:` (keeping a trailing comment) plus the entry.
            let rest = &b[end_col..];
            let rest = if rest.trim().is_empty() { "" } else { rest };
            let head = b[..after_colon].to_string();
            return Ok(vec![Splice {
                start: vi,
                end: vi + 1,
                lines: vec![
                    format!("{head}{rest}{}", ending(vline)),
                    self.entry_line(top + 2, key, new),
                ],
            }]);
        }
        if !value_trim.is_empty() {
            return Err(self.layout(format!(
                "line {}: `versions:` has an unexpected value `{value_trim}` (anchors, tags and \
                 aliases are not supported here)",
                vi + 1
            )));
        }
        let entries = self.entries(top, vi)?;
        self.check_entries(listing, &entries)?;
        match entries.iter().find(|e| e.key == key) {
            Some(e) => self.edit_entry(e, old.unwrap_or(&Mark::default()), new),
            None => Ok(vec![self.insert_entry(&entries, key, new)]),
        }
    }

    /// Scan the block mapping under `versions:` (line `vi`) into entries.
    fn entries(&self, top: usize, vi: usize) -> Result<Vec<Entry>, EditError> {
        let block_end = (vi + 1..self.lines.len())
            .find(|&i| is_content(&self.lines[i]) && indent(&self.lines[i]) <= top)
            .unwrap_or(self.lines.len());
        let Some(first) = (vi + 1..block_end).find(|&i| is_content(&self.lines[i])) else {
            return Err(self.layout(format!("line {}: `versions:` has no entries", vi + 1)));
        };
        let ei = indent(&self.lines[first]);
        let mut entries: Vec<Entry> = Vec::new();
        let mut i = first;
        while i < block_end {
            let l = &self.lines[i];
            if !is_content(l) || indent(l) > ei {
                i += 1;
                continue;
            }
            if indent(l) < ei {
                return Err(self.layout(format!(
                    "line {}: unexpected indentation under `versions:`",
                    i + 1
                )));
            }
            let b = body(l);
            let (key, after) = parse_key(&b[ei..]).ok_or_else(|| {
                self.layout(format!(
                    "line {}: cannot read this `versions:` entry key",
                    i + 1
                ))
            })?;
            let after = ei + after;
            let (value, _) = split_comment(&b[after..]);
            let value_start = after + (value.len() - value.trim_start().len());
            let (entry_value, scan_from) = if value.trim().starts_with('{') {
                let (end_line, end_col) = flow_end(&self.lines, i, value_start)
                    .ok_or_else(|| self.layout(format!("line {}: unterminated `{{`", i + 1)))?;
                (
                    EntryValue::Flow {
                        line: i,
                        col: value_start,
                        end_line,
                        end_col,
                    },
                    end_line + 1,
                )
            } else if value.trim().is_empty() {
                // The value is on the following lines: a block mapping, or a flow mapping
                // written on its own line.
                match (i + 1..block_end).find(|&j| is_content(&self.lines[j])) {
                    Some(j)
                        if indent(&self.lines[j]) > ei
                            && body(&self.lines[j]).trim_start().starts_with('{') =>
                    {
                        let col = indent(&self.lines[j]);
                        let (end_line, end_col) =
                            flow_end(&self.lines, j, col).ok_or_else(|| {
                                self.layout(format!("line {}: unterminated `{{`", j + 1))
                            })?;
                        (
                            EntryValue::Flow {
                                line: j,
                                col,
                                end_line,
                                end_col,
                            },
                            end_line + 1,
                        )
                    }
                    _ => (EntryValue::Block, i + 1),
                }
            } else {
                return Err(self.layout(format!(
                    "line {}: unexpected value `{}` for version {key}",
                    i + 1,
                    value.trim()
                )));
            };
            // The entry runs to the next line at the entry indentation; trailing blank lines
            // and shallower comments belong to what follows.
            let next = (scan_from..block_end)
                .find(|&j| is_content(&self.lines[j]) && indent(&self.lines[j]) <= ei)
                .unwrap_or(block_end);
            let end = (i..next)
                .rev()
                .find(|&j| {
                    let l = &self.lines[j];
                    j < scan_from || (!is_blank(l) && (is_content(l) || indent(l) > ei))
                })
                .unwrap_or(i);
            entries.push(Entry {
                key,
                start: i,
                end,
                value: entry_value,
            });
            i = next;
        }
        Ok(entries)
    }

    /// The scan must agree with the parser: same keys, each value inside its entry's lines.
    fn check_entries(&self, listing: &Listing, entries: &[Entry]) -> Result<(), EditError> {
        let mut seen = BTreeMap::new();
        for e in entries {
            let Some(m) = listing.versions.get(&e.key) else {
                return Err(self.layout(format!(
                    "line {}: could not match version `{}` with the parsed listing",
                    e.start + 1,
                    e.key
                )));
            };
            let line = m.pos.line as usize;
            if line < e.start + 1 || line > e.end + 1 {
                return Err(self.layout(format!(
                    "line {}: the entry for `{}` is laid out in a way berth mark cannot follow",
                    e.start + 1,
                    e.key
                )));
            }
            seen.insert(e.key.clone(), ());
        }
        if seen.len() != listing.versions.len() {
            return Err(self.layout("could not find every `versions:` entry in the text"));
        }
        Ok(())
    }

    /// A new entry goes where it keeps a sorted list sorted (either direction), else last.
    fn insert_entry(&self, entries: &[Entry], key: &str, new: &Mark) -> Splice {
        let ei = indent(&self.lines[entries[0].start]);
        let versions: Option<Vec<Version>> = entries
            .iter()
            .map(|e| Version::parse(&e.key).ok())
            .collect();
        let me = Version::parse(key).ok();
        let pos = match (versions, me) {
            (Some(vs), Some(me)) if vs.len() >= 2 => {
                if vs.windows(2).all(|w| w[0] > w[1]) {
                    vs.iter().position(|v| *v < me).unwrap_or(vs.len())
                } else if vs.windows(2).all(|w| w[0] < w[1]) {
                    vs.iter().position(|v| *v > me).unwrap_or(vs.len())
                } else {
                    vs.len()
                }
            }
            _ => entries.len(),
        };
        let at = if pos == 0 {
            entries[0].start
        } else {
            entries[pos - 1].end + 1
        };
        Splice {
            start: at,
            end: at,
            lines: vec![self.entry_line(ei, key, new)],
        }
    }

    fn edit_entry(&self, e: &Entry, old: &Mark, new: &Mark) -> Result<Vec<Splice>, EditError> {
        match e.value {
            EntryValue::Flow {
                line,
                col,
                end_line,
                end_col,
            } => {
                let first = body(&self.lines[line]);
                let last_line = &self.lines[end_line];
                let text = format!(
                    "{}{}{}{}",
                    &first[..col],
                    render_flow(new),
                    &body(last_line)[end_col..],
                    ending(last_line)
                );
                Ok(vec![Splice {
                    start: line,
                    end: end_line + 1,
                    lines: vec![text],
                }])
            }
            EntryValue::Block => self.edit_block_entry(e, old, new),
        }
    }

    /// Edit the fields of a block-style entry one by one, leaving untouched fields (and their
    /// comments) alone.
    fn edit_block_entry(
        &self,
        e: &Entry,
        old: &Mark,
        new: &Mark,
    ) -> Result<Vec<Splice>, EditError> {
        let fields = self.fields(e)?;
        let fi = indent(&self.lines[fields[0].start]);
        let find = |k: &str| fields.iter().find(|f| f.key == k);
        let mut splices = Vec::new();
        let mut inserts = Vec::new();
        let mut change = |name: &str, value: Option<String>| -> Result<(), EditError> {
            match (find(name), value) {
                (Some(f), Some(v)) => {
                    let b = body(&self.lines[f.start]);
                    let (_, after) = parse_key(&b[fi..]).expect("scanned as a key");
                    // Keep a trailing comment when the old value was on one line.
                    let comment = if f.end == f.start {
                        split_comment(&b[fi + after..]).1
                    } else {
                        ""
                    };
                    splices.push(Splice {
                        start: f.start,
                        end: f.end + 1,
                        lines: vec![format!(
                            "{}: {v}{comment}{}",
                            &b[..fi + after - 1],
                            ending(&self.lines[f.end])
                        )],
                    });
                }
                (None, Some(v)) => {
                    inserts.push(format!("{}{name}: {v}{}", " ".repeat(fi), self.eol));
                }
                (Some(f), None) => splices.push(Splice {
                    start: f.start,
                    end: f.end + 1,
                    lines: Vec::new(),
                }),
                (None, None) => {
                    return Err(self.layout(format!(
                        "line {}: cannot find `{name}` to remove",
                        e.start + 1
                    )));
                }
            }
            Ok(())
        };
        if old.qa != new.qa {
            change("qa", new.qa.map(|q| qa_str(q).to_string()))?;
        }
        if old.reason != new.reason {
            change("reason", new.reason.as_deref().map(quote))?;
        }
        if old.delisted != new.delisted {
            change("delisted", Some(new.delisted.to_string()))?;
        }
        if !inserts.is_empty() {
            let at = fields.iter().map(|f| f.end).max().unwrap_or(e.start) + 1;
            splices.push(Splice {
                start: at,
                end: at,
                lines: inserts,
            });
        }
        Ok(splices)
    }

    /// The `key: value` lines of a block entry, each with the lines its value spans.
    fn fields(&self, e: &Entry) -> Result<Vec<Field>, EditError> {
        let Some(first) = (e.start + 1..=e.end).find(|&i| is_content(&self.lines[i])) else {
            return Err(self.layout(format!("line {}: empty entry", e.start + 1)));
        };
        let fi = indent(&self.lines[first]);
        let starts: Vec<usize> = (first..=e.end)
            .filter(|&i| is_content(&self.lines[i]) && indent(&self.lines[i]) == fi)
            .collect();
        let mut fields = Vec::new();
        for (n, &s) in starts.iter().enumerate() {
            let b = body(&self.lines[s]);
            let (key, after) = parse_key(&b[fi..])
                .ok_or_else(|| self.layout(format!("line {}: cannot read this field", s + 1)))?;
            let value = split_comment(&b[fi + after..]).0.trim();
            let block_scalar = value.starts_with('|') || value.starts_with('>');
            let limit = starts.get(n + 1).map(|&x| x - 1).unwrap_or(e.end);
            // A block scalar owns every deeper line (even `#` ones); other values end at
            // their last deeper non-comment line.
            let end = (s..=limit)
                .rev()
                .find(|&j| {
                    let l = &self.lines[j];
                    j == s || (indent(l) > fi && !is_blank(l) && (block_scalar || !is_comment(l)))
                })
                .unwrap_or(s);
            fields.push(Field { key, start: s, end });
        }
        Ok(fields)
    }
}
