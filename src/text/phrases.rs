//! Phrases of whole words found by their word numbers, exactly or within
//! one edit.

use super::{Vocab, alnum_words, fold};

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
