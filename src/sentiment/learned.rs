//! Indonesian sentiment from a learned lexicon: each term (word or word
//! pair) carries one weight per class (negative, neutral, positive), learned
//! from labelled Indonesian text by `earshot lexicon learn`. A curated seed
//! and the English lexicon (for code-mixed posts) add fixed, explainable
//! offsets that the learning takes as given.
//!
//! The class probabilities become one sentiment in [-1, 1]: a post whose
//! likeliest class is neutral lands inside (-0.05, 0.05), the others outside,
//! so that VADER's usual ±0.05 cut reads the same three classes.

// Three classes indexed together read clearer as index loops.
#![allow(clippy::needless_range_loop)]

use super::tokens;
use super::vader::Vader;
use super::{Hits, TermHit, lexicon_map};
use crate::text::{Vocab, Word, WordMap};
use rustc_hash::FxHashMap;

pub const NEG: usize = 0;
pub const NEU: usize = 1;
pub const POS: usize = 2;
pub const BIAS: &str = "__bias__";

/// How much a seed or English valence unit moves the logits.
pub const SEED_SCALE: f32 = 0.35;
pub const ENGLISH_SCALE: f32 = 0.25;
const NEGATORS: &[&str] = &["tidak", "bukan", "belum", "jangan", "kurang", "not", "never", "no"];

pub struct Learned {
    /// Word → id; unigram weights by id (zero for words seen only in pairs).
    words: FxHashMap<String, u32>,
    /// Everything the scorer asks of a word, found with one lookup: its id,
    /// its fixed prior (see `priors`), whether it negates what follows.
    entries: WordMap<Entry>,
    /// Weights relative to the neutral class (negative − neutral, positive −
    /// neutral): softmax does not change when every logit moves together,
    /// and two numbers a term keep the tables small and cache-resident.
    unigrams: Vec<[f32; 2]>,
    /// Whether each word has weights of its own (not only in pairs).
    known: Vec<bool>,
    /// Per word: 1 when it begins some pair in `bigrams`, 2 when it ends
    /// one. Most pairs of a post are in no table; these bits rule them out
    /// without a (cache-missing) probe.
    pairs: Vec<u8>,
    /// Word pair (first id << 32 | second id) → weights.
    bigrams: FxHashMap<u64, [f32; 2]>,
    bias: [f32; 2],
    seed: FxHashMap<String, f32>,
}

#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// `NONE` for a word the learned lexicon does not have.
    id: u32,
    /// Its prior valence, already scaled; 0 for none.
    prior: f32,
    source: Prior,
    negator: bool,
}

/// Where a word's prior comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prior {
    None,
    Seed,
    English,
}

impl Prior {
    fn lexicon(self) -> &'static str {
        match self {
            Prior::None => "",
            Prior::Seed => "id-seed",
            Prior::English => "en-vader",
        }
    }
}

const NONE: u32 = u32::MAX;

fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// Unigrams and bigrams of the normalized words, each once.
pub fn terms(words: &[String]) -> Vec<String> {
    let mut terms: Vec<String> = words.to_vec();
    terms.extend(words.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    terms.sort_unstable();
    terms.dedup();
    terms
}

/// Fixed offsets: seed valences first, else the English valence of a word
/// the learned lexicon does not know. A negator up to two words before
/// flips the valence, as VADER does.
pub fn priors(
    words: &[String],
    seed: &FxHashMap<String, f32>,
    english: &Vader,
    known: impl Fn(&str) -> bool,
) -> Vec<(String, f32, &'static str)> {
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let (v, source) = match seed.get(w) {
            Some(v) => (*v * SEED_SCALE, "id-seed"),
            None if !known(w) => match english.valence(w) {
                Some(v) => (v * ENGLISH_SCALE, "en-vader"),
                None => continue,
            },
            None => continue,
        };
        let negated = (1..=2).any(|k| i >= k && NEGATORS.contains(&words[i - k].as_str()));
        out.push((w.clone(), if negated { -0.74 * v } else { v }, source));
    }
    out
}

pub fn prior_logits(priors: &[(String, f32, &'static str)]) -> [f32; 3] {
    let mut l = [0.0; 3];
    for (_, v, _) in priors {
        if *v > 0.0 {
            l[POS] += v;
        } else {
            l[NEG] -= v;
        }
    }
    l
}

pub fn softmax(l: [f32; 3]) -> [f32; 3] {
    let m = l[0].max(l[1]).max(l[2]);
    let e = l.map(|x| (x - m).exp());
    let s = e[0] + e[1] + e[2];
    e.map(|x| x / s)
}

/// Class probabilities → sentiment, keeping the likeliest class readable
/// through the ±0.05 cut.
pub fn sentiment(p: [f32; 3]) -> f32 {
    let d = p[POS] - p[NEG];
    if p[NEU] >= p[POS] && p[NEU] >= p[NEG] {
        0.049 * d
    } else {
        d.signum() * (0.05 + 0.95 * d.abs())
    }
}

impl Learned {
    /// `english` gives the valences of English words in code-mixed posts.
    pub fn new(learned: &str, seed: &str, english: &Vader) -> Learned {
        let mut model = Learned {
            words: FxHashMap::default(),
            entries: WordMap::default(),
            unigrams: Vec::new(),
            known: Vec::new(),
            pairs: Vec::new(),
            bigrams: FxHashMap::default(),
            bias: [0.0; 2],
            seed: lexicon_map(seed),
        };
        for line in learned.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let mut cols = line.split('\t');
            let term = cols.next().unwrap_or_default();
            let mut w = [0.0f32; 3];
            let mut n = 0;
            for c in cols {
                if let (Some(slot), Ok(v)) = (w.get_mut(n), c.trim().parse()) {
                    *slot = v;
                    n += 1;
                }
            }
            if n != 3 {
                continue;
            }
            let relative = [w[NEG] - w[NEU], w[POS] - w[NEU]];
            match term.split_once(' ') {
                _ if term == BIAS => model.bias = relative,
                Some((a, b)) => {
                    let (a, b) = (model.id(a), model.id(b));
                    model.pairs[a as usize] |= 1;
                    model.pairs[b as usize] |= 2;
                    model.bigrams.insert(pair(a, b), relative);
                }
                None => {
                    let id = model.id(term) as usize;
                    model.unigrams[id] = relative;
                    model.known[id] = w != [0.0; 3];
                }
            }
        }
        model.entries = model.entries(english);
        model
    }

    /// The one-lookup table: the same priors as `priors`, precomputed.
    fn entries(&self, english: &Vader) -> WordMap<Entry> {
        let mut entries: WordMap<Entry> = WordMap::default();
        let blank = Entry {
            id: NONE,
            prior: 0.0,
            source: Prior::None,
            negator: false,
        };
        for (w, id) in &self.words {
            entries.insert(w, Entry { id: *id, ..blank });
        }
        for (w, v) in english.lexicon() {
            if !self.seed.contains_key(w) && !self.knows(w) {
                let e = entries.get_or_insert_with(w, || blank);
                (e.prior, e.source) = (v * ENGLISH_SCALE, Prior::English);
            }
        }
        for (w, v) in &self.seed {
            let e = entries.get_or_insert_with(w, || blank);
            (e.prior, e.source) = (v * SEED_SCALE, Prior::Seed);
        }
        for w in NEGATORS {
            entries.get_or_insert_with(w, || blank).negator = true;
        }
        // Informal spellings read as their standard form, whatever else the
        // lexicons say of the spelling itself.
        for (informal, standard) in tokens::slang() {
            let e = entries.get(standard).copied().unwrap_or(blank);
            entries.insert(informal, e);
        }
        entries
    }

    fn id(&mut self, word: &str) -> u32 {
        if let Some(id) = self.words.get(word) {
            return *id;
        }
        let id = self.unigrams.len() as u32;
        self.words.insert(word.to_owned(), id);
        self.unigrams.push([0.0; 2]);
        self.known.push(false);
        self.pairs.push(0);
        id
    }

    pub fn seed(&self) -> &FxHashMap<String, f32> {
        &self.seed
    }

    /// Whether the learned lexicon has weights for this word on its own.
    pub fn knows(&self, word: &str) -> bool {
        self.words.get(word).is_some_and(|id| self.known[*id as usize])
    }

    pub fn score(&self, text: &str, hits: &mut Hits) -> f32 {
        self.score_words(hits, |each| {
            tokens::each_spelling(text, |w| each(self.entries.get(w).copied(), w));
        })
    }

    /// This lexicon's entries by the numbers of `vocab`, which it extends
    /// with its words: what `score_read` looks words up in.
    pub fn bind(&self, vocab: &mut Vocab) -> Bound {
        let mut table = Vec::new();
        let blank = Entry {
            id: NONE,
            prior: 0.0,
            source: Prior::None,
            negator: false,
        };
        self.entries.for_each(|w, e| {
            let id = vocab.intern(w) as usize;
            if table.len() <= id {
                table.resize(id + 1, blank);
            }
            table[id] = *e;
        });
        Bound { table }
    }

    /// As `score`, over a post's words already numbered (see `text::Vocab`),
    /// leaving out the words in the white-space tokens `skip` (ascending).
    pub fn score_read(
        &self,
        bound: &Bound,
        folded: &str,
        words: &[Word],
        ids: &[u32],
        skip: &[u32],
        hits: &mut Hits,
    ) -> f32 {
        self.score_words(hits, |each| {
            for (word, &id) in words.iter().zip(ids) {
                if !skip.is_empty() && skip.binary_search(&word.token).is_ok() {
                    continue;
                }
                let w = &folded[word.range()];
                // Folded text has no upper case: only the other respellings matter.
                if tokens::plain_lowercase(w) {
                    each(bound.table.get(id as usize).copied(), w);
                } else {
                    tokens::each_spelling(w, |w| each(self.entries.get(w).copied(), w));
                }
            }
        })
    }

    /// The scorer proper: `words` calls its argument with each word's entry
    /// (None: unknown) and spelling, in order.
    fn score_words(&self, hits: &mut Hits, words: impl FnOnce(&mut dyn FnMut(Option<Entry>, &str))) -> f32 {
        // One pass over the words: learned ids, and the priors (the same
        // sums `priors` and `prior_logits` make, in the same order).
        let mut ids: Vec<u32> = Vec::with_capacity(64);
        let mut spellings: Vec<String> = Vec::new();
        let mut prior = [0.0f32; 3];
        let mut prior_hits: Vec<TermHit> = Vec::new();
        let (mut neg1, mut neg2) = (false, false);
        let keep = hits.keep;
        words(&mut |entry: Option<Entry>, w: &str| {
            ids.push(entry.map_or(NONE, |e| e.id));
            let w = if keep { tokens::standard(w) } else { w };
            if keep {
                spellings.push(w.to_owned());
            }
            if let Some(e) = entry
                && e.source != Prior::None
            {
                let v = if neg1 || neg2 { -0.74 * e.prior } else { e.prior };
                if v > 0.0 {
                    prior[POS] += v;
                } else {
                    prior[NEG] -= v;
                }
                if keep {
                    prior_hits.push(TermHit {
                        term: w.to_owned(),
                        weight: v,
                        lexicon: e.source.lexicon(),
                    });
                }
            }
            neg2 = neg1;
            neg1 = entry.is_some_and(|e| e.negator);
        });
        // Each unigram and bigram once, as in training.
        let mut keys: Vec<u64> = Vec::with_capacity(ids.len() * 2);
        for (i, &id) in ids.iter().enumerate() {
            if id == NONE {
                continue;
            }
            keys.push(u64::from(id) | (1 << 63));
            if let Some(&b) = ids.get(i + 1)
                && b != NONE
                && self.pairs[id as usize] & 1 != 0
                && self.pairs[b as usize] & 2 != 0
            {
                keys.push(pair(id, b));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let mut logits = self.bias;
        for key in keys {
            let w = if key >> 63 == 1 {
                Some(&self.unigrams[(key & 0xffff_ffff) as usize])
            } else {
                self.bigrams.get(&key)
            };
            let Some(w) = w else { continue };
            logits[0] += w[0];
            logits[1] += w[1];
            let valence = w[1] - w[0];
            if keep && valence.abs() >= 0.25 {
                // The first place the term occurs, for its spelling.
                let unigram = key >> 63 == 1;
                let i = (0..ids.len())
                    .find(|&i| {
                        let id = ids[i];
                        if unigram {
                            u64::from(id) | (1 << 63) == key
                        } else {
                            ids.get(i + 1)
                                .is_some_and(|&b| id != NONE && b != NONE && pair(id, b) == key)
                        }
                    })
                    .expect("every key comes from some place");
                hits.add(|| TermHit {
                    term: if unigram {
                        spellings[i].clone()
                    } else {
                        format!("{} {}", spellings[i], spellings[i + 1])
                    },
                    weight: valence,
                    lexicon: "id-learned",
                });
            }
        }
        hits.list.extend(prior_hits);
        sentiment(softmax([logits[0] + prior[NEG], 0.0, logits[1] + prior[POS]]))
    }
}

/// A learned lexicon's entries by word number (see `Learned::bind`).
pub struct Bound {
    table: Vec<Entry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_stays_inside_the_band_and_the_rest_outside() {
        assert!(sentiment([0.2, 0.5, 0.3]).abs() < 0.05);
        assert!(sentiment([0.1, 0.3, 0.6]) >= 0.05);
        assert!(sentiment([0.45, 0.1, 0.45]).abs() < 1e-6 || sentiment([0.45, 0.1, 0.45]).abs() >= 0.05);
        assert!(sentiment([0.9, 0.05, 0.05]) < -0.8);
    }

    #[test]
    fn seed_and_negation() {
        let vader = Vader::new("good\t1.9\n", "");
        let model = Learned::new("__bias__\t0\t0.5\t0\n", "kecewa\t-3.0\n", &vader);
        let mut hits = Hits::kept();
        assert!(model.score("saya kecewa", &mut hits) < -0.05);
        assert_eq!(hits.list[0].lexicon, "id-seed");
        assert!(model.score("saya tidak kecewa", &mut Hits::kept()) > 0.05);
        assert!(model.score("dokternya good", &mut Hits::kept()) > 0.0);
        assert!(model.score("dokternya not good", &mut Hits::kept()) < 0.0);
    }
}
