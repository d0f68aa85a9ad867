//! Numbering words: a map from words to values for the hot path, and the
//! vocabulary that numbers a post's words once.

use super::{Word, alnum_words, fold};

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
