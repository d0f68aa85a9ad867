//! The ingest role: sources → the stateless stages, which find the provider
//! a post is about → the posts topic, keyed by that provider (Java's
//! partitioner), so every post about one provider lands in one partition.
//!
//! The post goes on the topic as the source read it (with its provider
//! set), so a process member runs the same stages over the same input as a
//! single process would. Posts about no provider, in other languages or
//! spam stop here, counted. A source's cursor is stored once the broker has
//! acknowledged every post up to it.
//!
//! A post's later deletion or edit goes on the topic too, under the
//! provider its post went under (kept in `routes` for the near-duplicate
//! window), marked by the `earshot-record: change` header, so it reaches
//! the member that holds the post's incident, after the post.

use crate::metrics::Metrics;
use crate::post::{Ack, Envelope, PostChange};
use crate::stages::{Outcome, Stages};
use crate::state::State;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::sync::mpsc;

/// The header that marks a record of the posts topic as other than a post,
/// and its value for a `PostChange`.
pub const RECORD_HEADER: &str = "earshot-record";
pub const CHANGE_RECORD: &str = "change";

/// Routes kept in memory for posts whose route may not be stored yet.
const RECENT_ROUTES: usize = 100_000;

/// A post sent: its id, its provider, its time (Unix seconds); stored
/// with its cursor.
struct Route {
    post: String,
    provider: String,
    at: i64,
}

/// The routes of the latest posts sent, newest last.
#[derive(Default)]
struct Recent {
    by_post: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Recent {
    fn insert(&mut self, post: &str, provider: &str) {
        if self.by_post.insert(post.to_owned(), provider.to_owned()).is_none() {
            self.order.push_back(post.to_owned());
        }
        if self.order.len() > RECENT_ROUTES
            && let Some(old) = self.order.pop_front()
        {
            self.by_post.remove(&old);
        }
    }
}

/// Posts acknowledged together at most: one cursor write serves them.
const ACK_BATCH: usize = 1024;

/// Runs until `posts` closes. Blocking: call on a thread of its own.
/// `window_secs`: how long a post's route is kept for its changes.
pub fn run(
    topic: String,
    producer: FutureProducer,
    stages: Stages,
    metrics: Metrics,
    mut posts: mpsc::Receiver<Envelope>,
    state: State,
    window_secs: i64,
) -> Result<(), String> {
    // Routes stored by the acknowledger are read here through a second
    // connection; the newest, maybe not stored yet, are in memory.
    let routes = State::open(state.path()).map_err(|e| e.to_string())?;
    let mut recent = Recent::default();
    let (sent_tx, sent_rx) = std::sync::mpsc::sync_channel::<Sent>(ACK_BATCH * 4);
    let acker = {
        let runtime = tokio::runtime::Handle::current();
        std::thread::spawn(move || acknowledge(runtime, sent_rx, state, window_secs))
    };
    while let Some(envelope) = posts.blocking_recv() {
        let mut sent = Sent {
            report: None,
            route: None,
            ack: envelope.ack,
        };
        if let Some(post) = envelope.post {
            let read = post.clone();
            if let Outcome::Scored(scored) = crate::topology::stage(&stages, post, &metrics) {
                let provider = scored.post.provider.clone().expect("scored posts have a provider");
                let mut read = read;
                read.provider = Some(provider);
                let body = serde_json::to_string(&read).expect("posts serialize");
                let key = &read.provider.as_ref().expect("set").id;
                metrics.ingested.inc();
                sent.report = Some(send(&producer, &topic, key, &body, None)?);
                recent.insert(&read.id, key);
                sent.route = Some(Route {
                    post: read.id.clone(),
                    provider: key.clone(),
                    at: read.created_at.timestamp(),
                });
            }
        }
        if let Some(change) = envelope.change {
            sent.report = send_change(&producer, &topic, &change, &recent, &routes)?;
        }
        if sent_tx.send(sent).is_err() {
            break; // the acker failed; it says why
        }
    }
    drop(sent_tx);
    acker
        .join()
        .map_err(|_| "the ingest acknowledger panicked".to_owned())?
}

/// What the acknowledger waits for: the broker's report, then the post's
/// route and position are stored.
struct Sent {
    report: Option<DeliveryFuture>,
    route: Option<Route>,
    ack: Ack,
}

/// Puts a change on the partition its post went to; a change to a post
/// that went nowhere (about no provider, or older than the window) is let
/// be, as the single process lets be one that joined no incident.
fn send_change(
    producer: &FutureProducer,
    topic: &str,
    change: &PostChange,
    recent: &Recent,
    routes: &State,
) -> Result<Option<DeliveryFuture>, String> {
    let provider = match recent.by_post.get(&change.post_id) {
        Some(p) => Some(p.clone()),
        None => routes.route(&change.post_id).map_err(|e| e.to_string())?,
    };
    let Some(provider) = provider else {
        tracing::debug!(post = %change.post_id, "a change to a post not sent on; let be");
        return Ok(None);
    };
    let body = serde_json::to_string(change).expect("changes serialize");
    send(producer, topic, &provider, &body, Some(CHANGE_RECORD)).map(Some)
}

fn send(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    body: &str,
    kind: Option<&str>,
) -> Result<DeliveryFuture, String> {
    let mut record = FutureRecord::to(topic).key(key).payload(body);
    if let Some(kind) = kind {
        record = record.headers(OwnedHeaders::new().insert(Header {
            key: RECORD_HEADER,
            value: Some(kind),
        }));
    }
    loop {
        match producer.send_result(record) {
            Ok(report) => return Ok(report),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(format!("posts topic {topic}: {e}")),
        }
    }
}

/// Waits for the broker's acknowledgements in order; stores each source's
/// newest acknowledged cursor, then fires the acks.
fn acknowledge(
    runtime: tokio::runtime::Handle,
    sent: std::sync::mpsc::Receiver<Sent>,
    mut state: State,
    window_secs: i64,
) -> Result<(), String> {
    while let Ok(first) = sent.recv() {
        let mut batch = vec![first];
        while batch.len() < ACK_BATCH {
            match sent.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let mut acks = Vec::with_capacity(batch.len());
        let mut routes = Vec::new();
        for Sent { report, route, ack } in batch {
            if let Some(report) = report {
                match runtime.block_on(report) {
                    Ok(Ok(_)) => {}
                    Ok(Err((e, _))) => return Err(format!("posts topic: {e}")),
                    Err(_) => return Err("posts topic: the producer went away".into()),
                }
            }
            routes.extend(route);
            acks.push(ack);
        }
        let w = state.writer().map_err(|e| e.to_string())?;
        let newest = routes.iter().map(|r| r.at).max();
        for r in &routes {
            w.put_route(&r.post, &r.provider, r.at).map_err(|e| e.to_string())?;
        }
        if let Some(newest) = newest {
            w.prune_routes(newest - window_secs).map_err(|e| e.to_string())?;
        }
        for (source, position) in &Ack::newest_cursors(&acks) {
            w.set_cursor(source, position).map_err(|e| e.to_string())?;
        }
        w.commit().map_err(|e| e.to_string())?;
        Ack::fire_all(acks);
    }
    Ok(())
}
