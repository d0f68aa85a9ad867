//! A process member's consumer: the posts topic's partitions this member is
//! assigned, read on a thread of its own (librdkafka calls the rebalance
//! callbacks there, and they block it while a partition's state moves).
//!
//! Offsets are committed only up to what is durable: a post's offset counts
//! once the committer has committed its effects and the changelog writer
//! has had them acknowledged (its `Ack` fires then).

use super::changelog::{self, Job};
use super::{Control, Owners};
use crate::config::GroupConfig;
use crate::post::{Ack, Envelope, Post, PostChange};
use crate::sources::SourceContext;
use crate::state::State;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// What the consumer needs from the rest of the member.
pub struct Member {
    pub config: GroupConfig,
    /// Named after the posts topic; its `out` feeds the stages.
    pub ctx: SourceContext,
    pub jobs: mpsc::UnboundedSender<Job>,
    pub owners: Owners,
    pub state_path: PathBuf,
    pub released: Arc<AtomicI64>,
}

/// Per partition: the offset after the last post read, and after the last
/// one durable.
#[derive(Default)]
struct Progress {
    offsets: Mutex<HashMap<i32, (i64, i64)>>,
    changed: Condvar,
}

impl Progress {
    fn read(&self, partition: i32, next: i64) {
        let mut o = self.offsets.lock().expect("progress lock");
        let entry = o.entry(partition).or_insert((next - 1, next - 1));
        entry.0 = next;
    }

    fn durable(&self, partition: i32, next: i64) {
        let mut o = self.offsets.lock().expect("progress lock");
        if let Some(entry) = o.get_mut(&partition) {
            entry.1 = entry.1.max(next);
        }
        self.changed.notify_all();
    }

    fn in_flight(&self) -> i64 {
        let o = self.offsets.lock().expect("progress lock");
        o.values().map(|(read, durable)| read - durable).sum()
    }

    /// Waits (up to `timeout`) until all read from `partitions` is durable.
    fn settle(&self, partitions: &[i32], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut o = self.offsets.lock().expect("progress lock");
        loop {
            let pending = partitions
                .iter()
                .any(|p| o.get(p).is_some_and(|(read, durable)| durable < read));
            if !pending {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            o = self.changed.wait_timeout(o, left).expect("progress lock").0;
        }
    }

    /// The offsets to commit for `partitions` (all when `None`).
    fn commits(&self, topic: &str, partitions: Option<&[i32]>) -> TopicPartitionList {
        let o = self.offsets.lock().expect("progress lock");
        let mut tpl = TopicPartitionList::new();
        for (p, (_, durable)) in o.iter() {
            if partitions.is_none_or(|ps| ps.contains(p)) && *durable >= 0 {
                let _ = tpl.add_partition_offset(topic, *p, Offset::Offset(*durable));
            }
        }
        tpl
    }

    fn forget(&self, partitions: &[i32]) {
        let mut o = self.offsets.lock().expect("progress lock");
        o.retain(|p, _| !partitions.contains(p));
    }
}

struct Context {
    config: GroupConfig,
    ctx: SourceContext,
    jobs: mpsc::UnboundedSender<Job>,
    owners: Owners,
    state: Mutex<State>,
    released: Arc<AtomicI64>,
    progress: Arc<Progress>,
}

fn partitions(tpl: &TopicPartitionList, topic: &str) -> Vec<i32> {
    tpl.elements_for_topic(topic).iter().map(|e| e.partition()).collect()
}

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let parts = partitions(tpl, &self.config.posts_topic);
            if !parts.is_empty() {
                self.give_up(consumer, &parts);
            }
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                for p in partitions(tpl, &self.config.posts_topic) {
                    self.take(p);
                }
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }
}

/// How long loading a partition's state may take before it is tried again.
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);

impl Context {
    /// Loads partition `p`'s state from the changelog, ahead of its posts.
    fn take(&self, p: i32) {
        let start = Instant::now();
        let state = loop {
            match changelog::load(&self.config, p, LOAD_TIMEOUT) {
                Ok(state) => break state,
                Err(e) if !self.ctx.stop.is_cancelled() => {
                    self.ctx.error("network");
                    tracing::warn!(partition = p, error = %e, "cannot load the partition's state; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(e) => {
                    tracing::warn!(partition = p, error = %e, "stopping before the partition's state loaded");
                    return;
                }
            }
        };
        tracing::info!(partition = p, incidents = state.incidents.len(), took = ?start.elapsed(), "partition assigned");
        if self
            .ctx
            .out
            .blocking_send(Envelope::control(Control::Load { partition: p, state }))
            .is_ok()
        {
            self.ctx.metrics.partitions.inc();
        }
    }

    /// Hands partitions over: what was read from them made durable and its
    /// offsets committed, their released rows delivered (within
    /// `flush_secs`) and marked in the changelog, then their rows dropped.
    fn give_up(&self, consumer: &BaseConsumer<Self>, parts: &[i32]) {
        if !self.progress.settle(parts, Duration::from_secs(60)) {
            tracing::warn!(partitions = ?parts, "posts read are not yet durable; the next owner reads them again");
        }
        let tpl = self.progress.commits(&self.config.posts_topic, Some(parts));
        if tpl.count() > 0
            && let Err(e) = consumer.commit(&tpl, CommitMode::Sync)
        {
            tracing::warn!(error = %e, "cannot commit the offsets of the partitions given up");
        }
        let providers = self.owners.providers_of(parts);
        let deadline = Instant::now() + Duration::from_secs(self.config.flush_secs);
        loop {
            let upto = self.released.load(Ordering::Acquire);
            let left = match self.state.lock().expect("state lock").undelivered(&providers, upto) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot count the rows left to deliver");
                    break;
                }
            };
            if left == 0 {
                break;
            }
            if Instant::now() > deadline {
                tracing::warn!(
                    rows = left,
                    "handing over with rows undelivered; the next owner delivers them"
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // A sink reports a delivery just after marking it: let that report in.
        std::thread::sleep(Duration::from_millis(50));
        let (done, written) = oneshot::channel();
        if self.jobs.send(Job::Flush(done)).is_ok() {
            let _ = written.blocking_recv();
        }
        let _ = self.ctx.out.blocking_send(Envelope::control(Control::Drop {
            partitions: parts.to_vec(),
        }));
        self.progress.forget(parts);
        self.ctx.metrics.partitions.sub(parts.len() as i64);
        tracing::info!(partitions = ?parts, "partitions handed over");
    }
}

/// How often durable offsets are committed while reading.
const COMMIT_EVERY: Duration = Duration::from_secs(1);

/// Runs the member's consumer until `ctx.stop`; then hands every partition
/// over. Blocking: call on a thread of its own.
pub fn run(member: Member) -> Result<(), String> {
    let Member {
        config,
        ctx,
        jobs,
        owners,
        state_path,
        released,
    } = member;
    let state = State::open(&state_path).map_err(|e| e.to_string())?;
    let progress = Arc::new(Progress::default());
    let topic = config.posts_topic.clone();
    let context = Context {
        config: config.clone(),
        ctx: ctx.clone(),
        jobs,
        owners,
        state: Mutex::new(state),
        released,
        progress: progress.clone(),
    };
    let session = (config.session_timeout_secs.max(1) * 1000).to_string();
    let heartbeat = (config.session_timeout_secs.max(1) * 1000 / 4).to_string();
    let consumer: BaseConsumer<Context> = super::client(
        &config,
        &[
            ("group.id", config.group.as_str()),
            ("enable.auto.commit", "false"),
            ("auto.offset.reset", "earliest"),
            ("session.timeout.ms", session.as_str()),
            ("heartbeat.interval.ms", heartbeat.as_str()),
        ],
    )?
    .create_with_context(context)
    .map_err(|e| {
        ctx.fail(format!("kafka consumer for {}: {e}", config.brokers))
            .to_string()
    })?;
    consumer
        .subscribe(&[&topic])
        .map_err(|e| ctx.fail(format!("subscribe to {topic}: {e}")).to_string())?;

    // Durability arrives in commit order: a thread follows it.
    let (durable_tx, durable_rx) = std::sync::mpsc::channel::<(i32, i64, oneshot::Receiver<()>)>();
    let follower = {
        let progress = progress.clone();
        std::thread::spawn(move || {
            while let Ok((partition, next, done)) = durable_rx.recv() {
                if done.blocking_recv().is_err() {
                    return; // the pipeline stopped: nothing after this is durable
                }
                progress.durable(partition, next);
            }
        })
    };

    let max_in_flight = config.max_in_flight.max(1) as i64;
    let mut last_commit = Instant::now();
    while !ctx.stop.is_cancelled() {
        if last_commit.elapsed() >= COMMIT_EVERY {
            let tpl = progress.commits(&topic, None);
            if tpl.count() > 0
                && let Err(e) = consumer.commit(&tpl, CommitMode::Async)
            {
                tracing::debug!(error = %e, "offset commit");
            }
            last_commit = Instant::now();
        }
        if progress.in_flight() >= max_in_flight {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let m = match consumer.poll(Duration::from_millis(100)) {
            None => continue,
            Some(Ok(m)) => {
                ctx.healthy();
                m
            }
            Some(Err(e)) => {
                ctx.error("network");
                tracing::warn!(topic = %topic, error = %e, "kafka consumer error; retrying");
                continue;
            }
        };
        let (partition, offset) = (m.partition(), m.offset());
        let at = || format!("{topic}/{partition}@{offset}");
        let (mut post, mut change) = (None, None);
        match (m.payload(), record_kind(&m)) {
            (None, _) => ctx.malformed(&at(), &"empty message"),
            (Some(body), Some(super::ingest::CHANGE_RECORD)) => match serde_json::from_slice::<PostChange>(body) {
                Ok(c) => change = Some(c),
                Err(e) => ctx.malformed(&at(), &e),
            },
            (Some(_), Some(other)) => ctx.malformed(&at(), &format!("unknown record kind {other:?}")),
            (Some(body), None) => match serde_json::from_slice::<Post>(body) {
                Ok(p) => {
                    ctx.received(&p);
                    post = Some(p);
                }
                Err(e) => ctx.malformed(&at(), &e),
            },
        }
        let (done_tx, done_rx) = oneshot::channel();
        let mut ack = Ack::new(&ctx.name, format!("{partition}:{offset}"));
        ack.on_durable = Some(done_tx);
        ack.partition = Some(partition);
        progress.read(partition, offset + 1);
        let _ = durable_tx.send((partition, offset + 1, done_rx));
        let mut envelope = Envelope::new(post, ack);
        envelope.change = change;
        if ctx.out.blocking_send(envelope).is_err() {
            break;
        }
    }
    // Hand every partition over: the revoke callback runs within a poll.
    consumer.unsubscribe();
    let deadline = Instant::now() + Duration::from_secs(config.flush_secs + 70);
    while Instant::now() < deadline && consumer.assignment().is_ok_and(|a| a.count() > 0) {
        consumer.poll(Duration::from_millis(100));
    }
    drop(durable_tx);
    drop(consumer);
    let _ = follower.join();
    Ok(())
}

/// The kind a record of the posts topic is marked with (`None`: a post).
fn record_kind<'a>(m: &'a rdkafka::message::BorrowedMessage<'_>) -> Option<&'a str> {
    m.headers()?
        .iter()
        .find(|h| h.key == super::ingest::RECORD_HEADER)
        .and_then(|h| std::str::from_utf8(h.value?).ok())
}
