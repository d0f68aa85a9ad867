//! Text helpers shared by the stages: folding for matching, and a set of
//! phrases found in one pass on word boundaries.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::ops::Range;

/// Lowercase and fold every run of white space to one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Cut `text` to at most `max` bytes, on a character boundary.
pub fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Phrases, each with values, matched in folded text in one pass
/// (linear time whatever the number of phrases), only where the match
/// starts and ends on a word boundary.
#[derive(Debug, Clone)]
pub struct PhraseSet<T> {
    matcher: AhoCorasick,
    overlapping: bool,
    /// The values of each distinct phrase: one match position yields one
    /// pattern, so a phrase given twice must carry both values.
    values: Vec<Vec<T>>,
}

impl<T> PhraseSet<T> {
    /// Phrases are folded like the text they will be matched against.
    /// Overlapping matches are all reported.
    pub fn new(phrases: impl IntoIterator<Item = (String, T)>) -> Self {
        Self::build(phrases, true)
    }

    /// Only the longest of overlapping matches, for a set whose phrases
    /// compete (names of one thing): faster to search.
    pub fn longest(phrases: impl IntoIterator<Item = (String, T)>) -> Self {
        Self::build(phrases, false)
    }

    fn build(phrases: impl IntoIterator<Item = (String, T)>, overlapping: bool) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut values: Vec<Vec<T>> = Vec::new();
        for (phrase, value) in phrases {
            let folded = fold(&phrase);
            let i = *index.entry(folded.clone()).or_insert_with(|| {
                patterns.push(folded);
                values.push(Vec::new());
                values.len() - 1
            });
            values[i].push(value);
        }
        let matcher = AhoCorasick::builder()
            .match_kind(if overlapping {
                MatchKind::Standard
            } else {
                MatchKind::LeftmostLongest
            })
            // A DFA: the fastest search, for a few kilobytes more per pattern.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .expect("phrase sets are small enough for aho-corasick");
        PhraseSet {
            matcher,
            overlapping,
            values,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Every match on word boundaries, overlapping ones included (so that one
    /// rule's "still waiting" cannot hide another's "still"), with the values
    /// of the phrase matched; in order of where matches end.
    pub fn find<'a>(&'a self, folded: &'a str) -> impl Iterator<Item = (&'a [T], Range<usize>)> + 'a {
        let matches: Box<dyn Iterator<Item = aho_corasick::Match> + 'a> = if self.overlapping {
            Box::new(self.matcher.find_overlapping_iter(folded))
        } else {
            Box::new(self.matcher.find_iter(folded))
        };
        matches.filter_map(move |m| {
            let before = folded[..m.start()].chars().next_back();
            let after = folded[m.end()..].chars().next();
            let first = folded[m.start()..].chars().next();
            let last = folded[..m.end()].chars().next_back();
            // A phrase that begins or ends with a symbol (`@handle`, `#tag`)
            // bounds itself on that side.
            let open = before.is_none_or(|c| !is_word_char(c)) || first.is_some_and(|c| !is_word_char(c));
            let close = after.is_none_or(|c| !is_word_char(c)) || last.is_some_and(|c| !is_word_char(c));
            (open && close).then(|| (self.values[m.pattern().as_usize()].as_slice(), m.range()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_lowercases_and_folds_space() {
        assert_eq!(fold("  Rumah\tSakit \n\n HARAPAN  "), "rumah sakit harapan");
        assert_eq!(fold("İstanbul"), "i̇stanbul");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        let mut s = "aé".to_string();
        truncate(&mut s, 2);
        assert_eq!(s, "a");
    }

    #[test]
    fn phrases_match_on_word_boundaries_only() {
        let set = PhraseSet::new([
            ("RS Harapan".to_string(), 1),
            ("@rsh".to_string(), 2),
            ("bill".to_string(), 3),
        ]);
        let hits = |t: &str| set.find(t).flat_map(|(v, _)| v.iter().copied()).collect::<Vec<_>>();
        assert_eq!(hits("di rs harapan kemarin"), vec![1]);
        assert_eq!(hits("rs harapanku"), Vec::<i32>::new());
        assert_eq!(hits("cc @rsh, billing"), vec![2]);
        let nested = PhraseSet::new([("still".to_string(), 1), ("still waiting".to_string(), 2)]);
        let found: Vec<_> = nested
            .find("still waiting")
            .flat_map(|(v, _)| v.iter().copied())
            .collect();
        assert_eq!(found, vec![1, 2], "overlapping phrases are all found");
        assert_eq!(hits("the bill."), vec![3]);
        assert_eq!(hits("(@rsh)"), vec![2]);
    }

    #[test]
    fn a_phrase_given_twice_keeps_both_values() {
        let set = PhraseSet::new([("Kasar".to_string(), 1), ("kasar".to_string(), 2)]);
        let hits: Vec<_> = set.find("petugas kasar").flat_map(|(v, _)| v.iter().copied()).collect();
        assert_eq!(hits, vec![1, 2]);
    }
}
