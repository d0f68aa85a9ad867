//! Sentiment in English and Indonesian, in [-1, 1], with the terms that
//! made it. English goes through a VADER-style rule-based scorer; Indonesian
//! through a learned lexicon (see `learned`). Both read the other language's
//! words in code-mixed posts.

pub mod learn;
pub mod learned;
pub mod tokens;
pub mod vader;

use rustc_hash::FxHashMap;

/// The lexicons built into the binary.
pub const EN_VADER: &str = include_str!("../../rules/lexicons/en-vader.tsv");
pub const EMOJI_VADER: &str = include_str!("../../rules/lexicons/emoji-vader.tsv");
pub const ID_SEED: &str = include_str!("../../rules/lexicons/id-seed.tsv");
pub const ID_LEARNED: &str = include_str!("../../rules/lexicons/id-learned.tsv");

/// One lexicon term that moved the score.
#[derive(Debug, Clone, PartialEq)]
pub struct TermHit {
    pub term: String,
    /// Its valence after modifiers (VADER units for English, logit
    /// difference positive − negative for the learned lexicon).
    pub weight: f32,
    pub lexicon: &'static str,
}

/// Term hits, collected only when someone will read them: building them
/// costs more than the scoring itself.
#[derive(Debug, Default)]
pub struct Hits {
    pub keep: bool,
    pub list: Vec<TermHit>,
}

impl Hits {
    pub fn kept() -> Self {
        Hits {
            keep: true,
            list: Vec::new(),
        }
    }

    pub fn add(&mut self, hit: impl FnOnce() -> TermHit) {
        if self.keep {
            self.list.push(hit());
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Polarity {
    pub score: f32,
    /// Which scorer read it: `en` or `id`.
    pub model: &'static str,
    pub terms: Vec<TermHit>,
}

pub struct SentimentModel {
    pub en: vader::Vader,
    pub id: learned::Learned,
}

/// `term<TAB>number` lines; comments and malformed lines are skipped.
pub fn lexicon_map(text: &str) -> FxHashMap<String, f32> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let term = cols.next()?.trim();
            let v = cols.next()?.trim().parse().ok()?;
            (!term.is_empty()).then(|| (term.to_owned(), v))
        })
        .collect()
}

impl SentimentModel {
    pub fn builtin() -> SentimentModel {
        let en = vader::Vader::new(EN_VADER, EMOJI_VADER);
        let id = learned::Learned::new(ID_LEARNED, ID_SEED, &en);
        SentimentModel { en, id }
    }

    /// `lang` is the post's language; anything but Indonesian reads as English.
    pub fn analyze(&self, text: &str, lang: Option<&str>) -> Polarity {
        self.analyze_with(text, lang, true)
    }

    /// As `analyze`, listing the terms only when `terms` is true.
    pub fn analyze_with(&self, text: &str, lang: Option<&str>, terms: bool) -> Polarity {
        let mut hits = Hits {
            keep: terms,
            list: Vec::new(),
        };
        let (score, model) = match lang {
            Some("id") => (self.id.score(text, &mut hits), "id"),
            _ => (self.en.score(text, &mut hits), "en"),
        };
        Polarity {
            score,
            model,
            terms: hits.list,
        }
    }
}
