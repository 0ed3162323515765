//! Near-miss suggestions for names (architectures, presets, tags): the candidates closest to what
//! was typed, by edit distance.

/// The `n` candidates closest to `name` (ties in the candidates' order): by edit distance, where
/// a candidate that `name` is (nearly) the start of counts as one edit away — `vit_gigantic`
/// finds `vit_gigantic_patch14_clip_224`, not a short unrelated name.
pub fn closest<S: AsRef<str>>(name: &str, candidates: &[S], n: usize) -> Vec<String> {
    let score = |c: &str| {
        let start: String = c.chars().take(name.len()).collect();
        let as_prefix = edit_distance(name, &start) + 1;
        edit_distance(name, c).min(as_prefix)
    };
    let mut scored: Vec<(usize, usize, &str)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (score(c.as_ref()), i, c.as_ref()))
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(n)
        .map(|(_, _, c)| c.to_string())
        .collect()
}

/// Levenshtein distance over bytes (names are ASCII).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}
