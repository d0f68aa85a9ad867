//! Builds the running pipeline from a validated config and runs it to the
//! end of its input or to a stop signal.
//!
//! ```text
//! sources ─(bounded)─► stages thread ─(bounded)─► committer thread ─► outbox ─► one worker per sink
//! ```
//!
//! Shutdown: the stop token ends the sources; each stage ends when its
//! input channel closes, after passing on what it holds; the committer
//! commits its last batch; sinks deliver what is committed (bounded by the
//! grace period), and the metrics server closes last.

use crate::commit::{Committer, Processed};
use crate::config::{Config, RulesSource};
use crate::metrics::{self, Metrics};
use crate::post::Envelope;
use crate::scoring::Engine;
use crate::sinks::{self, Delivery};
use crate::sources::{self, SourceContext};
use crate::stages::score::Scorer;
use crate::stages::{Outcome, Stages};
use crate::state::State;
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("metrics: cannot listen on {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Rules(#[from] crate::diag::Diagnostics),
    #[error("rules {dir}: cannot watch for changes: {source}")]
    Watch {
        dir: std::path::PathBuf,
        source: notify::Error,
    },
    #[error("{0} component(s) failed; see the errors above")]
    Failed(usize),
}

/// Runs until every source is done (or `stop` is cancelled) and everything
/// committed has been handed to the sinks.
pub async fn run(config: Config, stop: CancellationToken) -> Result<(), RunError> {
    let metrics = Metrics::new();
    let state = State::open(&config.state.path)?;
    let server_stop = CancellationToken::new();
    let server = match config.metrics.listen {
        Some(addr) => {
            let (bound, task) = metrics::serve(addr, metrics.clone(), server_stop.clone())
                .await
                .map_err(|source| RunError::Metrics { addr, source })?;
            tracing::info!(%bound, "serving /metrics and /healthz");
            Some(task)
        }
        None => None,
    };

    let capacity = config.pipeline.channel_capacity;
    let (post_tx, mut post_rx) = mpsc::channel::<Envelope>(capacity);
    let (done_tx, mut done_rx) = mpsc::channel::<Processed>(capacity);

    let mut source_tasks = Vec::new();
    for source in &config.sources {
        let ctx = SourceContext::new(
            &source.name,
            post_tx.clone(),
            stop.clone(),
            metrics.clone(),
            state.cursor(&source.name)?,
        );
        source_tasks.push((source.name.clone(), sources::spawn(source, ctx)));
    }
    drop(post_tx);

    let engine = Arc::new(ArcSwap::from_pointee(Engine::from_config(&config)?));
    let stages = Stages::new(&config, Scorer::new(engine.clone()));
    let reload_stop = CancellationToken::new();
    let reloader = match config.scoring.rules_source() {
        RulesSource::Dir(dir) => {
            let task = crate::reload::spawn(
                dir.clone(),
                engine.clone(),
                config.clone(),
                metrics.clone(),
                reload_stop.clone(),
            )
            .map_err(|e| RunError::Watch { dir, source: e })?;
            Some(task)
        }
        RulesSource::Builtin => None,
    };
    let stage_metrics = metrics.clone();
    let stages_task = tokio::task::spawn_blocking(move || {
        while let Some(envelope) = post_rx.blocking_recv() {
            let outcome = envelope.post.map(|post| {
                let outcome = stages.process(post, &stage_metrics);
                match &outcome {
                    Outcome::Dropped(reason) => stage_metrics.dropped.with_label_values(&[reason.label()]).inc(),
                    Outcome::Scored(..) => stage_metrics.scored.inc(),
                }
                outcome
            });
            let processed = Processed {
                ack: envelope.ack,
                outcome,
                change: envelope.change,
            };
            if done_tx.blocking_send(processed).is_err() {
                return; // the committer has failed; it reports why
            }
        }
    });

    let (committed_tx, committed_rx) = watch::channel(0u64);
    let finished = CancellationToken::new();
    let mut committer = Committer::new(state, &config, metrics.clone())?;
    let batch_size = config.pipeline.batch_size;
    let commit_metrics = metrics.clone();
    let commit_finished = finished.clone();
    let commit_stop = stop.clone();
    let commit_task = tokio::task::spawn_blocking(move || {
        let result = (|| {
            let mut batches = 0u64;
            while let Some(first) = done_rx.blocking_recv() {
                let mut batch = vec![first];
                while batch.len() < batch_size {
                    match done_rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                let start = std::time::Instant::now();
                committer.commit(batch)?;
                commit_metrics.observe_stage("commit", start);
                batches += 1;
                committed_tx.send_replace(batches);
            }
            Ok::<(), crate::state::StateError>(())
        })();
        if let Err(e) = &result {
            tracing::error!(error = %e, "committer failed; stopping");
            commit_stop.cancel();
        }
        commit_finished.cancel();
        result
    });

    let abort = CancellationToken::new();
    let grace = Duration::from_secs(config.pipeline.shutdown_grace_secs);
    {
        let (stop, abort) = (stop.clone(), abort.clone());
        tokio::spawn(async move {
            stop.cancelled().await;
            tokio::time::sleep(grace).await;
            abort.cancel();
        });
    }
    let delivery = Delivery {
        state_path: config.state.path.clone(),
        metrics: metrics.clone(),
        committed: committed_rx,
        finished: finished.clone(),
        abort: abort.clone(),
    };
    let sink_tasks: Vec<_> = config
        .sinks
        .iter()
        .map(|s| (s.name.clone(), sinks::spawn(s, delivery.clone())))
        .collect();

    let mut failures = 0;
    for (name, task) in source_tasks {
        match task.await {
            Ok(Ok(())) => tracing::debug!(source = %name, "source done"),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "source failed");
                failures += 1;
            }
            Err(e) => {
                tracing::error!(source = %name, error = %e, "source panicked");
                failures += 1;
            }
        }
    }
    if stages_task.await.is_err() {
        tracing::error!("stages panicked");
        failures += 1;
    }
    let committed = commit_task.await;
    for (name, task) in sink_tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(sink = %name, error = %e, "sink failed");
                failures += 1;
            }
            Err(e) => {
                tracing::error!(sink = %name, error = %e, "sink panicked");
                failures += 1;
            }
        }
    }
    reload_stop.cancel();
    if let Some(reloader) = reloader {
        let _ = reloader.await;
    }
    server_stop.cancel();
    if let Some(server) = server {
        let _ = server.await;
    }
    let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
    log_summary(&metrics, &names);
    match committed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => failures += 1,
    }
    if failures > 0 {
        return Err(RunError::Failed(failures));
    }
    Ok(())
}

fn log_summary(m: &Metrics, sources: &[&str]) {
    let received: u64 = sources.iter().map(|s| m.received.with_label_values(&[*s]).get()).sum();
    let dropped = ["empty", "language", "no_provider", "spam", "malformed"]
        .iter()
        .map(|r| format!("{r}={}", m.dropped.with_label_values(&[*r]).get()))
        .collect::<Vec<_>>()
        .join(" ");
    tracing::info!(
        received,
        scored = m.scored.get(),
        incidents = m.incidents.get(),
        tickets = m.tickets.get(),
        alerts = m.alerts.get(),
        dropped = %dropped,
        "run finished"
    );
}
