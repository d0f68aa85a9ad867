//! `earshot lexicon learn`: fit the Indonesian lexicon's weights.
//!
//! A multinomial logistic regression over the same normalized unigrams and
//! bigrams the scorer reads, with the seed and English valences as fixed
//! offsets, class weights balanced, L2-regularized, fitted by full-batch
//! Adam. Deterministic: the same data gives the same file.

// Three classes indexed together read clearer as index loops.
#![allow(clippy::needless_range_loop)]

use super::learned::{self, BIAS, NEG, NEU, POS};
use super::{SentimentModel, tokens};
use rustc_hash::FxHashMap;
use std::fmt::Write as _;

#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    /// 0 negative, 1 neutral, 2 positive.
    pub label: usize,
}

pub fn label(name: &str) -> Option<usize> {
    match name.trim() {
        "negative" => Some(NEG),
        "neutral" => Some(NEU),
        "positive" => Some(POS),
        _ => None,
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Terms seen in fewer documents are left out.
    pub min_df: usize,
    /// L2 strength per document (sklearn's 1 / (C·n)).
    pub l2: f32,
    pub iterations: usize,
    pub learning_rate: f32,
    /// Terms whose largest weight is smaller are not written.
    pub prune: f32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_df: 2,
            l2: 1.0 / 3.0,
            iterations: 400,
            learning_rate: 0.05,
            prune: 0.02,
        }
    }
}

struct Doc {
    features: Vec<u32>,
    offset: [f32; 3],
    label: usize,
}

/// Fits and returns the lexicon file's text.
pub fn learn(examples: &[Example], model: &SentimentModel, opts: &Options, provenance: &str) -> String {
    let mut df: FxHashMap<String, usize> = FxHashMap::default();
    let mut prepared = Vec::with_capacity(examples.len());
    let mut words = Vec::new();
    for e in examples {
        tokens::words(&e.text, &mut words);
        let terms = learned::terms(&words);
        for t in &terms {
            *df.entry(t.clone()).or_default() += 1;
        }
        prepared.push((terms, words.clone(), e.label));
    }
    let mut vocab: Vec<String> = df
        .into_iter()
        .filter(|(_, n)| *n >= opts.min_df)
        .map(|(t, _)| t)
        .collect();
    vocab.sort_unstable();
    let index: FxHashMap<&str, u32> = vocab.iter().enumerate().map(|(i, t)| (t.as_str(), i as u32)).collect();
    let docs: Vec<Doc> = prepared
        .iter()
        .map(|(terms, words, label)| {
            let priors = learned::priors(words, model.id.seed(), &model.en, |w| index.contains_key(w));
            Doc {
                features: terms.iter().filter_map(|t| index.get(t.as_str()).copied()).collect(),
                offset: learned::prior_logits(&priors),
                label: *label,
            }
        })
        .collect();

    let n = docs.len() as f32;
    let mut counts = [0f32; 3];
    for d in &docs {
        counts[d.label] += 1.0;
    }
    let class_weight = counts.map(|c| if c > 0.0 { n / (3.0 * c) } else { 0.0 });
    let l2 = opts.l2 / n;

    let mut w = vec![[0f32; 3]; vocab.len()];
    let mut b = [0f32; 3];
    let (mut mw, mut vw) = (vec![[0f32; 3]; vocab.len()], vec![[0f32; 3]; vocab.len()]);
    let (mut mb, mut vb) = ([0f32; 3], [0f32; 3]);
    let (beta1, beta2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let mut gw = vec![[0f32; 3]; vocab.len()];
    for step in 1..=opts.iterations {
        gw.iter_mut().for_each(|g| *g = [0.0; 3]);
        let mut gb = [0f32; 3];
        for d in &docs {
            let mut logits = b;
            for k in 0..3 {
                logits[k] += d.offset[k];
            }
            for f in &d.features {
                for k in 0..3 {
                    logits[k] += w[*f as usize][k];
                }
            }
            let p = learned::softmax(logits);
            let cw = class_weight[d.label] / n;
            for k in 0..3 {
                let g = cw * (p[k] - if k == d.label { 1.0 } else { 0.0 });
                gb[k] += g;
                for f in &d.features {
                    gw[*f as usize][k] += g;
                }
            }
        }
        let lr = opts.learning_rate;
        let (c1, c2) = (1.0 - beta1.powi(step as i32), 1.0 - beta2.powi(step as i32));
        for i in 0..w.len() {
            for k in 0..3 {
                let g = gw[i][k] + l2 * w[i][k];
                mw[i][k] = beta1 * mw[i][k] + (1.0 - beta1) * g;
                vw[i][k] = beta2 * vw[i][k] + (1.0 - beta2) * g * g;
                w[i][k] -= lr * (mw[i][k] / c1) / ((vw[i][k] / c2).sqrt() + eps);
            }
        }
        for k in 0..3 {
            mb[k] = beta1 * mb[k] + (1.0 - beta1) * gb[k];
            vb[k] = beta2 * vb[k] + (1.0 - beta2) * gb[k] * gb[k];
            b[k] -= lr * (mb[k] / c1) / ((vb[k] / c2).sqrt() + eps);
        }
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "# earshot learned Indonesian lexicon: term<TAB>negative<TAB>neutral<TAB>positive"
    );
    let _ = writeln!(out, "# {provenance}");
    let _ = writeln!(
        out,
        "# min_df={} l2={} iterations={} learning_rate={} prune={}",
        opts.min_df, opts.l2, opts.iterations, opts.learning_rate, opts.prune
    );
    let _ = writeln!(out, "{BIAS}\t{:.4}\t{:.4}\t{:.4}", b[0], b[1], b[2]);
    for (term, weights) in vocab.iter().zip(&w) {
        if weights.iter().any(|x| x.abs() >= opts.prune) {
            let _ = writeln!(out, "{term}\t{:.4}\t{:.4}\t{:.4}", weights[0], weights[1], weights[2]);
        }
    }
    out
}
