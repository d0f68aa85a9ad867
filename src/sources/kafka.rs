//! Kafka: posts that other systems produce to a topic (default
//! `earshot.posts`), one JSON object a message in the replay line format,
//! read leniently (a message without an id is named by its partition and
//! offset). earshot is one member of a consumer group: processes with the
//! same group share the partitions.
//!
//! At least once, harmlessly: offsets are stored (and then committed by
//! librdkafka's auto-commit) only when the committer says everything derived
//! from the message is durable, partition by partition, in order. A crash
//! replays what was not stored; a replayed post is recognised by its
//! fingerprint and changes nothing. The SQLite cursor is kept for operators;
//! the group's committed offsets are what a restart resumes from.

use super::{SourceContext, SourceResult};
use crate::config::KafkaSourceConfig;
use crate::post::{Ack, Envelope};
use crate::sources::replay::Reader;
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub async fn run(config: KafkaSourceConfig, ctx: SourceContext) -> SourceResult {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.brokers)
        .set("group.id", &config.group)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest");
    for (k, v) in &config.options {
        c.set(k, v);
    }
    if let Some(var) = &config.password_env {
        let password = ctx.secret(var, "the SASL password")?;
        c.set("sasl.password", password);
    }
    let consumer: Arc<StreamConsumer> = Arc::new(
        c.create()
            .map_err(|e| ctx.fail(format!("kafka consumer for {}: {e}", config.brokers)))?,
    );
    consumer
        .subscribe(&[&config.topic])
        .map_err(|e| ctx.fail(format!("subscribe to {}: {e}", config.topic)))?;

    // Durability arrives in commit order: store each offset then.
    let (durable_tx, mut durable_rx) = mpsc::unbounded_channel::<(i32, i64, oneshot::Receiver<()>)>();
    let storer = {
        let consumer = consumer.clone();
        let topic = config.topic.clone();
        tokio::spawn(async move {
            while let Some((partition, offset, done)) = durable_rx.recv().await {
                if done.await.is_err() {
                    return; // the committer stopped: nothing after this is durable
                }
                if let Err(e) = consumer.store_offset(&topic, partition, offset) {
                    tracing::warn!(topic = %topic, partition, offset, error = %e, "cannot store offset");
                }
            }
        })
    };
    let mut reader = Reader::new(true);
    loop {
        let message = tokio::select! {
            m = consumer.recv() => m,
            _ = ctx.stop.cancelled() => break,
        };
        let m = match message {
            Ok(m) => {
                ctx.healthy();
                m
            }
            Err(e) => {
                ctx.error("network");
                tracing::warn!(source = %ctx.name, error = %e, "kafka consumer error; retrying");
                continue;
            }
        };
        let (partition, offset) = (m.partition(), m.offset());
        let place = format!("{}-{partition}-{offset}", config.topic);
        let post = match m.payload().map(std::str::from_utf8) {
            Some(Ok(line)) => reader.parse(&ctx.name, &config.channel, line.trim(), &place),
            Some(Err(e)) => Err(format!("not UTF-8: {e}")),
            None => Err("empty message".into()),
        };
        let position = format!("{partition}:{offset}");
        let post = ctx.accept(post, || format!("{}/{partition}@{offset}", config.topic), &position);
        let (done_tx, done_rx) = oneshot::channel();
        let mut ack = Ack::new(&ctx.name, position);
        ack.on_durable = Some(done_tx);
        // The offset to store is the next one to read.
        let _ = durable_tx.send((partition, offset + 1, done_rx));
        tokio::select! {
            sent = ctx.out.send(Envelope::new(post, ack)) => if sent.is_err() { break },
            _ = ctx.stop.cancelled() => break,
        }
    }
    // Let what was sent become durable, store its offsets, commit them.
    drop(ctx.out);
    drop(durable_tx);
    let _ = storer.await;
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(source = %ctx.name, error = %e, "final offset commit");
    }
    Ok(())
}
