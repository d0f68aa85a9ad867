//! Score: the scoring engine on each post that passed the filters. The
//! engine sits behind an `ArcSwap`, so a reloaded rule pack takes effect
//! from the next post on, and no post waits or is dropped for it.

use crate::model::Score;
use crate::post::Post;
use crate::scoring::Engine;
use arc_swap::ArcSwap;
use std::sync::Arc;

#[derive(Clone)]
pub struct Scorer {
    engine: Arc<ArcSwap<Engine>>,
}

impl Scorer {
    pub fn new(engine: Arc<ArcSwap<Engine>>) -> Self {
        Scorer { engine }
    }

    pub fn score(&self, post: &Post) -> Score {
        self.engine.load().score(post)
    }
}
