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
use crate::group::changelog::Job;
use crate::group::{self, Owners, Role};
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
use std::sync::atomic::AtomicI64;
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
    #[error("--role ingest and --role process need a [group] section (the brokers and topics)")]
    NoGroup,
    #[error("group: {0}")]
    Group(String),
}

/// Runs one post through the stateless stages, counting what became of it.
pub fn stage(stages: &Stages, post: crate::post::Post, metrics: &Metrics) -> Outcome {
    let outcome = stages.process(post, metrics);
    match &outcome {
        Outcome::Dropped(reason) => metrics.dropped.with_label_values(&[reason.label()]).inc(),
        Outcome::Scored(..) => metrics.scored.inc(),
    }
    outcome
}

/// A running task and what it is called in the logs.
type Task = (String, tokio::task::JoinHandle<Result<(), String>>);

/// Runs until every source is done (or `stop` is cancelled) and everything
/// committed has been handed to the sinks. `role` picks the part of the
/// pipeline this process runs (see [`crate::group`]).
pub async fn run(config: Config, role: Role, stop: CancellationToken) -> Result<(), RunError> {
    let group = match (role, &config.group) {
        (Role::All, _) => None,
        (_, Some(group)) => Some(group.clone()),
        (_, None) => return Err(RunError::NoGroup),
    };
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
    let mut tasks: Vec<Task> = Vec::new();
    let owners = Owners::default();
    let released = Arc::new(AtomicI64::new(0));
    let (jobs_tx, jobs_rx) = mpsc::unbounded_channel::<Job>();
    let mut source_names: Vec<String> = config.sources.iter().map(|s| s.name.clone()).collect();
    match (&group, role) {
        (Some(group), Role::Process) => {
            if !config.sources.is_empty() {
                tracing::warn!("a process member reads the posts topic only; the [[sources]] are for --role ingest");
            }
            source_names = vec![group.posts_topic.clone()];
            group::ensure_state_topic(group).await.map_err(RunError::Group)?;
            let member = group::process::Member {
                config: group.clone(),
                ctx: SourceContext::new(&group.posts_topic, post_tx.clone(), stop.clone(), metrics.clone(), None),
                jobs: jobs_tx.clone(),
                owners: owners.clone(),
                state_path: config.state.path.clone(),
                released: released.clone(),
            };
            tasks.push((
                "consumer".into(),
                tokio::task::spawn_blocking(move || group::process::run(member)),
            ));
        }
        _ => {
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
        }
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

    let finished = CancellationToken::new();
    let abort = CancellationToken::new();
    let mut sink_tasks = Vec::new();
    let mut committed = Ok(Ok(()));
    if let (Some(group), Role::Ingest) = (&group, role) {
        let producer = group::producer(group).map_err(RunError::Group)?;
        let (topic, metrics) = (group.posts_topic.clone(), metrics.clone());
        let window = (config.incidents.window_hours * 3600) as i64;
        tasks.push((
            "ingest".into(),
            tokio::task::spawn_blocking(move || {
                group::ingest::run(topic, producer, stages, metrics, post_rx, state, window)
            }),
        ));
        drop(jobs_tx);
    } else {
        let stage_metrics = metrics.clone();
        tasks.push((
            "stages".into(),
            tokio::task::spawn_blocking(move || {
                while let Some(envelope) = post_rx.blocking_recv() {
                    let processed = Processed {
                        outcome: envelope.post.map(|post| stage(&stages, post, &stage_metrics)),
                        ack: envelope.ack,
                        change: envelope.change,
                        control: envelope.control,
                    };
                    if done_tx.blocking_send(processed).is_err() {
                        break; // the committer has failed; it reports why
                    }
                }
                Ok(())
            }),
        ));

        let (committed_tx, committed_rx) = watch::channel(0u64);
        let mut gate = None;
        let (mut committer, after) = match &group {
            Some(group) => {
                // The changelog is the truth: start from nothing, and load
                // each partition's state as it is assigned.
                let mut state = state;
                let w = state.writer()?;
                w.clear_incidents()?;
                w.commit()?;
                let writer = group::changelog::Writer {
                    topic: group.state_topic.clone(),
                    producer: group::producer(group).map_err(RunError::Group)?,
                    state: State::open(&config.state.path)?,
                    owners: owners.clone(),
                    released: released.clone(),
                    committed: committed_tx,
                    metrics: metrics.clone(),
                };
                let writer_finished = finished.clone();
                let writer_stop = stop.clone();
                tasks.push((
                    "changelog".into(),
                    tokio::task::spawn_blocking(move || {
                        let result = writer.run(jobs_rx);
                        if result.is_err() {
                            writer_stop.cancel();
                        }
                        writer_finished.cancel();
                        result
                    }),
                ));
                let settled = jobs_tx.clone();
                gate = Some(sinks::Gate {
                    released: released.clone(),
                    settled: Arc::new(move |keys| {
                        let _ = settled.send(Job::Settled(keys));
                    }),
                });
                (
                    Committer::for_group(state, &config, metrics.clone(), owners.clone())?,
                    After::Changelog(jobs_tx),
                )
            }
            None => {
                drop((jobs_rx, jobs_tx));
                (
                    Committer::new(state, &config, metrics.clone())?,
                    After::Fire(committed_tx, finished.clone()),
                )
            }
        };
        let batch_size = config.pipeline.batch_size;
        let commit_metrics = metrics.clone();
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
                    let done = committer.commit(batch)?;
                    commit_metrics.observe_stage("commit", start);
                    match &after {
                        After::Changelog(jobs) => {
                            if jobs.send(Job::Commit(done)).is_err() {
                                break; // the changelog writer failed; it says why
                            }
                        }
                        After::Fire(committed, _) => {
                            done.fire();
                            batches += 1;
                            committed.send_replace(batches);
                        }
                    }
                }
                Ok::<(), crate::state::StateError>(())
            })();
            if let Err(e) = &result {
                tracing::error!(error = %e, "committer failed; stopping");
                commit_stop.cancel();
            }
            match &after {
                After::Changelog(jobs) => {
                    let _ = jobs.send(Job::End);
                }
                After::Fire(_, finished) => finished.cancel(),
            }
            result
        });

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
            gate,
        };
        sink_tasks = config
            .sinks
            .iter()
            .map(|s| (s.name.clone(), sinks::spawn(s, delivery.clone())))
            .collect();
        committed = commit_task.await;
    }

    let mut failures = 0;
    for (name, task) in source_tasks {
        failures += usize::from(!finished_well("source", &name, task).await);
    }
    for (name, task) in tasks {
        failures += usize::from(!finished_well("task", &name, task).await);
    }
    for (name, task) in sink_tasks {
        failures += usize::from(!finished_well("sink", &name, task).await);
    }
    reload_stop.cancel();
    if let Some(reloader) = reloader {
        let _ = reloader.await;
    }
    server_stop.cancel();
    if let Some(server) = server {
        let _ = server.await;
    }
    let names: Vec<&str> = source_names.iter().map(String::as_str).collect();
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

/// Waits for a component; logs how it failed, if it did.
async fn finished_well<E: std::fmt::Display>(
    kind: &str,
    name: &str,
    task: tokio::task::JoinHandle<Result<(), E>>,
) -> bool {
    match task.await {
        Ok(Ok(())) => {
            tracing::debug!(kind, name, "done");
            true
        }
        Ok(Err(e)) => {
            tracing::error!(kind, name, error = %e, "failed");
            false
        }
        Err(e) => {
            tracing::error!(kind, name, error = %e, "panicked");
            false
        }
    }
}

/// Where the committer hands a committed batch.
enum After {
    /// A single process: its acks fire at once and the sinks are woken;
    /// `finished` is cancelled after the last batch.
    Fire(watch::Sender<u64>, CancellationToken),
    /// A group member: to the changelog writer, which does both once the
    /// broker has the batch's records.
    Changelog(mpsc::UnboundedSender<Job>),
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
