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
use super::{TermHit, lexicon_map};
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
    weights: FxHashMap<String, [f32; 3]>,
    bias: [f32; 3],
    seed: FxHashMap<String, f32>,
}

/// What the model makes of one text.
pub struct Features {
    pub words: Vec<String>,
    /// Unigrams and bigrams, each once.
    pub terms: Vec<String>,
    /// Seed and English valences, as (term, valence, source).
    pub priors: Vec<(String, f32, &'static str)>,
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
        let mut weights = FxHashMap::default();
        let mut bias = [0.0; 3];
        for line in learned.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let mut cols = line.split('\t');
            let term = cols.next().unwrap_or_default();
            let w: Vec<f32> = cols.filter_map(|c| c.trim().parse().ok()).collect();
            if let [n, u, p] = w[..] {
                if term == BIAS {
                    bias = [n, u, p];
                } else {
                    weights.insert(term.to_owned(), [n, u, p]);
                }
            }
        }
        Learned {
            weights,
            bias,
            seed: lexicon_map(seed),
        }
    }

    pub fn seed(&self) -> &FxHashMap<String, f32> {
        &self.seed
    }

    pub fn knows(&self, term: &str) -> bool {
        self.weights.contains_key(term)
    }

    pub fn features(&self, text: &str, english: &Vader) -> Features {
        let mut words = Vec::new();
        tokens::words(text, &mut words);
        let terms = terms(&words);
        let priors = priors(&words, &self.seed, english, |w| self.knows(w));
        Features { words, terms, priors }
    }

    pub fn score(&self, text: &str, english: &Vader, hits: &mut Vec<TermHit>) -> f32 {
        let f = self.features(text, english);
        let mut logits = self.bias;
        let prior = prior_logits(&f.priors);
        for k in 0..3 {
            logits[k] += prior[k];
        }
        for term in &f.terms {
            if let Some(w) = self.weights.get(term) {
                for k in 0..3 {
                    logits[k] += w[k];
                }
                let valence = w[POS] - w[NEG];
                if valence.abs() >= 0.25 {
                    hits.push(TermHit {
                        term: term.clone(),
                        weight: valence,
                        lexicon: "id-learned",
                    });
                }
            }
        }
        for (term, v, source) in f.priors {
            hits.push(TermHit {
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
        let mut hits = Vec::new();
        assert!(model.score("saya kecewa", &vader, &mut hits) < -0.05);
        assert_eq!(hits[0].lexicon, "id-seed");
        assert!(model.score("saya tidak kecewa", &vader, &mut Vec::new()) > 0.05);
        assert!(model.score("dokternya good", &vader, &mut Vec::new()) >= 0.0);
    }
}
