//! Sources: each connector reads its network, maps what it reads to `Post`
//! at the edge, and sends envelopes down one bounded channel. A source
//! starts from the cursor the committer last made durable for it.
//!
//! Adding a connector: a config struct and a variant in `config::SourceKind`,
//! a module here with a `run` function, and one arm in `spawn`.

pub mod feed;
pub mod kafka;
pub mod mastodon;
pub mod mbox;
pub mod replay;
pub mod webhook;

use crate::config::{SourceConfig, SourceKind};
use crate::metrics::Metrics;
use crate::post::Envelope;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What every source gets from the topology.
#[derive(Clone)]
pub struct SourceContext {
    pub name: String,
    pub out: mpsc::Sender<Envelope>,
    pub stop: CancellationToken,
    pub metrics: Metrics,
    /// The committed cursor position to resume from, if any.
    pub resume: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source `{source_name}`: {message}")]
    Failed { source_name: String, message: String },
}

/// `Ok(())` when the source reached the end of a finite input, or stopped.
pub type SourceResult = Result<(), SourceError>;

pub fn spawn(config: &SourceConfig, ctx: SourceContext) -> JoinHandle<SourceResult> {
    match &config.kind {
        SourceKind::Replay(replay) => tokio::spawn(replay::run(replay.clone(), ctx)),
        SourceKind::Kafka(kafka) => tokio::spawn(kafka::run(kafka.clone(), ctx)),
        SourceKind::Mbox(mbox) => tokio::spawn(mbox::run(mbox.clone(), ctx)),
        SourceKind::Feed(feed) => tokio::spawn(feed::run(feed.clone(), ctx)),
        SourceKind::Mastodon(m) => tokio::spawn(mastodon::run(m.clone(), ctx)),
        SourceKind::Webhook(w) => tokio::spawn(webhook::run(w.clone(), ctx)),
    }
}
