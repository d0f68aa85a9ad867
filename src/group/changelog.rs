//! The changelog: the state topic's records, written after each commit and
//! read back when a partition is assigned.
//!
//! One record per incident (its rows: the incident, audit trail, ticket
//! versions, outbox rows with their delivery marks) and one per post (its
//! fingerprint, with its incident if it joined one), keyed `provider/id`
//! in the posts' partition number. A later record replaces an earlier one
//! of its key, so compaction keeps the topic to one record per live key; a
//! fingerprint pruned past the window gets a tombstone.

use super::{Owners, PartitionState, key};
use crate::commit::Committed;
use crate::config::GroupConfig;
use crate::state::{FingerprintRow, IncidentRows, State};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Incident(Box<IncidentRows>),
    Post(FingerprintRow),
}

/// Work for the changelog writer, done in order.
pub enum Job {
    /// A committed batch: write what it changed, then fire its acks and
    /// release its outbox rows.
    Commit(Committed),
    /// Outbox rows delivered (or dead) by a sink, by key.
    Settled(Vec<String>),
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
    /// The committer is done: write what came before, then stop.
    End,
}

/// Writes the changelog on a thread of its own.
pub struct Writer {
    pub topic: String,
    pub producer: FutureProducer,
    /// Its own connection: it reads what the committer committed.
    pub state: State,
    pub owners: Owners,
    pub released: Arc<AtomicI64>,
    pub committed: watch::Sender<u64>,
    pub metrics: crate::metrics::Metrics,
}

/// Jobs taken together at most, so that one broker round trip serves many
/// batches under load.
const COALESCE: usize = 256;

impl Writer {
    /// Runs until `Job::End` (or until every sender of `jobs` is gone).
    pub fn run(self, mut jobs: mpsc::UnboundedReceiver<Job>) -> Result<(), String> {
        let runtime = tokio::runtime::Handle::current();
        let mut batches = 0u64;
        let mut ended = false;
        while !ended && let Some(first) = jobs.blocking_recv() {
            let mut taken = vec![first];
            while taken.len() < COALESCE {
                match jobs.try_recv() {
                    Ok(job) => taken.push(job),
                    Err(_) => break,
                }
            }
            let start = Instant::now();
            // Rows are read now, not when the batch committed: a record is
            // never older than one written before it.
            let mut incidents: BTreeMap<String, (i32, String)> = BTreeMap::new();
            let mut posts: BTreeMap<String, (i32, String)> = BTreeMap::new();
            for job in &taken {
                match job {
                    Job::Commit(c) => {
                        for (p, provider, id) in &c.touched.incidents {
                            incidents.insert(id.clone(), (*p, provider.clone()));
                        }
                        for (p, provider, id) in &c.touched.posts {
                            posts.insert(id.clone(), (*p, provider.clone()));
                        }
                    }
                    Job::Settled(keys) => {
                        for k in keys {
                            let id = k.split('#').next().unwrap_or(k);
                            if incidents.contains_key(id) {
                                continue;
                            }
                            let provider = self.state.provider_of(id).map_err(|e| e.to_string())?;
                            if let Some(provider) = provider
                                && let Some(p) = self.owners.partition_of(&provider)
                            {
                                incidents.insert(id.to_owned(), (p, provider));
                            }
                        }
                    }
                    Job::Flush(_) => {}
                    Job::End => ended = true,
                }
            }
            let mut records: Vec<(i32, String, Option<String>)> = Vec::new();
            for (id, (p, provider)) in incidents {
                if self.owners.partition_of(&provider) != Some(p) {
                    continue; // given up meanwhile: its new owner writes it
                }
                if let Some(rows) = self.state.incident_rows(&id).map_err(|e| e.to_string())? {
                    let value = serde_json::to_string(&Record::Incident(Box::new(rows))).expect("records serialize");
                    records.push((p, key(&provider, &id), Some(value)));
                }
            }
            for (id, (p, provider)) in posts {
                if self.owners.partition_of(&provider) != Some(p) {
                    continue;
                }
                let value = self
                    .state
                    .post_row(&id)
                    .map_err(|e| e.to_string())?
                    .map(|row| serde_json::to_string(&Record::Post(row)).expect("records serialize"));
                records.push((p, key(&provider, &id), value));
            }
            runtime.block_on(self.produce(&records))?;
            self.metrics.changelog_records.inc_by(records.len() as u64);
            self.metrics.observe_stage("changelog", start);
            for job in taken {
                match job {
                    Job::Commit(c) => {
                        self.released.fetch_max(c.last_seq, Ordering::AcqRel);
                        c.fire();
                    }
                    Job::Settled(_) | Job::End => {}
                    Job::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
            batches += 1;
            self.committed.send_replace(batches);
        }
        Ok(())
    }

    /// Sends every record and waits for the broker to acknowledge each.
    async fn produce(&self, records: &[(i32, String, Option<String>)]) -> Result<(), String> {
        let mut reports = Vec::with_capacity(records.len());
        for (partition, key, value) in records {
            let mut record: FutureRecord<'_, String, String> =
                FutureRecord::to(&self.topic).partition(*partition).key(key);
            if let Some(v) = value {
                record = record.payload(v);
            }
            loop {
                match self.producer.send_result(record) {
                    Ok(report) => {
                        reports.push(report);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        record = r;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => return Err(format!("changelog {}: {e}", self.topic)),
                }
            }
        }
        for report in reports {
            match report.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(format!("changelog {}: {e}", self.topic)),
                Err(_) => return Err(format!("changelog {}: the producer went away", self.topic)),
            }
        }
        Ok(())
    }
}

/// Reads partition `partition` of the state topic from its start to its
/// end as of now: the latest record of each key.
pub fn load(config: &GroupConfig, partition: i32, timeout: Duration) -> Result<PartitionState, String> {
    let topic = &config.state_topic;
    // librdkafka assigns only in a named group; this one never joins it.
    let group = format!("{}.changelog-reader", config.group);
    let consumer: BaseConsumer = super::client(
        config,
        &[
            ("group.id", &group),
            ("enable.auto.commit", "false"),
            ("enable.partition.eof", "true"),
        ],
    )?
    .create()
    .map_err(|e| format!("changelog reader for {}: {e}", config.brokers))?;
    let (low, high) = consumer
        .fetch_watermarks(topic, partition, timeout)
        .map_err(|e| format!("changelog {topic}/{partition}: {e}"))?;
    let mut latest: HashMap<Vec<u8>, (i64, Option<Vec<u8>>)> = HashMap::new();
    if high > low {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(low))
            .map_err(|e| e.to_string())?;
        consumer
            .assign(&tpl)
            .map_err(|e| format!("changelog {topic}/{partition}: {e}"))?;
        let deadline = Instant::now() + timeout;
        let mut next = low;
        // The end is where the broker says the partition ends once `high`
        // is read: some brokers (tansu) report `high` as the start of the
        // last batch, not its end.
        loop {
            if Instant::now() > deadline {
                return Err(format!(
                    "changelog {topic}/{partition}: read to offset {next} of {high} in {timeout:?}"
                ));
            }
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    next = m.offset() + 1;
                    let Some(k) = m.key() else { continue };
                    latest.insert(k.to_vec(), (m.offset(), m.payload().map(<[u8]>::to_vec)));
                }
                Some(Err(KafkaError::PartitionEOF(_))) if next >= high => break,
                Some(Err(KafkaError::PartitionEOF(_))) => {}
                Some(Err(e)) => tracing::warn!(topic = %topic, partition, error = %e, "changelog read error; retrying"),
                None => {}
            }
        }
    }
    let mut state = PartitionState::default();
    for (k, (offset, value)) in latest {
        let Some(value) = value else { continue };
        match serde_json::from_slice::<Record>(&value) {
            Ok(Record::Incident(rows)) => state.incidents.push(*rows),
            Ok(Record::Post(row)) => state.posts.push(row),
            Err(e) => tracing::warn!(
                at = %format!("{topic}/{partition}@{offset}"),
                key = %String::from_utf8_lossy(&k),
                error = %e,
                "malformed changelog record skipped"
            ),
        }
    }
    // First seen first: the order the committer made them in.
    state
        .incidents
        .sort_by(|a, b| (a.incident.first_seen, &a.incident.id).cmp(&(b.incident.first_seen, &b.incident.id)));
    state.posts.sort_by(|a, b| (a.at, &a.post_id).cmp(&(b.at, &b.post_id)));
    Ok(state)
}
