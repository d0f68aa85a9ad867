//! Read and score: the engine reads each normalized post (language,
//! provider; dropping those in other languages or about no provider) and
//! scores what it keeps. The engine sits behind an `ArcSwap`, so a reloaded
//! rule pack takes effect from the next post on, and no post waits or is
//! dropped for it.

use crate::metrics::Metrics;
use crate::model::Score;
use crate::post::Post;
use crate::scoring::Engine;
use crate::stages::DropReason;
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone)]
pub struct Scorer {
    engine: Arc<ArcSwap<Engine>>,
}

impl Scorer {
    pub fn new(engine: Arc<ArcSwap<Engine>>) -> Self {
        Scorer { engine }
    }

    /// Reads, then scores, with one engine for both.
    pub fn process(&self, post: &mut Post, metrics: &Metrics) -> Result<Score, DropReason> {
        let engine = self.engine.load();
        let start = Instant::now();
        let reading = engine.read(post, true);
        metrics.observe_stage("read", start);
        let reading = reading?;
        let start = Instant::now();
        let score = engine.score(post, &reading);
        metrics.observe_stage("score", start);
        Ok(score)
    }
}
