//! `earshot eval`: accuracy figures over labelled data, and the readers of
//! that data (shared with `earshot lexicon learn`).
//!
//! Expects the layout of `../shared/data`: `smsa/{train,valid}.tsv`
//! (`text<TAB>label`), `nusax/{indonesian,english}/{train,valid}.csv`
//! (`id,text,label`), `nhs/v6framework_230831.csv` (`FFT answer`,
//! `Comment sentiment` 1 very positive … 5 very negative).

use crate::sentiment::learn::{Example, label};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

pub fn smsa(path: &Path) -> Result<Vec<Example>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| read_err(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some((t, l)) = line.rsplit_once('\t') else { continue };
        let label = label(l).ok_or_else(|| read_err(path, format!("line {}: unknown label `{l}`", i + 1)))?;
        out.push(Example {
            text: t.to_owned(),
            label,
        });
    }
    Ok(out)
}

/// NusaX rows with their ids, so that translations can be paired.
pub fn nusax(path: &Path) -> Result<Vec<(String, Example)>, DataError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| read_err(path, e))?;
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| read_err(path, e))?;
        let (Some(id), Some(text), Some(l)) = (row.get(0), row.get(1), row.get(2)) else {
            continue;
        };
        let label = label(l).ok_or_else(|| read_err(path, format!("unknown label `{l}`")))?;
        out.push((
            id.to_owned(),
            Example {
                text: text.to_owned(),
                label,
            },
        ));
    }
    Ok(out)
}

/// NHS comments with their rating, 1 (very positive) … 5 (very negative).
pub fn nhs(path: &Path) -> Result<Vec<(String, f32)>, DataError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| read_err(path, e))?;
    let headers = reader.headers().map_err(|e| read_err(path, e))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| read_err(path, format!("no `{name}` column")))
    };
    let (text_col, rating_col) = (col("FFT answer")?, col("Comment sentiment")?);
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| read_err(path, e))?;
        let (Some(text), Some(rating)) = (row.get(text_col), row.get(rating_col)) else {
            continue;
        };
        if let Ok(r) = rating.trim().parse::<f32>()
            && !text.trim().is_empty()
        {
            out.push((text.to_owned(), r));
        }
    }
    Ok(out)
}

/// Sentiment in [-1, 1] → class, by VADER's ±0.05 convention.
pub fn class(sentiment: f32) -> usize {
    if sentiment >= 0.05 {
        2
    } else if sentiment <= -0.05 {
        0
    } else {
        1
    }
}

pub fn macro_f1(gold: &[usize], predicted: &[usize]) -> f64 {
    let mut f1 = 0.0;
    for c in 0..3 {
        let tp = gold.iter().zip(predicted).filter(|(g, p)| **g == c && **p == c).count() as f64;
        let fp = gold.iter().zip(predicted).filter(|(g, p)| **g != c && **p == c).count() as f64;
        let fn_ = gold.iter().zip(predicted).filter(|(g, p)| **g == c && **p != c).count() as f64;
        let (precision, recall) = (tp / (tp + fp).max(1.0), tp / (tp + fn_).max(1.0));
        if precision + recall > 0.0 {
            f1 += 2.0 * precision * recall / (precision + recall);
        }
    }
    f1 / 3.0
}

pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// One printed figure.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub n: usize,
}

/// Every figure over `data`, scoring each text with `sentiment(text, lang)`
/// and identifying its language with `detect(text)`.
pub fn figures(
    data: &Path,
    sentiment: impl Fn(&str, &str) -> f32,
    detect: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Figure>, DataError> {
    let mut out = Vec::new();
    let f1 = |examples: &[Example], lang: &str| {
        let gold: Vec<usize> = examples.iter().map(|e| e.label).collect();
        let pred: Vec<usize> = examples.iter().map(|e| class(sentiment(&e.text, lang))).collect();
        (macro_f1(&gold, &pred), pred)
    };
    let smsa_valid = smsa(&data.join("smsa/valid.tsv"))?;
    out.push(Figure {
        name: "SmSA valid macro-F1 (id)".into(),
        value: f1(&smsa_valid, "id").0,
        n: smsa_valid.len(),
    });
    let id = nusax(&data.join("nusax/indonesian/valid.csv"))?;
    let en = nusax(&data.join("nusax/english/valid.csv"))?;
    let id_examples: Vec<Example> = id.iter().map(|(_, e)| e.clone()).collect();
    let en_examples: Vec<Example> = en.iter().map(|(_, e)| e.clone()).collect();
    let (id_f1, id_pred) = f1(&id_examples, "id");
    let (en_f1, en_pred) = f1(&en_examples, "en");
    out.push(Figure {
        name: "NusaX valid macro-F1 (id)".into(),
        value: id_f1,
        n: id.len(),
    });
    out.push(Figure {
        name: "NusaX valid macro-F1 (en)".into(),
        value: en_f1,
        n: en.len(),
    });
    let mut agree = 0;
    let mut pairs = 0;
    for (i, (key, _)) in id.iter().enumerate() {
        if let Some(j) = en.iter().position(|(k, _)| k == key) {
            pairs += 1;
            agree += usize::from(id_pred[i] == en_pred[j]);
        }
    }
    out.push(Figure {
        name: "NusaX id/en agreement".into(),
        value: agree as f64 / pairs.max(1) as f64,
        n: pairs,
    });
    let mut right = 0;
    let mut total = 0;
    for (examples, lang) in [(&smsa_valid, "id"), (&id_examples, "id"), (&en_examples, "en")] {
        for e in examples.iter() {
            total += 1;
            right += usize::from(detect(&e.text).as_deref() == Some(lang));
        }
    }
    out.push(Figure {
        name: "Language identification accuracy".into(),
        value: right as f64 / total.max(1) as f64,
        n: total,
    });
    let nhs = nhs(&data.join("nhs/v6framework_230831.csv"))?;
    // Ratings run from 1 (very positive) to 5 (very negative): flip them so
    // that agreement reads as a positive correlation.
    let x: Vec<f64> = nhs.iter().map(|(t, _)| sentiment(t, "en") as f64).collect();
    let y: Vec<f64> = nhs.iter().map(|(_, r)| -(*r as f64)).collect();
    out.push(Figure {
        name: "NHS comments Pearson r (en)".into(),
        value: pearson(&x, &y),
        n: nhs.len(),
    });
    Ok(out)
}

/// Labelled posts about the default providers (`fixtures/eval`): F1 of
/// high-or-critical detection and the share with the right provider (or
/// none). `score(text)` gives (provider, severity).
pub fn hospital(
    path: &Path,
    score: impl Fn(&str) -> (Option<String>, crate::model::Severity),
) -> Result<Vec<Figure>, DataError> {
    #[derive(serde::Deserialize)]
    struct Row {
        text: String,
        provider: Option<String>,
        high: bool,
    }
    let text = std::fs::read_to_string(path).map_err(|e| read_err(path, e))?;
    let (mut tp, mut fp, mut fn_, mut right, mut n) = (0f64, 0f64, 0f64, 0usize, 0usize);
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let row: Row = serde_json::from_str(line).map_err(|e| read_err(path, format!("line {}: {e}", i + 1)))?;
        let (provider, severity) = score(&row.text);
        let high = severity >= crate::model::Severity::High;
        n += 1;
        right += usize::from(provider == row.provider);
        match (high, row.high) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fn_ += 1.0,
            _ => {}
        }
    }
    Ok(vec![
        Figure {
            name: "Hospital posts high/critical F1".into(),
            value: 2.0 * tp / (2.0 * tp + fp + fn_).max(1.0),
            n,
        },
        Figure {
            name: "Hospital posts right provider".into(),
            value: right as f64 / n.max(1) as f64,
            n,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics() {
        assert_eq!(macro_f1(&[0, 1, 2], &[0, 1, 2]), 1.0);
        assert!((macro_f1(&[0, 0, 2, 2], &[0, 2, 2, 2]) - (2.0 / 3.0 + 0.8) / 3.0).abs() < 1e-9);
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-9);
        assert_eq!((class(0.05), class(0.0499), class(-0.05)), (2, 1, 0));
    }
}
