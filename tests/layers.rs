//! The architecture, held by a test: src/ reads as the pipeline, and a module imports only
//! modules below it. The rules, checked on every file under src/:
//!
//! 1. **Layers.** The layers are the rows of the table in src/lib.rs's doc, top row first (one
//!    row, one layer; the modules of a row are its `` [`name`] `` links); every `pub mod` of
//!    lib.rs is in exactly one row. A module may name itself and modules of lower layers only:
//!    naming a module of a higher layer, or another module of its own layer, fails. "Naming"
//!    is a path to a top-level module in code or in `use`: `crate::X`, `$crate::X`, groups
//!    (`crate::{X::a, Y}`) and `super::` chains that reach the crate root. Comments (doc
//!    comments included), string and char literals and `#[cfg(test)]` modules (inline
//!    `mod tests { … }` blocks, and files declared by `#[cfg(test)] mod NAME;`) do not count.
//!    `main.rs` names only `berth::cli`.
//! 2. **No cycles** between top-level modules (checked on every import, allowed ones too).
//! 3. **Folders are documented:** every folder under src/ has a `mod.rs` whose first line is a
//!    `//!` doc comment.
//! 4. **Files stay short:** no file under src/ is longer than 700 lines (all lines, tests
//!    included) unless its header (the leading `//!` lines) says why, with a line containing
//!    the marker `Longer than 700 lines:` followed by the reason, e.g.
//!    `//! Longer than 700 lines: one table of 300 cases.`
//!
//! Known breaches are listed in [`IMPORT_ALLOW`] and [`SIZE_ALLOW`], each with its issue. The
//! lists only shrink: an entry that no longer matches a breach fails the test too, so the fix
//! that removes a breach also removes its entry. Never add an entry: fix the import, or split
//! the file (or give it the marker with a real reason).
//!
//! The scanner is a small tokenizer (no parser dependency); the synthetic-tree tests below
//! hold its behaviour.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files longer than [`MAX_LINES`] without the marker, being split under issue 8. Each entry:
/// (path under src/, why it is here). Remove an entry when its file is split.
const SIZE_ALLOW: &[(&str, &str)] = &[];

/// Known layer breaches: (file under src/, module it names, why it is here). Empty: today's
/// tree has none. Never add an entry.
const IMPORT_ALLOW: &[(&str, &str, &str)] = &[];

const MAX_LINES: usize = 700;
const SIZE_MARKER: &str = "Longer than 700 lines:";

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn modules_import_only_downwards_without_cycles_and_folders_and_files_are_in_shape() {
    let problems = check(&src_dir(), IMPORT_ALLOW, SIZE_ALLOW);
    assert!(
        problems.is_empty(),
        "src/ breaks the architecture rules of tests/layers.rs ({} problem(s)):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// Every breach of the rules in `src`, as `path:line:col: message` lines, sorted.
fn check(
    src: &Path,
    import_allow: &[(&str, &str, &str)],
    size_allow: &[(&str, &str)],
) -> Vec<String> {
    let mut problems = Vec::new();
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let layers = match layer_table(&lib) {
        Ok(l) => l,
        Err(e) => return vec![format!("src/lib.rs: {e}")],
    };
    let rank: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, row)| row.iter().map(move |m| (m.as_str(), i)))
        .collect();
    let declared = declared_modules(&lib);
    for m in &declared {
        if !rank.contains_key(m.as_str()) {
            problems.push(format!(
                "src/lib.rs: module `{m}` is in no row of the layer table in src/lib.rs's doc; \
                 add it to the row of its layer"
            ));
        }
    }
    for m in rank.keys() {
        if !declared.contains(*m) {
            problems.push(format!(
                "src/lib.rs: the layer table names `{m}`, which lib.rs does not declare (`pub mod {m};`)"
            ));
        }
    }
    let layer_name = |i: usize| format!("layer {} [{}]", i + 1, layers[i].join(", "));

    let files = rust_files(src);
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    let mut scanned: Vec<(PathBuf, String, Scan)> = Vec::new();
    for rel in &files {
        let text = std::fs::read_to_string(src.join(rel)).unwrap();
        let scan = scan(&text, rel);
        test_only.extend(scan.test_only_files.iter().cloned());
        scanned.push((rel.clone(), text, scan));
    }

    // Rule 1 and the graph for rule 2.
    let mut edges: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut allow_used: BTreeSet<(String, String)> = BTreeSet::new();
    for (rel, text, scan) in &scanned {
        if test_only.iter().any(|t| rel.starts_with(t)) {
            continue;
        }
        let shown = format!("src/{}", rel.display());
        let lines: Vec<&str> = text.lines().collect();
        let line_of = |r: &Ref| lines.get(r.line - 1).map(|l| l.trim()).unwrap_or("");
        if rel == Path::new("main.rs") {
            for r in scan.refs.iter().filter(|r| r.root == "berth") {
                if r.module != "cli" {
                    problems.push(format!(
                        "{shown}:{}:{}: `berth::{}` ({}): main.rs names only `berth::cli` (it sets up \
                         logging and calls cli::run)",
                        r.line,
                        r.col,
                        r.module,
                        line_of(r)
                    ));
                }
            }
            continue;
        }
        if rel == Path::new("lib.rs") {
            continue;
        }
        let from = top_module(rel);
        let Some(&from_rank) = rank.get(from.as_str()) else {
            continue; // reported above as missing from the table
        };
        for r in scan.refs.iter().filter(|r| r.root == "crate") {
            if r.module == from {
                continue;
            }
            if r.module == "*" {
                problems.push(format!(
                    "{shown}:{}:{}: `crate::*` ({}): a glob of the crate root names every module, \
                     upper layers included; name the modules below `{from}` one by one",
                    r.line,
                    r.col,
                    line_of(r)
                ));
                continue;
            }
            let Some(&to_rank) = rank.get(r.module.as_str()) else {
                continue; // an item of the crate root, not a module
            };
            edges
                .entry((from.clone(), r.module.clone()))
                .or_insert_with(|| format!("{shown}:{}", r.line));
            if to_rank > from_rank {
                continue;
            }
            let key = (rel.to_string_lossy().into_owned(), r.module.clone());
            if import_allow
                .iter()
                .any(|(f, m, _)| (*f, *m) == (key.0.as_str(), key.1.as_str()))
            {
                allow_used.insert(key);
                continue;
            }
            let why = if to_rank == from_rank {
                format!(
                    "`{}` is in the same layer as `{from}` ({}); modules of one layer do not import \
                     each other",
                    r.module,
                    layer_name(from_rank)
                )
            } else {
                format!(
                    "`{}` ({}) is above `{from}` ({}); a module imports only modules below it",
                    r.module,
                    layer_name(to_rank),
                    layer_name(from_rank)
                )
            };
            problems.push(format!(
                "{shown}:{}:{}: `{from}` imports `crate::{}` ({}): {why} (layers: the table in \
                 src/lib.rs's doc)",
                r.line,
                r.col,
                r.module,
                line_of(r)
            ));
        }
    }
    for (f, m, why) in import_allow {
        if !allow_used.contains(&(f.to_string(), m.to_string())) {
            problems.push(format!(
                "tests/layers.rs: IMPORT_ALLOW entry (\"{f}\", \"{m}\", \"{why}\") matches no breach \
                 any more; remove it (the list only shrinks)"
            ));
        }
    }

    // Rule 2.
    for cycle in cycles(&edges) {
        let mut text = String::new();
        for w in cycle.windows(2) {
            let at = &edges[&(w[0].clone(), w[1].clone())];
            text.push_str(&format!("\n    {} -> {} (e.g. {at})", w[0], w[1]));
        }
        problems.push(format!(
            "src/: a cycle between top-level modules {}; modules import only downwards:{text}",
            cycle.join(" -> ")
        ));
    }

    // Rule 3.
    for dir in dirs(src) {
        let shown = format!("src/{}/mod.rs", dir.display());
        match std::fs::read_to_string(src.join(&dir).join("mod.rs")) {
            Err(_) => problems.push(format!(
                "{shown}: missing; every folder under src/ has a mod.rs starting with a `//!` doc"
            )),
            Ok(t) if !t.starts_with("//!") => problems.push(format!(
                "{shown}:1:1: does not start with a `//!` doc saying what the folder does"
            )),
            Ok(_) => {}
        }
    }

    // Rule 4.
    let mut size_used = BTreeSet::new();
    for (rel, text, _) in &scanned {
        let n = text.lines().count();
        let key = rel.to_string_lossy().into_owned();
        if n <= MAX_LINES || has_size_marker(text) {
            continue;
        }
        if size_allow.iter().any(|(f, _)| *f == key) {
            size_used.insert(key);
            continue;
        }
        problems.push(format!(
            "src/{key}: {n} lines, over {MAX_LINES}; split it, or say why in its header with a \
             `//!` line containing `{SIZE_MARKER} <reason>`"
        ));
    }
    for (f, why) in size_allow {
        if !size_used.contains(*f) {
            problems.push(format!(
                "tests/layers.rs: SIZE_ALLOW entry (\"{f}\", \"{why}\") matches no file over \
                 {MAX_LINES} lines any more; remove it (the list only shrinks)"
            ));
        }
    }

    problems.sort();
    problems
}

/// The rows of the first markdown table in `lib`'s `//!` doc: one layer per row, top first;
/// the modules of a row are its `` [`name`] `` links.
fn layer_table(lib: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut seen_table = false;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            if seen_table {
                break;
            }
            continue;
        };
        let doc = doc.trim();
        if !doc.starts_with('|') {
            if seen_table {
                break;
            }
            continue;
        }
        if !seen_table {
            seen_table = true; // the header row
            continue;
        }
        if doc.starts_with("|-") || doc.starts_with("| -") {
            continue;
        }
        let cells: Vec<&str> = doc.split('|').collect();
        let Some(cell) = cells.get(2) else {
            return Err(format!("layer table row without a modules cell: `{doc}`"));
        };
        let modules: Vec<String> = cell
            .split("[`")
            .skip(1)
            .filter_map(|s| s.split_once("`]").map(|(m, _)| m.to_string()))
            .collect();
        if modules.is_empty() {
            return Err(format!("layer table row names no [`module`]: `{doc}`"));
        }
        rows.push(modules);
    }
    if rows.len() < 2 {
        return Err(
            "no layer table (| layer | modules | does |) in the `//!` doc; the layers are its rows"
                .into(),
        );
    }
    Ok(rows)
}

/// The `mod NAME;` declarations of lib.rs.
fn declared_modules(lib: &str) -> BTreeSet<String> {
    let toks = tokenize(lib);
    let mut out = BTreeSet::new();
    for (i, t) in toks.iter().enumerate() {
        if t.is("mod") && toks.get(i + 2).is_some_and(|s| s.is(";")) {
            out.insert(toks[i + 1].text.clone());
        }
    }
    out
}

/// The top-level module of a file under src/: its first path component, without `.rs`.
fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.strip_suffix(".rs").unwrap_or(&first).to_string()
}

fn rust_files(src: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(src, src, &mut |rel, is_dir| {
        if !is_dir && rel.extension().is_some_and(|e| e == "rs") {
            out.push(rel.to_path_buf());
        }
    });
    out.sort();
    out
}

fn dirs(src: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(src, src, &mut |rel, is_dir| {
        if is_dir {
            out.push(rel.to_path_buf());
        }
    });
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, f: &mut dyn FnMut(&Path, bool)) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let path = e.path();
        let rel = path.strip_prefix(root).unwrap();
        let is_dir = e.file_type().unwrap().is_dir();
        f(rel, is_dir);
        if is_dir {
            walk(root, &path, f);
        }
    }
}

fn has_size_marker(text: &str) -> bool {
    text.lines().take_while(|l| l.starts_with("//!")).any(|l| {
        l.find(SIZE_MARKER)
            .is_some_and(|i| !l[i + SIZE_MARKER.len()..].trim().is_empty())
    })
}

/// Every cycle in the module graph, each as a closed path `a -> … -> a` starting at its
/// smallest module, one per strongly connected component.
fn cycles(edges: &BTreeMap<(String, String), String>) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        next.entry(a).or_default().push(b);
    }
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for n in next.get(m.as_str()).into_iter().flatten() {
                if seen.insert(n.to_string()) {
                    todo.push(n.to_string());
                }
            }
        }
        seen
    };
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for &start in next.keys() {
        if done.contains(start) || !reach(start).contains(start) {
            continue;
        }
        // The component: modules reachable from `start` that reach it back.
        let comp: BTreeSet<String> = reach(start)
            .into_iter()
            .filter(|m| reach(m).contains(start))
            .collect();
        done.extend(comp.iter().cloned());
        // A shortest path start -> … -> start inside the component (breadth first).
        let mut prev: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.to_string()]);
        'bfs: while let Some(m) = queue.pop_front() {
            for n in next.get(m.as_str()).into_iter().flatten() {
                if *n == start {
                    prev.insert(start.to_string(), m.clone());
                    break 'bfs;
                }
                if comp.contains(*n) && !prev.contains_key(*n) {
                    prev.insert(n.to_string(), m.clone());
                    queue.push_back(n.to_string());
                }
            }
        }
        let mut path = vec![start.to_string()];
        let mut at = prev[start].clone();
        while at != start {
            path.push(at.clone());
            at = prev[&at].clone();
        }
        path.push(start.to_string());
        path.reverse();
        out.push(path);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The scanner.

#[derive(Clone, Debug)]
struct Tok {
    text: String,
    line: usize,
    col: usize,
}

impl Tok {
    fn is(&self, s: &str) -> bool {
        self.text == s
    }
    fn is_ident(&self) -> bool {
        self.text
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
    }
}

/// A path naming a top-level module: `root` is `crate` (also for `$crate` and `super` chains
/// reaching the root) or `berth` (main.rs); `module` is the name after it (`*` for a glob).
#[derive(Debug, PartialEq)]
struct Ref {
    root: String,
    module: String,
    line: usize,
    col: usize,
}

struct Scan {
    refs: Vec<Ref>,
    /// Files (or folders) declared by `#[cfg(test)] mod NAME;`, relative to src/.
    test_only_files: Vec<PathBuf>,
}

/// Identifiers, `::` and single punctuation characters, with 1-based line and column; comments,
/// string, byte-string, raw-string and char literals and lifetimes are skipped.
fn tokenize(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut col) = (0, 1, 1);
    let mut out = Vec::new();
    // Advance over `n` chars, keeping line and column.
    let step = |i: &mut usize, line: &mut usize, col: &mut usize, n: usize| {
        for _ in 0..n {
            if *i < c.len() {
                if c[*i] == '\n' {
                    *line += 1;
                    *col = 1;
                } else {
                    *col += 1;
                }
                *i += 1;
            }
        }
    };
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, ch)| c.get(i + k) == Some(&ch))
    };
    let ident_char = |ch: char| ch.is_alphanumeric() || ch == '_';
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            step(&mut i, &mut line, &mut col, 1);
        } else if at(i, "//") {
            while i < c.len() && c[i] != '\n' {
                step(&mut i, &mut line, &mut col, 1);
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            while i < c.len() {
                if at(i, "/*") {
                    depth += 1;
                    step(&mut i, &mut line, &mut col, 2);
                } else if at(i, "*/") {
                    depth -= 1;
                    step(&mut i, &mut line, &mut col, 2);
                    if depth == 0 {
                        break;
                    }
                } else {
                    step(&mut i, &mut line, &mut col, 1);
                }
            }
        } else if ch == '"' {
            step(&mut i, &mut line, &mut col, 1);
            while i < c.len() && c[i] != '"' {
                let n = if c[i] == '\\' { 2 } else { 1 };
                step(&mut i, &mut line, &mut col, n);
            }
            step(&mut i, &mut line, &mut col, 1);
        } else if ch == '\'' {
            if c.get(i + 1) == Some(&'\\') {
                // An escaped char literal: '\n', '\'', '\u{..}'.
                step(&mut i, &mut line, &mut col, 2);
                step(&mut i, &mut line, &mut col, 1);
                while i < c.len() && c[i] != '\'' {
                    step(&mut i, &mut line, &mut col, 1);
                }
                step(&mut i, &mut line, &mut col, 1);
            } else if c.get(i + 2) == Some(&'\'') {
                step(&mut i, &mut line, &mut col, 3); // 'x'
            } else {
                // A lifetime or label.
                step(&mut i, &mut line, &mut col, 1);
                while i < c.len() && ident_char(c[i]) {
                    step(&mut i, &mut line, &mut col, 1);
                }
            }
        } else if ident_char(ch) {
            // Literal prefixes: b'x', b"..", c"..", r"..", r#".."#, br.., cr.., and raw idents.
            let prefix: String = c[i..].iter().take(2).collect();
            let raw_at = match () {
                _ if ch == 'r' => Some(i + 1),
                _ if prefix == "br" || prefix == "cr" => Some(i + 2),
                _ => None,
            };
            if let Some(j) = raw_at.filter(|&j| {
                let hashes = c[j..].iter().take_while(|&&h| h == '#').count();
                c.get(j + hashes) == Some(&'"')
            }) {
                let hashes = c[j..].iter().take_while(|&&h| h == '#').count();
                let close: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let n = j - i + hashes + 1;
                step(&mut i, &mut line, &mut col, n);
                while i < c.len() && !at(i, &close) {
                    step(&mut i, &mut line, &mut col, 1);
                }
                step(&mut i, &mut line, &mut col, close.chars().count());
                continue;
            }
            if (ch == 'b' || ch == 'c') && matches!(c.get(i + 1), Some('"') | Some('\'')) {
                step(&mut i, &mut line, &mut col, 1); // the literal itself is read next round
                continue;
            }
            if ch == 'r'
                && c.get(i + 1) == Some(&'#')
                && c.get(i + 2).is_some_and(|&x| ident_char(x))
            {
                step(&mut i, &mut line, &mut col, 2); // r#ident: the ident is read next round
                continue;
            }
            let (l0, c0) = (line, col);
            let mut s = String::new();
            while i < c.len() && ident_char(c[i]) {
                s.push(c[i]);
                step(&mut i, &mut line, &mut col, 1);
            }
            out.push(Tok {
                text: s,
                line: l0,
                col: c0,
            });
        } else {
            let n = if at(i, "::") { 2 } else { 1 };
            out.push(Tok {
                text: c[i..i + n].iter().collect(),
                line,
                col,
            });
            step(&mut i, &mut line, &mut col, n);
        }
    }
    out
}

/// The index of the token closing the bracket opened at `open` (or the last token).
fn matching(toks: &[Tok], open: usize) -> usize {
    let (o, cl) = match toks[open].text.as_str() {
        "{" => ("{", "}"),
        "[" => ("[", "]"),
        _ => ("(", ")"),
    };
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if t.is(o) {
            depth += 1;
        } else if t.is(cl) {
            depth -= 1;
            if depth == 0 {
                return k;
            }
        }
    }
    toks.len() - 1
}

/// The references of one file (`rel`, relative to src/) to top-level modules.
fn scan(text: &str, rel: &Path) -> Scan {
    let mut toks = tokenize(text);
    let mut test_only_files = Vec::new();

    // Drop `#[cfg(test)]` modules.
    let children_dir = match rel.file_name().and_then(|f| f.to_str()) {
        Some("mod.rs" | "lib.rs" | "main.rs") => rel.parent().unwrap().to_path_buf(),
        _ => rel.with_extension(""),
    };
    let mut i = 0;
    while i + 7 <= toks.len() {
        let attr: Vec<&str> = toks[i..i + 7].iter().map(|t| t.text.as_str()).collect();
        if attr != ["#", "[", "cfg", "(", "test", ")", "]"] {
            i += 1;
            continue;
        }
        let mut j = i + 7;
        while j + 1 < toks.len() && toks[j].is("#") && toks[j + 1].is("[") {
            j = matching(&toks, j + 1) + 1;
        }
        if j < toks.len() && toks[j].is("pub") {
            j += 1;
            if j < toks.len() && toks[j].is("(") {
                j = matching(&toks, j) + 1;
            }
        }
        if j + 2 < toks.len() && toks[j].is("mod") {
            let name = toks[j + 1].text.clone();
            if toks[j + 2].is("{") {
                let end = matching(&toks, j + 2);
                toks.drain(i..=end);
                continue;
            }
            if toks[j + 2].is(";") {
                test_only_files.push(children_dir.join(format!("{name}.rs")));
                test_only_files.push(children_dir.join(&name));
                toks.drain(i..=j + 2);
                continue;
            }
        }
        i += 1;
    }

    // Module depth of the file: lib.rs 0, a/mod.rs and a.rs 1, a/b.rs and a/b/mod.rs 2, …
    let file_depth = children_dir.components().count();
    let mut refs = Vec::new();
    let mut braces = 0usize;
    let mut inline_mods: Vec<usize> = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        match t.text.as_str() {
            "{" => {
                braces += 1;
                if k >= 2 && toks[k - 2].is("mod") && toks[k - 1].is_ident() {
                    inline_mods.push(braces);
                }
            }
            "}" => {
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
                braces = braces.saturating_sub(1);
            }
            _ => {}
        }
        let after_sep = k > 0 && toks[k - 1].is("::");
        if after_sep || !toks.get(k + 1).is_some_and(|n| n.is("::")) {
            continue;
        }
        if t.is("crate") || (t.is("berth") && rel == Path::new("main.rs")) {
            tree(&toks, k + 2, &t.text, &mut refs);
        } else if t.is("super") {
            let mut n = 0;
            let mut j = k;
            while j + 1 < toks.len() && toks[j].is("super") && toks[j + 1].is("::") {
                n += 1;
                j += 2;
            }
            if n >= file_depth + inline_mods.len() {
                tree(&toks, j, "crate", &mut refs);
            }
        }
    }
    Scan {
        refs,
        test_only_files,
    }
}

/// The first segments of the path tree starting at `toks[k]` (after `root::`): one name, `*`,
/// or each item of a `{…}` group.
fn tree(toks: &[Tok], k: usize, root: &str, refs: &mut Vec<Ref>) {
    let Some(t) = toks.get(k) else { return };
    if t.is("{") {
        let end = matching(toks, k);
        let mut item_start = true;
        let mut depth = 0;
        for j in k + 1..end {
            let tj = &toks[j];
            if depth == 0 && item_start {
                tree(toks, j, root, refs);
                item_start = false;
            }
            match tj.text.as_str() {
                "{" => depth += 1,
                "}" => depth -= 1,
                "," if depth == 0 => item_start = true,
                _ => {}
            }
        }
    } else if t.is("*") || (t.is_ident() && !t.is("self")) {
        refs.push(Ref {
            root: root.to_string(),
            module: t.text.clone(),
            line: t.line,
            col: t.col,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The scanner and the rules on synthetic sources, so a silently blind scanner cannot pass.

fn refs_of(text: &str, rel: &str) -> Vec<(String, usize, usize)> {
    scan(text, Path::new(rel))
        .refs
        .into_iter()
        .map(|r| (r.module, r.line, r.col))
        .collect()
}

#[test]
fn scanner_counts_paths_in_use_and_code_and_skips_comments_literals_and_test_modules() {
    let src = r###"//! Doc naming crate::cli and [`crate::report`].
use crate::model::diag::Code;
use crate::{
    index::Index,
    registry::{self, Client},
    self as root,
};
/* a block /* nested crate::cli */ still comment crate::cli */
fn f<'a>(x: &'a str) -> char {
    let _ = "crate::cli in a string";
    let _ = r#"crate::cli in a raw " string"#;
    let _ = b"crate::cli";
    let q = '"';
    crate::policy::compile(x);
    let _ = crate
        ::lifecycle::run;
    macro_rules! m { () => { $crate::gitops::push() }; }
    q
}
#[cfg(test)]
mod tests {
    use crate::cli::run;
    fn g() { crate::report::x(); }
}
#[cfg(test)]
#[allow(dead_code)]
pub(crate) mod fake;
fn h() { super::verify::x(); super::super::catalogue::y(); }
"###;
    assert_eq!(
        refs_of(src, "promote/planner.rs"),
        vec![
            ("model".to_string(), 2, 12),
            ("index".to_string(), 4, 5),
            ("registry".to_string(), 5, 5),
            ("policy".to_string(), 14, 12),
            ("lifecycle".to_string(), 16, 11),
            ("gitops".to_string(), 17, 38),
            ("catalogue".to_string(), 28, 44),
        ]
    );
    // From a folder's mod.rs, one `super` already reaches the crate root.
    assert_eq!(
        refs_of("fn h() { super::verify::x(); }", "promote/mod.rs"),
        vec![("verify".to_string(), 1, 17)]
    );
    assert_eq!(
        scan(src, Path::new("promote/mod.rs")).test_only_files,
        vec![
            PathBuf::from("promote/fake.rs"),
            PathBuf::from("promote/fake")
        ]
    );
    assert_eq!(
        refs_of("use crate::*;", "verify/mod.rs"),
        vec![("*".to_string(), 1, 12)]
    );
}

/// A small tree laid out like src/, with the layer table of lib.rs.
fn tree_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let lib = "//! Layers:\n//!\n//! | layer | modules | does |\n//! |---|---|---|\n\
               //! | command | [`cli`] | parses |\n//! | stages | [`verify`], [`promote`] | work |\n\
               //! | model | [`model`] | types |\n\npub mod cli;\npub mod model;\npub mod promote;\npub mod verify;\n";
    std::fs::write(tmp.path().join("lib.rs"), lib).unwrap();
    for m in ["cli", "model", "promote", "verify"] {
        std::fs::create_dir_all(tmp.path().join(m)).unwrap();
        std::fs::write(tmp.path().join(m).join("mod.rs"), format!("//! {m}.\n")).unwrap();
    }
    for (path, text) in files {
        let p = tmp.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    tmp
}

#[test]
fn a_downward_tree_passes() {
    let t = tree_with(&[
        (
            "cli/mod.rs",
            "//! cli.\nuse crate::{promote, verify::Check};\n",
        ),
        ("verify/mod.rs", "//! verify.\nuse crate::model::X;\n"),
        ("main.rs", "fn main() { berth::cli::run(); }\n"),
    ]);
    assert_eq!(check(t.path(), &[], &[]), Vec::<String>::new());
}

#[test]
fn upward_same_layer_and_cycle_imports_fail_naming_file_line_import_and_rule() {
    let t = tree_with(&[
        ("model/mod.rs", "//! model.\n\nuse crate::cli::Args;\n"),
        (
            "verify/mod.rs",
            "//! verify.\npub fn v() {\n    crate::promote::p();\n}\n",
        ),
        ("cli/mod.rs", "//! cli.\nuse crate::model::M;\n"),
        ("main.rs", "fn main() { berth::model::x(); }\n"),
    ]);
    assert_eq!(
        check(t.path(), &[], &[]),
        vec![
            "src/: a cycle between top-level modules cli -> model -> cli; modules import only \
             downwards:\n    cli -> model (e.g. src/cli/mod.rs:2)\n    model -> cli (e.g. \
             src/model/mod.rs:3)",
            "src/main.rs:1:20: `berth::model` (fn main() { berth::model::x(); }): main.rs names \
             only `berth::cli` (it sets up logging and calls cli::run)",
            "src/model/mod.rs:3:12: `model` imports `crate::cli` (use crate::cli::Args;): `cli` \
             (layer 1 [cli]) is above `model` (layer 3 [model]); a module imports only modules \
             below it (layers: the table in src/lib.rs's doc)",
            "src/verify/mod.rs:3:12: `verify` imports `crate::promote` (crate::promote::p();): \
             `promote` is in the same layer as `verify` (layer 2 [verify, promote]); modules of \
             one layer do not import each other (layers: the table in src/lib.rs's doc)",
        ]
    );
}

#[test]
fn allow_lists_hide_only_listed_breaches_and_only_shrink() {
    let long = format!("//! long.\n{}", "// x\n".repeat(MAX_LINES));
    let t = tree_with(&[
        ("model/mod.rs", "//! model.\nuse crate::cli::Args;\n"),
        ("verify/big.rs", &long),
        ("promote/big.rs", &long),
        (
            "promote/marked.rs",
            &format!("//! marked.\n//! {SIZE_MARKER} a table.\n{long}"),
        ),
    ]);
    assert_eq!(
        check(
            t.path(),
            &[
                ("model/mod.rs", "cli", "test"),
                ("cli/mod.rs", "model", "test")
            ],
            &[("verify/big.rs", "test"), ("model/mod.rs", "test")],
        ),
        vec![
            "src/promote/big.rs: 701 lines, over 700; split it, or say why in its header with a \
             `//!` line containing `Longer than 700 lines: <reason>`",
            "tests/layers.rs: IMPORT_ALLOW entry (\"cli/mod.rs\", \"model\", \"test\") matches no \
             breach any more; remove it (the list only shrinks)",
            "tests/layers.rs: SIZE_ALLOW entry (\"model/mod.rs\", \"test\") matches no file over \
             700 lines any more; remove it (the list only shrinks)",
        ]
    );
}

#[test]
fn folders_need_a_documented_mod_rs_and_the_table_names_every_module() {
    let t = tree_with(&[
        ("verify/mod.rs", "use crate::model::X;\n"),
        ("verify/sub/a.rs", "\n"),
    ]);
    std::fs::write(
        t.path().join("lib.rs"),
        std::fs::read_to_string(t.path().join("lib.rs")).unwrap() + "pub mod extra;\n",
    )
    .unwrap();
    assert_eq!(
        check(t.path(), &[], &[]),
        vec![
            "src/lib.rs: module `extra` is in no row of the layer table in src/lib.rs's doc; add \
             it to the row of its layer",
            "src/verify/mod.rs:1:1: does not start with a `//!` doc saying what the folder does",
            "src/verify/sub/mod.rs: missing; every folder under src/ has a mod.rs starting with a \
             `//!` doc",
        ]
    );
}
