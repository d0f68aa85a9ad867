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
    unigrams: Vec<[f32; 3]>,
    /// Word pair (first id << 32 | second id) → weights.
    bigrams: FxHashMap<u64, [f32; 3]>,
    bias: [f32; 3],
    seed: FxHashMap<String, f32>,
}

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
    pub fn new(learned: &str, seed: &str) -> Learned {
        let mut model = Learned {
            words: FxHashMap::default(),
            unigrams: Vec::new(),
            bigrams: FxHashMap::default(),
            bias: [0.0; 3],
            seed: lexicon_map(seed),
        };
        for line in learned.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let mut cols = line.split('\t');
            let term = cols.next().unwrap_or_default();
            let w: Vec<f32> = cols.filter_map(|c| c.trim().parse().ok()).collect();
            let [n, u, p] = w[..] else { continue };
            match term.split_once(' ') {
                _ if term == BIAS => model.bias = [n, u, p],
                Some((a, b)) => {
                    let key = pair(model.id(a), model.id(b));
                    model.bigrams.insert(key, [n, u, p]);
                }
                None => {
                    let id = model.id(term) as usize;
                    model.unigrams[id] = [n, u, p];
                }
            }
        }
        model
    }

    fn id(&mut self, word: &str) -> u32 {
        if let Some(id) = self.words.get(word) {
            return *id;
        }
        let id = self.unigrams.len() as u32;
        self.words.insert(word.to_owned(), id);
        self.unigrams.push([0.0; 3]);
        id
    }

    pub fn seed(&self) -> &FxHashMap<String, f32> {
        &self.seed
    }

    /// Whether the learned lexicon has weights for this word on its own.
    pub fn knows(&self, word: &str) -> bool {
        self.words
            .get(word)
            .is_some_and(|id| self.unigrams[*id as usize] != [0.0; 3])
    }

    pub fn score(&self, text: &str, english: &Vader, hits: &mut Hits) -> f32 {
        let mut words = Vec::new();
        tokens::words(text, &mut words);
        let ids: Vec<Option<u32>> = words.iter().map(|w| self.words.get(w.as_str()).copied()).collect();
        // Each unigram and bigram once, as in training.
        let mut keys: Vec<(u64, usize)> = Vec::with_capacity(ids.len() * 2);
        for (i, id) in ids.iter().enumerate() {
            if let Some(id) = id {
                keys.push((u64::from(*id) | (1 << 63), i));
            }
            if let (Some(a), Some(Some(b))) = (id, ids.get(i + 1)) {
                keys.push((pair(*a, *b), i));
            }
        }
        keys.sort_unstable_by_key(|k| k.0);
        keys.dedup_by_key(|k| k.0);
        let mut logits = self.bias;
        for (key, i) in keys {
            let (w, term) = if key >> 63 == 1 {
                (Some(&self.unigrams[(key & 0xffff_ffff) as usize]), None)
            } else {
                (self.bigrams.get(&key), Some(i))
            };
            let Some(w) = w else { continue };
            for k in 0..3 {
                logits[k] += w[k];
            }
            let valence = w[POS] - w[NEG];
            if valence.abs() >= 0.25 {
                hits.add(|| TermHit {
                    term: match term {
                        Some(i) => format!("{} {}", words[i], words[i + 1]),
                        None => words[i].clone(),
                    },
                    weight: valence,
                    lexicon: "id-learned",
                });
            }
        }
        let priors = priors(&words, &self.seed, english, |w| self.knows(w));
        let prior = prior_logits(&priors);
        for k in 0..3 {
            logits[k] += prior[k];
        }
        for (term, v, source) in priors {
            hits.add(|| TermHit {
                term,
                weight: v,
                lexicon: source,
            });
        }
        sentiment(softmax(logits))
    }
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
        let model = Learned::new("__bias__\t0\t0.5\t0\n", "kecewa\t-3.0\n");
        let mut hits = Hits::kept();
        assert!(model.score("saya kecewa", &vader, &mut hits) < -0.05);
        assert_eq!(hits.list[0].lexicon, "id-seed");
        assert!(model.score("saya tidak kecewa", &vader, &mut Hits::kept()) > 0.05);
        assert!(model.score("dokternya good", &vader, &mut Hits::kept()) >= 0.0);
    }
}
