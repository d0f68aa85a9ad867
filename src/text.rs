//! Text helpers shared by the stages: folding, the words of a folded text,
//! the vocabulary that numbers them once per post, and phrases of whole
//! words found by those numbers.

use std::ops::Range;

/// Lowercase and fold every run of white space to one space.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return fold_ascii(text);
    }
    fold_chars(text)
}

fn fold_chars(text: &str) -> String {
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

/// `fold` for ASCII text (most posts), a byte at a time.
fn fold_ascii(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut space = false;
    for &b in text.as_bytes() {
        if b.is_ascii_whitespace() || b == 0x0b {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(b' ');
            space = false;
        }
        out.push(b.to_ascii_lowercase());
    }
    String::from_utf8(out).expect("ASCII in, ASCII out")
}

/// The runs of alphanumeric characters in `text`, in order: the words every
/// lexicon lookup reads. ASCII is classified a byte at a time; only other
/// characters are decoded.
pub fn alnum_words(text: &str) -> AlnumWords<'_> {
    AlnumWords { text, pos: 0 }
}

pub struct AlnumWords<'a> {
    text: &'a str,
    pos: usize,
}

impl AlnumWords<'_> {
    /// Whether the character at `pos` is alphanumeric, and its length.
    #[inline(always)]
    fn at(&self, pos: usize) -> (bool, usize) {
        let b = self.text.as_bytes()[pos];
        if b < 0x80 {
            return (b.is_ascii_alphanumeric(), 1);
        }
        let c = self.text[pos..].chars().next().expect("pos is on a char boundary");
        (c.is_alphanumeric(), c.len_utf8())
    }
}

impl<'a> Iterator for AlnumWords<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let len = self.text.len();
        while self.pos < len {
            let (word, n) = self.at(self.pos);
            if word {
                break;
            }
            self.pos += n;
        }
        if self.pos >= len {
            return None;
        }
        let start = self.pos;
        while self.pos < len {
            let (word, n) = self.at(self.pos);
            if !word {
                break;
            }
            self.pos += n;
        }
        Some(&self.text[start..self.pos])
    }
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

/// A word of a folded text: a run of letters and digits, its byte range,
/// and the index of the white-space-separated token it is part of. Folding
/// only lowercases and folds white space, so that token is also the word's
/// token in the original text (what the English scorer reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    pub start: u32,
    pub end: u32,
    pub token: u32,
}

impl Word {
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// The words of a folded text, in order (see `Word`).
pub fn words_of(folded: &str, out: &mut Vec<Word>) {
    out.clear();
    let bytes = folded.as_bytes();
    let mut token = 0u32;
    let mut pos = 0usize;
    let mut start: Option<usize> = None;
    while pos < bytes.len() {
        let b = bytes[pos];
        let (alnum, n) = if b < 0x80 {
            (b.is_ascii_alphanumeric(), 1)
        } else {
            let c = folded[pos..].chars().next().expect("pos is on a char boundary");
            (c.is_alphanumeric(), c.len_utf8())
        };
        match (alnum, start) {
            (true, None) => start = Some(pos),
            (false, Some(s)) => {
                out.push(Word {
                    start: s as u32,
                    end: pos as u32,
                    token,
                });
                start = None;
            }
            _ => {}
        }
        if b == b' ' {
            token += 1;
        }
        pos += n;
    }
    if let Some(s) = start {
        out.push(Word {
            start: s as u32,
            end: pos as u32,
            token,
        });
    }
}

/// A word no table knows.
pub const UNKNOWN: u32 = u32::MAX;

/// Every word some table looks up, numbered: a post's words are looked up
/// once, and every later table is indexed by number.
#[derive(Debug, Clone, Default)]
pub struct Vocab {
    ids: rustc_hash::FxHashMap<Box<str>, u32>,
}

impl Vocab {
    pub fn intern(&mut self, word: &str) -> u32 {
        if let Some(id) = self.ids.get(word) {
            return *id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(word.into(), id);
        id
    }

    pub fn get(&self, word: &str) -> u32 {
        self.ids.get(word).copied().unwrap_or(UNKNOWN)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The number of each word of `folded`.
    pub fn lookup(&self, folded: &str, words: &[Word], out: &mut Vec<u32>) {
        out.clear();
        out.extend(words.iter().map(|w| self.get(&folded[w.range()])));
    }

    /// The numbers of a phrase's words, interning them; empty when the
    /// phrase has no letters or digits.
    pub fn phrase(&mut self, phrase: &str) -> Vec<u32> {
        let folded = fold(phrase);
        alnum_words(&folded).map(|w| self.intern(w)).collect()
    }
}

/// Phrases of whole words, each with values, found in a post's word
/// numbers: a walk down a word trie from each word. Punctuation between
/// words does not matter ("marah-marah" is "marah marah").
#[derive(Debug, Clone)]
pub struct Phrases<T> {
    /// (node, word) → child node; the root is node 0.
    edges: rustc_hash::FxHashMap<(u32, u32), u32>,
    /// The values of the phrase that ends at each node (empty: none ends there).
    values: Vec<Vec<T>>,
}

impl<T> Phrases<T> {
    /// Phrases without letters or digits are left out (checks refuse them
    /// before this).
    pub fn new(phrases: impl IntoIterator<Item = (String, T)>, vocab: &mut Vocab) -> Self {
        let mut set = Phrases {
            edges: rustc_hash::FxHashMap::default(),
            values: vec![Vec::new()],
        };
        for (phrase, value) in phrases {
            let ids = vocab.phrase(&phrase);
            if ids.is_empty() {
                continue;
            }
            let mut node = 0u32;
            for id in ids {
                let next = set.values.len() as u32;
                node = *set.edges.entry((node, id)).or_insert(next);
                if node == next {
                    set.values.push(Vec::new());
                }
            }
            set.values[node as usize].push(value);
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// Every phrase found, overlapping ones included (so that one rule's
    /// "still waiting" cannot hide another's "still"): its values and its
    /// first and last word, in order of the first word.
    pub fn find<'s>(&'s self, ids: &[u32], mut found: impl FnMut(&'s [T], usize, usize)) {
        if self.edges.is_empty() {
            return;
        }
        for i in 0..ids.len() {
            let mut node = 0u32;
            for (j, id) in ids.iter().enumerate().skip(i) {
                match self.edges.get(&(node, *id)) {
                    Some(next) => node = *next,
                    None => break,
                }
                let values = &self.values[node as usize];
                if !values.is_empty() {
                    found(values, i, j);
                }
            }
        }
    }

    /// The longest phrase at each place, left to right, not overlapping:
    /// for a set whose phrases compete (names of one thing).
    pub fn find_longest<'s>(&'s self, ids: &[u32], mut found: impl FnMut(&'s [T], usize, usize)) {
        if self.edges.is_empty() {
            return;
        }
        let mut i = 0;
        while i < ids.len() {
            let mut node = 0u32;
            let mut best: Option<(u32, usize)> = None;
            for (j, id) in ids.iter().enumerate().skip(i) {
                match self.edges.get(&(node, *id)) {
                    Some(next) => node = *next,
                    None => break,
                }
                if !self.values[node as usize].is_empty() {
                    best = Some((node, j));
                }
            }
            match best {
                Some((node, j)) => {
                    found(&self.values[node as usize], i, j);
                    i = j + 1;
                }
                None => i += 1,
            }
        }
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
    fn ascii_and_unicode_folds_agree() {
        for t in ["  A\tB\n\x0bc  ", "Dokter TELAT 2 jam!!", "", "   "] {
            assert_eq!(fold_ascii(t), fold_chars(t), "{t:?}");
        }
    }

    #[test]
    fn alnum_words_split_like_char_classes() {
        for t in [
            "Dokter gak dateng2, so annoying!!",
            "café—naïve 100% ok",
            "",
            "...",
            "a_b c'd",
        ] {
            let expected: Vec<&str> = t
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            assert_eq!(alnum_words(t).collect::<Vec<_>>(), expected, "{t:?}");
        }
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        let mut s = "aé".to_string();
        truncate(&mut s, 2);
        assert_eq!(s, "a");
    }

    fn found<T: Copy>(set: &Phrases<T>, vocab: &Vocab, text: &str, longest: bool) -> Vec<(T, usize, usize)> {
        let folded = fold(text);
        let mut words = Vec::new();
        words_of(&folded, &mut words);
        let mut ids = Vec::new();
        vocab.lookup(&folded, &words, &mut ids);
        let mut out = Vec::new();
        let mut push = |v: &[T], i: usize, j: usize| out.extend(v.iter().map(|v| (*v, i, j)));
        if longest {
            set.find_longest(&ids, &mut push);
        } else {
            set.find(&ids, &mut push);
        }
        out
    }

    #[test]
    fn words_carry_their_tokens() {
        let mut w = Vec::new();
        words_of("di rs-harapan, (kemarin) ok", &mut w);
        let got: Vec<(&str, u32)> = w
            .iter()
            .map(|w| (&"di rs-harapan, (kemarin) ok"[w.range()], w.token))
            .collect();
        assert_eq!(got, [("di", 0), ("rs", 1), ("harapan", 1), ("kemarin", 2), ("ok", 3)]);
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let mut vocab = Vocab::default();
        let set = Phrases::new(
            [
                ("RS Harapan".to_string(), 1),
                ("@rsh".to_string(), 2),
                ("bill".to_string(), 3),
                ("marah-marah".to_string(), 4),
            ],
            &mut vocab,
        );
        let hits = |t: &str| {
            found(&set, &vocab, t, false)
                .into_iter()
                .map(|h| h.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(hits("di rs harapan kemarin"), vec![1]);
        assert_eq!(hits("rs harapanku"), Vec::<i32>::new());
        assert_eq!(hits("cc @rsh, billing"), vec![2]);
        assert_eq!(hits("the bill."), vec![3]);
        assert_eq!(hits("(@rsh)"), vec![2]);
        assert_eq!(hits("dia marah marah terus"), vec![4]);
        let mut vocab = Vocab::default();
        let nested = Phrases::new([("still".to_string(), 1), ("still waiting".to_string(), 2)], &mut vocab);
        assert_eq!(
            found(&nested, &vocab, "still waiting", false),
            vec![(1, 0, 0), (2, 0, 1)],
            "overlapping phrases are all found"
        );
        assert_eq!(found(&nested, &vocab, "still waiting", true), vec![(2, 0, 1)]);
    }

    #[test]
    fn a_phrase_given_twice_keeps_both_values() {
        let mut vocab = Vocab::default();
        let set = Phrases::new([("Kasar".to_string(), 1), ("kasar".to_string(), 2)], &mut vocab);
        let hits: Vec<_> = found(&set, &vocab, "petugas kasar", false)
            .into_iter()
            .map(|h| h.0)
            .collect();
        assert_eq!(hits, vec![1, 2]);
    }
}
