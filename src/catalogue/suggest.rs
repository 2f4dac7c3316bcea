//! "Did you mean …?": close matches for a misspelt word (a field name, a listing code).
//!
//! Input: the word and the candidates. Output: the candidates within a small edit distance
//! (Levenshtein, from the `strsim` crate; case-insensitive) or containing the word / contained
//! in it, best first, at most `max`. Invariant: deterministic (ties by name); a word of one
//! or two letters matches by distance only, and never by replacing all of it, so `a` does
//! not suggest every field with an `a` in it.

/// Close matches of `word` among `candidates`, best first, at most `max`.
pub fn close_matches<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Vec<&'a str> {
    let len = word.chars().count();
    // Never a total replacement: `a` is not a misspelling of `tag`.
    let limit = (len / 3).max(2).min(len.saturating_sub(1));
    let lower = word.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let cl = c.to_lowercase();
            let d = strsim::levenshtein(&lower, &cl);
            let contains =
                lower.chars().count() >= 3 && (cl.contains(&lower) || lower.contains(&cl));
            (d <= limit || contains).then_some((d, c))
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(max).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_distance_then_name() {
        let fields = ["registry", "repository", "tag", "credential"];
        assert_eq!(close_matches("credentials", fields, 3), vec!["credential"]);
        assert_eq!(close_matches("Tags", fields, 3), vec!["tag"]);
        assert_eq!(close_matches("repo", fields, 3), vec!["repository"]);
        assert!(close_matches("a", fields, 3).is_empty());
        assert!(close_matches("zzzzzzz", fields, 3).is_empty());
        let codes = ["code", "mode", "cod-x", "x"];
        assert_eq!(
            close_matches("cod", codes, 3),
            vec!["code", "cod-x", "mode"]
        );
        assert_eq!(close_matches("cod", codes, 1), vec!["code"]);
    }
}
