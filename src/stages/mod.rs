//! The stages a post goes through between its source and the committer.
//!
//! `normalize` cleans and folds a post; the engine then reads it (`language`,
//! `relevance`: both keep or drop it with a counted reason) and `score`
//! turns a kept post into a `Score`. They are pure and stateless, so they
//! run off the committer's thread and can be spread over cores. `incident`
//! and `alert` run in the committer, inside the transaction that makes
//! their output durable.

pub mod alert;
pub mod incident;
pub mod language;
pub mod normalize;
pub mod relevance;
pub mod score;
pub mod spam;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::model::Score;
use crate::post::Post;
use std::time::Instant;

/// Why a post left the pipeline early. The label is the metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    Empty,
    Language,
    NoProvider,
    Spam,
}

impl DropReason {
    pub fn label(self) -> &'static str {
        match self {
            DropReason::Empty => "empty",
            DropReason::Language => "language",
            DropReason::NoProvider => "no_provider",
            DropReason::Spam => "spam",
        }
    }
}

pub type Verdict = Result<(), DropReason>;

pub trait Filter: Send + Sync {
    fn name(&self) -> &'static str;
    fn apply(&self, post: &mut Post) -> Verdict;
}

/// What the stateless stages made of one post.
#[derive(Debug)]
pub enum Outcome {
    Dropped(DropReason),
    Scored(Box<Scored>),
}

/// A post that passed the filters, its score and its fingerprint.
#[derive(Debug)]
pub struct Scored {
    pub post: Post,
    pub score: Score,
    pub fingerprint: crate::dedup::Fingerprint,
}

/// SHA-256 (hex) of a post's subject and text as received: what a ticket
/// shows as evidence of what was posted.
pub fn digest(post: &Post) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    if let Some(s) = &post.subject {
        h.update(s.as_bytes());
        h.update(b"\n");
    }
    h.update(post.text.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The stateless stages in order.
pub struct Stages {
    filters: Vec<Box<dyn Filter>>,
    scorer: score::Scorer,
    spam: spam::Spam,
}

impl Stages {
    pub fn new(config: &Config, scorer: score::Scorer) -> Self {
        Stages {
            filters: vec![Box::new(normalize::Normalize::new(&config.pipeline))],
            scorer,
            spam: spam::Spam::new(&config.spam),
        }
    }

    pub fn process(&self, mut post: Post, metrics: &Metrics) -> Outcome {
        post.digest = digest(&post);
        for filter in &self.filters {
            let start = Instant::now();
            let verdict = filter.apply(&mut post);
            metrics.observe_stage(filter.name(), start);
            if let Err(reason) = verdict {
                return Outcome::Dropped(reason);
            }
        }
        let score = match self.scorer.process(&mut post, metrics) {
            Ok(score) => score,
            Err(reason) => return Outcome::Dropped(reason),
        };
        if self.spam.is_spam(&post, &score) {
            tracing::debug!(post = %post.id, "spam: links, hashtags or a promotion");
            return Outcome::Dropped(DropReason::Spam);
        }
        let fingerprint = crate::dedup::fingerprint(&post);
        Outcome::Scored(Box::new(Scored {
            post,
            score,
            fingerprint,
        }))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::post::{Author, Post};
    use chrono::{TimeZone, Utc};

    /// A post as a connector would hand it over.
    pub fn post(text: &str) -> Post {
        Post {
            id: "test:1".into(),
            source: "test".into(),
            channel: "mastodon".into(),
            native_id: "1".into(),
            provider: None,
            author: Author {
                handle: "@pasien".into(),
                display_name: None,
                audience: Some(120),
            },
            subject: None,
            text: text.into(),
            lang: None,
            lang_confidence: 0.0,
            url: None,
            created_at: Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap(),
            refs: Default::default(),
            ..Post::default()
        }
    }

    pub fn normalized(text: &str) -> Post {
        let mut p = post(text);
        p.norm = crate::text::fold(text);
        crate::text::words_of(&p.norm, &mut p.words);
        p
    }
}
