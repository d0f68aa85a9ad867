//! Sinks and their delivery workers.
//!
//! The committer writes tickets and alerts to the outbox; one worker per
//! sink drains that sink's rows in order, hands them to the sink, and marks
//! them delivered (with the sink's resume point) only once the sink has them.
//! A failing sink is retried with backoff and never blocks the pipeline.
//!
//! Adding a sink: a config struct and a variant in `config::SinkKind`, a
//! module here implementing `Sink`, and one arm in `spawn`.

pub mod console;
pub mod http;
pub mod jsonl;
pub mod kafka;
pub mod sqlite;

use crate::config::{SinkConfig, SinkKind};
use crate::metrics::Metrics;
use crate::retry::jitter;
use crate::state::{OutboxRow, State};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("outbox row {key}: {message}")]
    BadRow { key: String, message: String },
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// Worth trying again, after `retry_after` when the far side said so.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The far side refused row `rows[delivered]` for good (a 4xx); the rows
    /// before it were delivered. That row goes to the dead letters.
    #[error("refused {key}: {response}")]
    Refused {
        delivered: usize,
        key: String,
        response: String,
    },
    /// The first `delivered` rows went through, then `cause`.
    #[error("{cause} (after {delivered} delivered)")]
    Partial { delivered: usize, cause: Box<SinkError> },
}

impl SinkError {
    /// Failures that retrying cannot mend: the worker stops and reports
    /// them; the rows stay in the outbox for the next run.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SinkError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

pub trait Sink: Send + 'static {
    /// Called once before the first delivery with the position the sink
    /// stored with its last confirmed delivery.
    fn open(&mut self, position: Option<String>) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Delivers rows in order, all or none; returns the position to store
    /// with them, if the sink keeps one.
    fn deliver(&mut self, rows: &[OutboxRow]) -> impl Future<Output = Result<Option<String>, SinkError>> + Send;
}

/// What the topology hands each worker.
#[derive(Clone)]
pub struct Delivery {
    pub state_path: PathBuf,
    pub metrics: Metrics,
    /// Bumped after each committed batch.
    pub committed: watch::Receiver<u64>,
    /// Cancelled when the committer has committed its last batch.
    pub finished: CancellationToken,
    /// Cancelled when workers must stop even with rows left (they stay in
    /// the outbox for the next run).
    pub abort: CancellationToken,
    /// A consumer-group member's hold on delivery (`None`: deliver all).
    pub gate: Option<Gate>,
}

/// A group member delivers a row only once the changelog holds it, and
/// tells the changelog what it delivered, so that the partition's next
/// owner neither loses nor repeats it.
#[derive(Clone)]
pub struct Gate {
    /// Rows up to this outbox sequence number are released.
    pub released: Arc<AtomicI64>,
    /// Told the keys of rows delivered or dead.
    pub settled: Arc<dyn Fn(Vec<String>) + Send + Sync>,
}

impl Gate {
    fn upto(gate: &Option<Gate>) -> i64 {
        gate.as_ref().map_or(i64::MAX, |g| g.released.load(Ordering::Acquire))
    }

    fn settled(gate: &Option<Gate>, rows: &[OutboxRow], seqs: &[i64]) {
        if let Some(g) = gate {
            let keys = rows
                .iter()
                .filter(|r| seqs.contains(&r.seq))
                .map(|r| r.key.clone())
                .collect::<Vec<_>>();
            if !keys.is_empty() {
                (g.settled)(keys);
            }
        }
    }
}

pub fn spawn(config: &SinkConfig, delivery: Delivery) -> JoinHandle<Result<(), SinkError>> {
    let name = config.name.clone();
    match &config.kind {
        SinkKind::Console(_) => tokio::spawn(drain(name, console::Console::stdout(), delivery)),
        SinkKind::Jsonl(c) => tokio::spawn(drain(name, jsonl::Jsonl::new(c.path.clone()), delivery)),
        SinkKind::Sqlite(c) => tokio::spawn(drain(name, sqlite::SqliteSink::new(c.path.clone()), delivery)),
        SinkKind::Http(c) => tokio::spawn(drain(name, http::Http::new(c.clone()), delivery)),
        SinkKind::Kafka(c) => tokio::spawn(drain(name, kafka::Kafka::new(c.clone()), delivery)),
    }
}

const BATCH: usize = 256;
const OUTSIDE_ROWS_POLL: Duration = Duration::from_secs(2);

/// A local SQLite call from async code: quick, but it may wait on the
/// committer's lock, so it leaves the runtime's other tasks running.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

async fn drain<S: Sink>(name: String, mut sink: S, mut d: Delivery) -> Result<(), SinkError> {
    let mut state = blocking(|| State::open(&d.state_path))?;
    let position = blocking(|| state.sink_position(&name))?;
    sink.open(position).await?;
    let delivered = d.metrics.delivered.with_label_values(&[&name]);
    let failures = d.metrics.delivery_failures.with_label_values(&[&name]);
    let pending = d.metrics.outbox_pending.with_label_values(&[&name]);
    let oldest = d.metrics.outbox_oldest.with_label_values(&[&name]);
    d.metrics.sink_health(&name, "ok");
    let mut backoff = Duration::from_millis(100);
    loop {
        // Read `finished` before the outbox: rows committed before it was
        // set are then surely visible to the query below.
        let finished = d.finished.is_cancelled();
        let upto = Gate::upto(&d.gate);
        let rows = blocking(|| state.pending_upto(&name, BATCH, upto))?;
        if rows.is_empty() {
            pending.set(0);
            oldest.set(0.0);
            if finished {
                return Ok(());
            }
            tokio::select! {
                _ = d.committed.changed() => {}
                _ = d.finished.cancelled() => {}
                _ = d.abort.cancelled() => return Ok(()),
                // Rows another process queued (`earshot incidents resolve`
                // while this one runs) are found within this time.
                _ = tokio::time::sleep(OUTSIDE_ROWS_POLL) => {}
            }
            continue;
        }
        let outcome = tokio::select! {
            r = sink.deliver(&rows) => r,
            _ = d.abort.cancelled() => return Ok(()),
        };
        let mut seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        let outcome = match outcome {
            Err(SinkError::Partial { delivered: n, cause }) => {
                // Keep what went through; only the rest is retried.
                blocking(|| state.mark_delivered(&name, &seqs[..n], None))?;
                Gate::settled(&d.gate, &rows, &seqs[..n]);
                delivered.inc_by(n as u64);
                seqs.drain(..n);
                Err(*cause)
            }
            other => other,
        };
        match outcome {
            Ok(position) => {
                for age in blocking(|| state.ages(&seqs))? {
                    d.metrics.delivery_seconds.with_label_values(&[&name]).observe(age);
                }
                blocking(|| state.mark_delivered(&name, &seqs, position.as_deref()))?;
                Gate::settled(&d.gate, &rows, &seqs);
                delivered.inc_by(seqs.len() as u64);
                pending.set(blocking(|| state.pending_count(&name))? as i64);
                oldest.set(blocking(|| state.oldest_pending_age(&name))?);
                d.metrics.sink_health(&name, "ok");
                backoff = Duration::from_millis(100);
            }
            Err(SinkError::Refused {
                delivered: n,
                key,
                response,
            }) => {
                failures.inc();
                d.metrics.sink_errors.with_label_values(&[&name, "refused"]).inc();
                tracing::warn!(sink = %name, key = %key, response = %response, "refused: moved to the dead letters (`earshot outbox dead`)");
                blocking(|| state.mark_delivered(&name, &seqs[..n], None))?;
                delivered.inc_by(n as u64);
                blocking(|| state.mark_dead(seqs[n], &response))?;
                Gate::settled(&d.gate, &rows, &seqs[..=n]);
                pending.set(blocking(|| state.pending_count(&name))? as i64);
                d.metrics.dead_letters.with_label_values(&[&name]).inc();
            }
            Err(e) if e.is_permanent() => {
                failures.inc();
                d.metrics.sink_errors.with_label_values(&[&name, "stopped"]).inc();
                d.metrics.sink_health(&name, format!("stopped: {e}"));
                blocking(|| state.record_failure(&seqs, &e.to_string()))?;
                return Err(e);
            }
            Err(e) => {
                failures.inc();
                d.metrics.sink_errors.with_label_values(&[&name, "transient"]).inc();
                oldest.set(blocking(|| state.oldest_pending_age(&name))?);
                tracing::warn!(sink = %name, error = %e, retry_in = ?backoff, "delivery failed");
                d.metrics.sink_health(&name, format!("failing: {e}"));
                blocking(|| state.record_failure(&seqs, &e.to_string()))?;
                let wait = match &e {
                    SinkError::Transient {
                        retry_after: Some(after),
                        ..
                    } => jitter(backoff).max(*after),
                    _ => jitter(backoff),
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = d.abort.cancelled() => return Ok(()),
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Fails its first `fail` deliveries, then records what it gets.
    struct Flaky {
        fail: usize,
        got: Arc<Mutex<Vec<String>>>,
    }

    impl Sink for Flaky {
        async fn open(&mut self, _: Option<String>) -> Result<(), SinkError> {
            Ok(())
        }
        async fn deliver(&mut self, rows: &[OutboxRow]) -> Result<Option<String>, SinkError> {
            if self.fail > 0 {
                self.fail -= 1;
                return Err(std::io::Error::other("down").into());
            }
            self.got.lock().unwrap().extend(rows.iter().map(|r| r.key.clone()));
            Ok(None)
        }
    }

    struct Closed;

    impl Sink for Closed {
        async fn open(&mut self, _: Option<String>) -> Result<(), SinkError> {
            Ok(())
        }
        async fn deliver(&mut self, _: &[OutboxRow]) -> Result<Option<String>, SinkError> {
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_output_stops_the_sink_and_keeps_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut state = State::open(&path).unwrap();
        let w = state.writer().unwrap();
        w.enqueue("out", "alert", "a", "{}").unwrap();
        w.commit().unwrap();
        let (_tx, rx) = watch::channel(0);
        let d = Delivery {
            state_path: path,
            metrics: Metrics::new(),
            committed: rx,
            finished: CancellationToken::new(),
            abort: CancellationToken::new(),
            gate: None,
        };
        let r = tokio::time::timeout(Duration::from_secs(5), drain("out".into(), Closed, d)).await;
        assert!(r.expect("stops at once").is_err());
        assert_eq!(state.pending_count("out").unwrap(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retries_until_delivered_then_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut state = State::open(&path).unwrap();
        let w = state.writer().unwrap();
        for k in ["a", "b", "c"] {
            w.enqueue("flaky", "ticket", k, "{}").unwrap();
        }
        w.commit().unwrap();
        let (_tx, rx) = watch::channel(0);
        let finished = CancellationToken::new();
        finished.cancel();
        let metrics = Metrics::new();
        let got = Arc::new(Mutex::new(Vec::new()));
        let d = Delivery {
            state_path: path,
            metrics: metrics.clone(),
            committed: rx,
            finished,
            abort: CancellationToken::new(),
            gate: None,
        };
        drain(
            "flaky".into(),
            Flaky {
                fail: 2,
                got: got.clone(),
            },
            d,
        )
        .await
        .unwrap();
        assert_eq!(*got.lock().unwrap(), ["a", "b", "c"]);
        assert_eq!(state.pending_count("flaky").unwrap(), 0);
        assert_eq!(metrics.delivery_failures.with_label_values(&["flaky"]).get(), 2);
        assert_eq!(metrics.sink_errors.with_label_values(&["flaky", "transient"]).get(), 2);
        assert_eq!(
            metrics
                .delivery_seconds
                .with_label_values(&["flaky"])
                .get_sample_count(),
            3
        );
        assert_eq!(metrics.outbox_oldest.with_label_values(&["flaky"]).get(), 0.0);
    }
}
