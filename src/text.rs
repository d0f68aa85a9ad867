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

/// `fold`, and the words of the folded text (see `words_of`), in one pass
/// for ASCII text (most posts).
pub fn fold_words(text: &str, words: &mut Vec<Word>) -> String {
    words.clear();
    if !text.is_ascii() {
        let folded = fold_chars(text);
        words_of(&folded, words);
        return folded;
    }
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    // About one word in five bytes: reserve once rather than grow in steps.
    words.reserve(text.len() / 4 + 4);
    let mut space = false;
    let mut token = 0u32;
    let mut start = 0usize;
    let mut in_word = false;
    for &b in text.as_bytes() {
        if ASCII_SPACE[b as usize] {
            space = !out.is_empty();
            if in_word {
                words.push(Word {
                    start: start as u32,
                    end: out.len() as u32,
                    token,
                });
                in_word = false;
            }
            continue;
        }
        if space {
            out.push(b' ');
            token += 1;
            space = false;
        }
        let alnum = ASCII_ALNUM[b as usize];
        if alnum != in_word {
            if alnum {
                start = out.len();
            } else {
                words.push(Word {
                    start: start as u32,
                    end: out.len() as u32,
                    token,
                });
            }
            in_word = alnum;
        }
        out.push(b.to_ascii_lowercase());
    }
    if in_word {
        words.push(Word {
            start: start as u32,
            end: out.len() as u32,
            token,
        });
    }
    String::from_utf8(out).expect("ASCII in, ASCII out")
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

/// Letters and digits among the bytes (only ASCII ones are).
static ASCII_ALNUM: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 128 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    t
};

/// White space among the bytes, as `char::is_whitespace` has it for ASCII.
static ASCII_SPACE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 128 {
        t[i] = (i as u8).is_ascii_whitespace() || i == 0x0b;
        i += 1;
    }
    t
};

/// The words of a folded text, in order (see `Word`).
pub fn words_of(folded: &str, out: &mut Vec<Word>) {
    out.clear();
    // About one word in five bytes: reserve once rather than grow in steps.
    out.reserve(folded.len() / 4 + 4);
    let bytes = folded.as_bytes();
    let mut token = 0u32;
    let mut start = 0usize;
    let mut in_word = false;
    let mut pos = 0usize;
    while pos < bytes.len() {
        let b = bytes[pos];
        let (alnum, n) = if b < 0x80 {
            (ASCII_ALNUM[b as usize], 1)
        } else {
            let c = folded[pos..].chars().next().expect("pos is on a char boundary");
            (c.is_alphanumeric(), c.len_utf8())
        };
        if alnum != in_word {
            if alnum {
                start = pos;
            } else {
                out.push(Word {
                    start: start as u32,
                    end: pos as u32,
                    token,
                });
            }
            in_word = alnum;
        }
        token += u32::from(b == b' ');
        pos += n;
    }
    if in_word {
        out.push(Word {
            start: start as u32,
            end: pos as u32,
            token,
        });
    }
}

/// A map from words to values, tuned for the hot path: a word of up to 15
/// bytes (nearly all) is packed with its length into one integer (`u64` up
/// to 7 bytes, else `u128`), so a lookup hashes and compares machine words
/// instead of calling memcmp, and the common short words sit in a table
/// half the size, kinder to the cache.
#[derive(Debug, Clone)]
pub struct WordMap<V> {
    tiny: rustc_hash::FxHashMap<u64, V>,
    short: rustc_hash::FxHashMap<u128, V>,
    long: rustc_hash::FxHashMap<Box<str>, V>,
}

impl<V> Default for WordMap<V> {
    fn default() -> Self {
        WordMap {
            tiny: Default::default(),
            short: Default::default(),
            long: Default::default(),
        }
    }
}

enum Key<'a> {
    Tiny(u64),
    Short(u128),
    Long(&'a str),
}

fn key(word: &str) -> Key<'_> {
    // Byte by byte: a variable-length copy would be a call to memcpy.
    let b = word.as_bytes();
    if b.len() <= 7 {
        let mut k = (b.len() as u64) << 56;
        for (i, c) in b.iter().enumerate() {
            k |= u64::from(*c) << (8 * i);
        }
        Key::Tiny(k)
    } else if b.len() <= 15 {
        let mut k = (b.len() as u128) << 120;
        for (i, c) in b.iter().enumerate() {
            k |= u128::from(*c) << (8 * i);
        }
        Key::Short(k)
    } else {
        Key::Long(word)
    }
}

impl<V> WordMap<V> {
    pub fn get(&self, word: &str) -> Option<&V> {
        match key(word) {
            Key::Tiny(k) => self.tiny.get(&k),
            Key::Short(k) => self.short.get(&k),
            Key::Long(w) => self.long.get(w),
        }
    }

    pub fn insert(&mut self, word: &str, value: V) {
        match key(word) {
            Key::Tiny(k) => self.tiny.insert(k, value),
            Key::Short(k) => self.short.insert(k, value),
            Key::Long(w) => self.long.insert(w.into(), value),
        };
    }

    pub fn get_or_insert_with(&mut self, word: &str, value: impl FnOnce() -> V) -> &mut V {
        match key(word) {
            Key::Tiny(k) => self.tiny.entry(k).or_insert_with(value),
            Key::Short(k) => self.short.entry(k).or_insert_with(value),
            Key::Long(w) => self.long.entry(w.into()).or_insert_with(value),
        }
    }

    pub fn len(&self) -> usize {
        self.tiny.len() + self.short.len() + self.long.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every word and its value, in no particular order.
    pub fn for_each(&self, mut f: impl FnMut(&str, &V)) {
        for (k, v) in &self.tiny {
            let b = k.to_le_bytes();
            f(std::str::from_utf8(&b[..b[7] as usize]).expect("packed from a str"), v);
        }
        for (k, v) in &self.short {
            let b = k.to_le_bytes();
            f(std::str::from_utf8(&b[..b[15] as usize]).expect("packed from a str"), v);
        }
        for (k, v) in &self.long {
            f(k, v);
        }
    }
}

/// A word no table knows.
pub const UNKNOWN: u32 = u32::MAX;

/// Every word some table looks up, numbered: a post's words are looked up
/// once, and every later table is indexed by number.
#[derive(Debug, Clone, Default)]
pub struct Vocab {
    ids: WordMap<u32>,
}

impl Vocab {
    pub fn intern(&mut self, word: &str) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.get_or_insert_with(word, || next)
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
    /// Each node's outgoing words and children, for the fuzzy walk.
    words: Vec<Vec<(Box<str>, u32)>>,
}

/// Whether `a` becomes `b` by at most one edit: a letter changed, added,
/// removed, or two neighbours swapped.
pub fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if prefix == a.len() && prefix == b.len() {
        return true;
    }
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..] || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

/// A phrase's words at least this long may be matched with one edit in a
/// fuzzy walk.
pub const FUZZY_MIN_CHARS: usize = 5;

impl<T> Phrases<T> {
    /// Phrases without letters or digits are left out (checks refuse them
    /// before this).
    pub fn new(phrases: impl IntoIterator<Item = (String, T)>, vocab: &mut Vocab) -> Self {
        let mut set = Phrases {
            edges: rustc_hash::FxHashMap::default(),
            values: vec![Vec::new()],
            words: vec![Vec::new()],
        };
        for (phrase, value) in phrases {
            let folded = fold(&phrase);
            let words: Vec<&str> = alnum_words(&folded).collect();
            if words.is_empty() {
                continue;
            }
            let mut node = 0u32;
            for word in words {
                let id = vocab.intern(word);
                let next = set.values.len() as u32;
                let child = *set.edges.entry((node, id)).or_insert(next);
                if child == next {
                    set.values.push(Vec::new());
                    set.words.push(Vec::new());
                    set.words[node as usize].push((word.into(), child));
                }
                node = child;
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
    pub fn find_longest<'s>(&'s self, ids: &[u32], found: impl FnMut(&'s [T], usize, usize)) {
        self.find_longest_fuzzy(ids, |_| None, found);
    }

    /// As `find_longest`; past a phrase's first word, a word of at least
    /// `FUZZY_MIN_CHARS` letters that the text misspells by one letter still
    /// matches. `word(j)` is the text's `j`-th word, `None` for no fuzzy
    /// matching.
    pub fn find_longest_fuzzy<'s, 'w>(
        &'s self,
        ids: &[u32],
        word: impl Fn(usize) -> Option<&'w str>,
        mut found: impl FnMut(&'s [T], usize, usize),
    ) {
        if self.edges.is_empty() {
            return;
        }
        let step = |node: u32, j: usize, id: u32| -> Option<u32> {
            if let Some(next) = self.edges.get(&(node, id)) {
                return Some(*next);
            }
            if node == 0 {
                return None;
            }
            let w = word(j)?;
            self.words[node as usize]
                .iter()
                .find(|(e, _)| e.chars().count() >= FUZZY_MIN_CHARS && within_one_edit(w, e))
                .map(|(_, child)| *child)
        };
        let mut i = 0;
        while i < ids.len() {
            let mut node = 0u32;
            let mut best: Option<(u32, usize)> = None;
            for (j, id) in ids.iter().enumerate().skip(i) {
                match step(node, j, *id) {
                    Some(next) => node = next,
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
    fn fold_words_is_fold_then_words_of() {
        for t in [
            "  Dokter,gak\tDATENG2!!  ok ",
            "café—naïve  100% ok",
            "",
            " ... ",
            "a_b c'd\n\ne",
        ] {
            let mut fused = Vec::new();
            let folded = fold_words(t, &mut fused);
            let mut apart = Vec::new();
            words_of(&fold(t), &mut apart);
            assert_eq!((folded, fused), (fold(t), apart), "{t:?}");
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
    fn word_maps_keep_words_of_every_length_apart() {
        let mut m = WordMap::default();
        let words = [
            "",
            "a",
            "abcdefg",
            "abcdefgh",
            "abcdefghijklmno",
            "abcdefghijklmnop",
            "kasihé",
            "a\0",
        ];
        for (i, w) in words.iter().enumerate() {
            m.insert(w, i);
        }
        for (i, w) in words.iter().enumerate() {
            assert_eq!(m.get(w), Some(&i), "{w:?}");
        }
        assert_eq!(m.get("abcdef"), None);
        let mut all = Vec::new();
        m.for_each(|w, v| all.push((w.to_owned(), *v)));
        all.sort_by_key(|(_, v)| *v);
        assert_eq!(all.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>(), words);
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
    fn one_edit_apart() {
        for (a, b) in [
            ("sehat", "sehat"),
            ("sehta", "sehat"),
            ("seht", "sehat"),
            ("sehatt", "sehat"),
            ("sebat", "sehat"),
        ] {
            assert!(within_one_edit(a, b), "{a} {b}");
        }
        for (a, b) in [("shta", "sehat"), ("sehat", "seh"), ("utama", "atamu")] {
            assert!(!within_one_edit(a, b), "{a} {b}");
        }
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
