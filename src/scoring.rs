//! The scoring engine: sentiment, rule packs and reach → risk (0–100) and
//! severity, with every contribution kept as a reason.
//!
//! Risk is the sum of three parts:
//! - **sentiment**: negativity (−sentiment, when below 0) × 40 points;
//! - **rules**: the weights of the rules that fired; complaint weights add
//!   with diminishing returns (the largest in full, each next one at 60% of
//!   the one before), and the negative weights of praise, questions and
//!   suggestions subtract;
//! - **reach**: up to 12 points for the author's audience (3 per decade of
//!   followers), in proportion to how serious the post already is.
//!
//! Severity comes from the configured thresholds, raised to the floor of any
//! fired rule that has one (unless the post reads as clearly positive), and
//! is `none` for a post about no configured provider.

use crate::config::{Config, RiskConfig, RulesSource};
use crate::diag::Diagnostics;
use crate::model::{Reason, Score, Severity};
use crate::post::Post;
use crate::rules::{Rules, Subject};
use crate::sentiment::SentimentModel;
use crate::sentiment::learned::Bound;
use crate::stages::DropReason;
use crate::stages::language::Language;
use crate::stages::relevance::Relevance;
use crate::text::Vocab;
use std::borrow::Cow;
use std::sync::Arc;

const SENTIMENT_POINTS: f32 = 40.0;
const DIMINISHING: f32 = 0.6;
const REACH_PER_DECADE: f32 = 3.0;
const REACH_MAX: f32 = 12.0;
/// Lexicon terms listed among the reasons, strongest first.
const TERMS_SHOWN: usize = 8;

pub struct Engine {
    pub sentiment: Arc<SentimentModel>,
    pub rules: Rules,
    pub risk: RiskConfig,
    /// Every word the tables below know, numbered: a post's words are
    /// looked up once, then read by number.
    vocab: Vocab,
    language: Language,
    relevance: Relevance,
    learned: Bound,
}

/// What reading a post found: its words' numbers and where it names a
/// provider. The same engine must score it.
#[derive(Debug, Default, Clone)]
pub struct Reading {
    pub ids: Vec<u32>,
    /// White-space tokens that name a provider (ascending): the sentiment
    /// scorers read past them, so that "Harapan Sehat" ("healthy hope")
    /// reads as a name, not as praise.
    pub mentions: Vec<u32>,
}

/// Loads the rule packs the config names (see `ScoringConfig`).
pub fn load_rules(source: &RulesSource) -> Result<Rules, Diagnostics> {
    match source {
        RulesSource::Builtin => Ok(Rules::builtin()),
        RulesSource::Dir(dir) => Rules::load_dir(dir),
    }
}

impl Engine {
    /// The engine a config asks for, with the built-in lexicons.
    pub fn from_config(config: &Config) -> Result<Engine, Diagnostics> {
        let rules = load_rules(&config.scoring.rules_source())?;
        Ok(Engine::new(Arc::new(SentimentModel::builtin()), rules, config))
    }

    /// Providers, languages and risk thresholds come from `config`.
    pub fn new(sentiment: Arc<SentimentModel>, rules: Rules, config: &Config) -> Engine {
        // The rules' numbering first, so that their word numbers hold here.
        let mut vocab = rules.vocab().clone();
        let relevance = Relevance::new(&config.providers, &mut vocab);
        let language = Language::new(&config.pipeline.languages, &mut vocab);
        let learned = sentiment.id.bind(&mut vocab);
        Engine {
            sentiment,
            rules,
            risk: config.risk.clone(),
            vocab,
            language,
            relevance,
            learned,
        }
    }

    /// Reads a normalized post (`norm` and `words` filled): numbers its
    /// words, sets its language and its provider. With `drop`, a post in
    /// another language or about no provider is refused with the reason;
    /// without, every post is read to the end (for `earshot score`).
    pub fn read(&self, post: &mut Post, drop: bool) -> Result<Reading, DropReason> {
        let mut ids = Vec::with_capacity(post.words.len());
        self.vocab.lookup(&post.norm, &post.words, &mut ids);
        if let Err(reason) = self.language.decide(post, &ids, drop) {
            if drop {
                return Err(reason);
            }
            post.lang = None;
        }
        let mentions = self.relevance.find(&post.norm, &post.words, &ids);
        post.provider = mentions.provider;
        if drop && post.provider.is_none() {
            return Err(DropReason::NoProvider);
        }
        Ok(Reading {
            ids,
            mentions: mentions.tokens,
        })
    }

    /// The language of a text among the configured ones (for tools).
    pub fn identify_language(&self, text: &str) -> Option<String> {
        self.language.identify(&crate::text::fold(text), &self.vocab)
    }

    /// Scores a post `read` has read, with its reasons.
    pub fn score(&self, post: &Post, reading: &Reading) -> Score {
        self.score_with(post, reading, true)
    }

    /// As `score`; without reasons when `explain` is false (they cost more
    /// than the scoring).
    pub fn score_with(&self, post: &Post, reading: &Reading, explain: bool) -> Score {
        let lang = post.lang.as_deref();
        let mut hits = crate::sentiment::Hits {
            keep: explain,
            list: Vec::new(),
        };
        let (sentiment, model) = if lang == Some("id") {
            let s = self.sentiment.id.score_read(
                &self.learned,
                &post.norm,
                &post.words,
                &reading.ids,
                &reading.mentions,
                &mut hits,
            );
            (s, "id")
        } else {
            let text = match &post.subject {
                Some(subject) => Cow::Owned(format!("{subject}\n{}", post.text)),
                None => Cow::Borrowed(post.text.as_str()),
            };
            let text = if reading.mentions.is_empty() {
                text
            } else {
                Cow::Owned(without_tokens(&text, &reading.mentions))
            };
            (self.sentiment.en.score(&text, &mut hits), "en")
        };
        let mut reasons = Vec::new();
        let sentiment_points = (-sentiment).max(0.0) * SENTIMENT_POINTS;
        if explain {
            reasons.push(Reason {
                kind: "sentiment".into(),
                id: model.into(),
                version: None,
                matched: format!("{sentiment:.3}"),
                weight: sentiment_points,
            });
            let mut terms = hits.list;
            terms.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
            reasons.extend(terms.into_iter().take(TERMS_SHOWN).map(|t| Reason {
                kind: "lexicon".into(),
                id: t.lexicon.into(),
                version: None,
                matched: t.term,
                weight: t.weight,
            }));
        }

        let mut fired = self.rules.evaluate(
            Subject {
                folded: &post.norm,
                words: &post.words,
                ids: &reading.ids,
                lang,
                has_provider: post.provider.is_some(),
            },
            None,
        );
        fired.sort_by(|a, b| {
            self.rules.rules[b.rule]
                .weight
                .total_cmp(&self.rules.rules[a.rule].weight)
        });
        let mut rule_points = 0.0;
        let mut complaint_points = 0.0;
        let mut factor = 1.0;
        let mut floor = Severity::None;
        let mut categories: Vec<String> = Vec::new();
        for f in &fired {
            let rule = &self.rules.rules[f.rule];
            let points = if rule.weight > 0.0 {
                let p = rule.weight * factor;
                factor *= DIMINISHING;
                complaint_points += p;
                p
            } else {
                rule.weight
            };
            rule_points += points;
            if explain {
                reasons.push(Reason {
                    kind: "rule".into(),
                    id: rule.id.clone(),
                    version: Some(rule.version),
                    matched: f
                        .spans
                        .first()
                        .map(|(_, s)| post.norm[s.clone()].to_owned())
                        .unwrap_or_default(),
                    weight: points,
                });
            }
            if let Some(sev) = rule.severity
                && sev > floor
            {
                floor = sev;
            }
            for c in &rule.categories {
                if !categories.contains(c) {
                    categories.push(c.clone());
                }
            }
        }

        let mut risk = (sentiment_points + rule_points).max(0.0);
        if risk > 0.0 {
            let audience = post.author.audience.unwrap_or(0) as f32;
            let reach = ((audience + 1.0).log10() * REACH_PER_DECADE).min(REACH_MAX) * (risk / 60.0).min(1.0);
            if reach >= 0.5 {
                if explain {
                    reasons.push(Reason {
                        kind: "reach".into(),
                        id: "audience".into(),
                        version: None,
                        matched: format!("{audience} followers"),
                        weight: reach,
                    });
                }
                risk += reach;
            }
        }
        let risk = risk.clamp(0.0, 100.0);
        let mut severity = self.risk.severity(risk);
        if floor > severity && sentiment < 0.5 {
            if explain {
                reasons.push(Reason {
                    kind: "floor".into(),
                    id: floor.as_str().into(),
                    version: None,
                    matched: String::new(),
                    weight: 0.0,
                });
            }
            severity = floor;
        }
        if post.provider.is_none() {
            severity = Severity::None;
        }
        // A complaint: a complaint rule fired on a post that is not clearly
        // positive, or the post is plainly negative, and more so when a rule
        // read it as a question, praise or suggestion.
        let benign = rule_points < complaint_points;
        let negative_enough = if benign && complaint_points == 0.0 { -0.7 } else { -0.4 };
        if (complaint_points > 0.0 && sentiment < 0.5) || sentiment <= negative_enough {
            categories.push("complaint".into());
        }
        Score {
            sentiment,
            risk,
            severity,
            categories,
            reasons,
        }
    }
}

/// `text` without the word characters of the white-space tokens `skip`
/// (ascending); their punctuation stays, for the emphasis it carries.
fn without_tokens(text: &str, skip: &[u32]) -> String {
    let mut out = String::with_capacity(text.len());
    for (k, token) in text.split_whitespace().enumerate() {
        if !out.is_empty() {
            out.push(' ');
        }
        if skip.binary_search(&(k as u32)).is_ok() {
            out.extend(token.chars().filter(|c| !c.is_alphanumeric()));
        } else {
            out.push_str(token);
        }
    }
    out
}
