//! The ingest role: sources → the stateless stages, which find the provider
//! a post is about → the posts topic, keyed by that provider (Java's
//! partitioner), so every post about one provider lands in one partition.
//!
//! The post goes on the topic as the source read it (with its provider
//! set), so a process member runs the same stages over the same input as a
//! single process would. Posts about no provider, in other languages or
//! spam stop here, counted. A source's cursor is stored once the broker has
//! acknowledged every post up to it.

use crate::metrics::Metrics;
use crate::post::{Ack, Envelope};
use crate::stages::{Outcome, Stages};
use crate::state::State;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use std::time::Duration;
use tokio::sync::mpsc;

/// Posts acknowledged together at most: one cursor write serves them.
const ACK_BATCH: usize = 1024;

/// Runs until `posts` closes. Blocking: call on a thread of its own.
pub fn run(
    topic: String,
    producer: FutureProducer,
    stages: Stages,
    metrics: Metrics,
    mut posts: mpsc::Receiver<Envelope>,
    state: State,
) -> Result<(), String> {
    let (sent_tx, sent_rx) = std::sync::mpsc::sync_channel::<(Option<DeliveryFuture>, Ack)>(ACK_BATCH * 4);
    let acker = {
        let runtime = tokio::runtime::Handle::current();
        std::thread::spawn(move || acknowledge(runtime, sent_rx, state))
    };
    while let Some(envelope) = posts.blocking_recv() {
        let report = match envelope.post {
            Some(post) => {
                let read = post.clone();
                match crate::topology::stage(&stages, post, &metrics) {
                    Outcome::Scored(scored) => {
                        let provider = scored.post.provider.clone().expect("scored posts have a provider");
                        let mut read = read;
                        read.provider = Some(provider);
                        let body = serde_json::to_string(&read).expect("posts serialize");
                        metrics.ingested.inc();
                        Some(send(
                            &producer,
                            &topic,
                            &read.provider.as_ref().expect("set").id,
                            &body,
                        )?)
                    }
                    Outcome::Dropped(_) => None,
                }
            }
            None => None,
        };
        if envelope.change.is_some() {
            tracing::debug!("a post's deletion or edit is not carried by the posts topic");
        }
        if sent_tx.send((report, envelope.ack)).is_err() {
            break; // the acker failed; it says why
        }
    }
    drop(sent_tx);
    acker
        .join()
        .map_err(|_| "the ingest acknowledger panicked".to_owned())?
}

fn send(producer: &FutureProducer, topic: &str, key: &str, body: &str) -> Result<DeliveryFuture, String> {
    let mut record = FutureRecord::to(topic).key(key).payload(body);
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
    sent: std::sync::mpsc::Receiver<(Option<DeliveryFuture>, Ack)>,
    mut state: State,
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
        for (report, ack) in batch {
            if let Some(report) = report {
                match runtime.block_on(report) {
                    Ok(Ok(_)) => {}
                    Ok(Err((e, _))) => return Err(format!("posts topic: {e}")),
                    Err(_) => return Err("posts topic: the producer went away".into()),
                }
            }
            acks.push(ack);
        }
        let w = state.writer().map_err(|e| e.to_string())?;
        for (source, position) in &Ack::newest_cursors(&acks) {
            w.set_cursor(source, position).map_err(|e| e.to_string())?;
        }
        w.commit().map_err(|e| e.to_string())?;
        Ack::fire_all(acks);
    }
    Ok(())
}
