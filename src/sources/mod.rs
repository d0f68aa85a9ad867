//! Sources: each connector reads its network, maps what it reads to `Post`
//! at the edge, and sends envelopes down one bounded channel. A source
//! starts from the cursor the committer last made durable for it.
//!
//! Adding a connector: a config struct and a variant in `config::SourceKind`,
//! a module here with a `run` function, and one arm in `spawn`.

pub mod bluesky;
pub mod discourse;
pub mod feed;
pub mod hyperkitty;
pub mod imap;
pub mod jetstream;
pub mod kafka;
pub mod mastodon;
pub mod mbox;
pub mod reddit;
pub mod replay;
pub mod webhook;

use crate::config::{SourceConfig, SourceKind};
use crate::metrics::Metrics;
use crate::post::{Ack, Envelope, Post, PostChange};
use std::sync::Arc;
use std::time::Duration;
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
    /// This source's per-post series, looked up once rather than per post.
    received: prometheus::IntCounter,
    lag: prometheus::Gauge,
}

impl SourceContext {
    pub fn new(
        name: &str,
        out: mpsc::Sender<Envelope>,
        stop: CancellationToken,
        metrics: Metrics,
        resume: Option<String>,
    ) -> Self {
        SourceContext {
            name: name.to_owned(),
            out,
            stop,
            received: metrics.received.with_label_values(&[name]),
            lag: metrics.source_lag.with_label_values(&[name]),
            metrics,
            resume,
        }
    }

    /// The error that stops this source, naming it.
    pub fn fail(&self, message: impl Into<String>) -> SourceError {
        SourceError::Failed {
            source_name: self.name.clone(),
            message: message.into(),
        }
    }

    /// Sends `post` (none: a position passed without a usable post) at
    /// `cursor` down the pipeline, counting it as received; false when the
    /// pipeline or the source stops.
    pub async fn emit(&self, post: Option<Post>, cursor: String) -> bool {
        let post = post.map(|mut p| {
            p.cursor.clone_from(&cursor);
            self.received(&p);
            p
        });
        self.send(Envelope::new(post, Ack::new(&self.name, cursor))).await
    }

    /// Sends what became of a post read earlier (deleted, edited) down the
    /// pipeline, to be recorded on its incident.
    pub async fn record_change(&self, change: PostChange, cursor: String) -> bool {
        let mut envelope = Envelope::new(None, Ack::new(&self.name, cursor));
        envelope.change = Some(change);
        self.send(envelope).await
    }

    async fn send(&self, envelope: Envelope) -> bool {
        tokio::select! {
            sent = self.out.send(envelope) => sent.is_ok(),
            _ = self.stop.cancelled() => false,
        }
    }

    /// Counts `post` as received, and its age as the source's lag.
    pub fn received(&self, post: &Post) {
        self.received.inc();
        let age = (chrono::Utc::now() - post.created_at).num_milliseconds() as f64 / 1000.0;
        self.lag.set(age.max(0.0));
    }

    /// Counts one request to the network.
    pub fn request(&self) {
        self.metrics.source_requests.with_label_values(&[&self.name]).inc();
    }

    /// Counts a failure of `kind` (see `Metrics::source_errors`); but for a
    /// malformed item, the source is retrying until it next gets through.
    pub fn error(&self, kind: &str) {
        self.metrics.source_errors.with_label_values(&[&self.name, kind]).inc();
        if kind != "malformed" {
            self.metrics.source_health(&self.name, format!("retrying: {kind}"));
        }
    }

    /// The network answered: the source is working.
    pub fn healthy(&self) {
        self.metrics.source_health(&self.name, "ok");
    }

    /// Counts and logs an item that could not be read, at `at` (file:line,
    /// mailbox/uid, partition@offset…); the source goes on without it.
    pub fn malformed(&self, at: &str, error: &dyn std::fmt::Display) {
        self.metrics.dropped.with_label_values(&["malformed"]).inc();
        self.error("malformed");
        tracing::warn!(source = %self.name, %at, %error, "malformed item skipped");
    }

    /// A post as read: stamped with its `cursor` and counted as received;
    /// or malformed, counted and logged with where it is (`at`, formatted
    /// only then) and `None`.
    pub fn accept<E: std::fmt::Display>(
        &self,
        read: Result<Post, E>,
        at: impl FnOnce() -> String,
        cursor: &str,
    ) -> Option<Post> {
        match read {
            Ok(mut p) => {
                self.received(&p);
                p.cursor = cursor.to_owned();
                Some(p)
            }
            Err(e) => {
                self.malformed(&at(), &e);
                None
            }
        }
    }

    /// An item of a page as the API documents it, or `None` when it is not
    /// (counted and logged as malformed at `at`): one odd item is skipped,
    /// not its page.
    pub fn item<T: serde::de::DeserializeOwned>(&self, value: serde_json::Value, at: &str) -> Option<T> {
        serde_json::from_value(value).map_err(|e| self.malformed(at, &e)).ok()
    }

    /// A secret from the environment variable `var` (`what` it is, for the
    /// error when it is missing or empty).
    pub fn secret(&self, var: &str, what: &str) -> Result<String, SourceError> {
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(self.fail(format!("environment variable {var} ({what}) is not set"))),
        }
    }
}

/// Percent-encodes a URL query value (RFC 3986 unreserved bytes kept).
pub fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// When a polling connector polls next: `interval` after a poll that got
/// everything, after one that did not a doubling, jittered backoff (or
/// what the network asked for, if longer).
pub struct Pacing {
    backoff: Duration,
    interval: Duration,
    once: bool,
    failed: Option<Duration>,
}

const MAX_BACKOFF: Duration = Duration::from_secs(900);

impl Pacing {
    pub fn new(interval_secs: u64, once: bool) -> Self {
        Pacing {
            backoff: Duration::from_secs(1),
            interval: Duration::from_secs(interval_secs.max(1)),
            once,
            failed: None,
        }
    }

    /// Notes a failed request of this poll; `after`: what the far side
    /// asked to wait.
    pub fn failed(&mut self, after: Duration) {
        let wait = crate::retry::jitter(self.backoff).max(after);
        self.failed = Some(self.failed.map_or(wait, |w| w.max(wait)));
    }

    /// Waits for the next poll; false when the source is done (a `once`
    /// source after a poll that got everything, or a stop).
    pub async fn rest(&mut self, stop: &CancellationToken) -> bool {
        let wait = match self.failed.take() {
            Some(wait) => {
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                wait
            }
            None if self.once => return false,
            None => {
                self.backoff = Duration::from_secs(1);
                self.interval
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = stop.cancelled() => false,
        }
    }
}

/// A TLS client trusting the public roots and the certificates of
/// `ca_file` (a hospital's own CA, a self-signed server).
pub fn tls_connector(ca_file: Option<&std::path::Path>) -> Result<tokio_rustls::TlsConnector, String> {
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("ca_file {}: no PEM certificate in it", path.display()));
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let tls = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(tls)))
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source `{source_name}`: {message}")]
    Failed { source_name: String, message: String },
}

/// `Ok(())` when the source reached the end of a finite input, or stopped.
pub type SourceResult = Result<(), SourceError>;

/// Starts a source; its end on an error shows in `/healthz`.
pub fn spawn(config: &SourceConfig, ctx: SourceContext) -> JoinHandle<SourceResult> {
    let (name, metrics) = (ctx.name.clone(), ctx.metrics.clone());
    metrics.source_health(&name, "ok");
    let task = start(config, ctx);
    tokio::spawn(async move {
        let result = task.await.unwrap_or_else(|e| {
            Err(SourceError::Failed {
                source_name: name.clone(),
                message: format!("panicked: {e}"),
            })
        });
        if let Err(e) = &result {
            metrics.source_health(&name, format!("failed: {e}"));
        }
        result
    })
}

fn start(config: &SourceConfig, ctx: SourceContext) -> JoinHandle<SourceResult> {
    match &config.kind {
        SourceKind::Replay(replay) => tokio::spawn(replay::run(replay.clone(), ctx)),
        SourceKind::Kafka(kafka) => tokio::spawn(kafka::run(kafka.clone(), ctx)),
        SourceKind::Mbox(mbox) => tokio::spawn(mbox::run(mbox.clone(), ctx)),
        SourceKind::Feed(feed) => tokio::spawn(feed::run(feed.clone(), ctx)),
        SourceKind::Mastodon(m) => tokio::spawn(mastodon::run(m.clone(), ctx)),
        SourceKind::Webhook(w) => tokio::spawn(webhook::run(w.clone(), ctx)),
        SourceKind::Reddit(r) => tokio::spawn(reddit::run(r.clone(), ctx)),
        SourceKind::Bluesky(b) => tokio::spawn(bluesky::run(b.clone(), ctx)),
        SourceKind::Imap(i) => tokio::spawn(imap::run(i.clone(), ctx)),
        SourceKind::Discourse(d) => tokio::spawn(discourse::run(d.clone(), ctx)),
        SourceKind::Jetstream(j) => tokio::spawn(jetstream::run(j.clone(), ctx)),
        SourceKind::Hyperkitty(h) => tokio::spawn(hyperkitty::run(h.clone(), ctx)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn emit_counts_the_post_and_its_age_as_lag() {
        let (out, mut rx) = mpsc::channel(4);
        let metrics = Metrics::new();
        let ctx = SourceContext::new("s", out, CancellationToken::new(), metrics.clone(), None);
        let post = Post {
            created_at: chrono::Utc::now() - chrono::Duration::hours(1),
            ..Post::default()
        };
        assert!(ctx.emit(Some(post), "c1".into()).await);
        assert!(ctx.emit(None, "c2".into()).await);
        assert_eq!(metrics.received.with_label_values(&["s"]).get(), 1);
        let lag = metrics.source_lag.with_label_values(&["s"]).get();
        assert!((3599.0..3700.0).contains(&lag), "{lag}");
        assert_eq!(rx.recv().await.unwrap().post.unwrap().cursor, "c1");
        assert!(rx.recv().await.unwrap().post.is_none());
    }
}
