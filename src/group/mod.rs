//! earshot past one machine: a Kafka consumer group whose state follows its
//! partitions.
//!
//! ```text
//! ingest:  sources ─► stages (to find the provider) ─► posts topic, keyed by provider
//! process: posts topic ─► stages ─► committer ─► changelog ─► outbox released ─► sinks
//!                (consumer group)        ▲
//!                 assign: load ──────────┘ (state topic, the partition's records)
//!                 revoke: flush, then drop
//! ```
//!
//! Every post about one provider lands in one partition of the posts topic,
//! and every incident belongs to one provider, so a partition's incidents
//! and fingerprints move with it. After each commit the process member
//! writes the rows of every incident the batch changed, and the fingerprint
//! of every post it applied, to the state topic, in the same partition
//! number, keyed `provider/id`: a compacted changelog whose latest record
//! per key is the truth. Only once the broker has acknowledged them are the
//! posts' offsets stored and the batch's outbox rows released to the sinks,
//! so a member that dies leaves nothing the next owner does not know: it
//! replays the posts after the committed offset, finds those already in
//! the changelog seen, and delivers what was released but not yet marked
//! delivered. A member that gives a partition up (a rebalance, a shutdown)
//! first waits for its posts to be durable, commits their offsets, lets its
//! sinks deliver the partition's released rows (up to `flush_secs`) and
//! writes those marks, then drops the partition's rows.

pub mod changelog;
pub mod ingest;
pub mod process;

use crate::config::GroupConfig;
use crate::state::{FingerprintRow, IncidentRows};
use rdkafka::ClientConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What `earshot run --role` makes of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Sources to the posts topic.
    Ingest,
    /// One member of the consumer group on the posts topic.
    Process,
    /// Everything in one process, no broker needed (the default).
    All,
}

/// A partition's state as the changelog holds it.
#[derive(Debug, Default)]
pub struct PartitionState {
    pub incidents: Vec<IncidentRows>,
    /// Fingerprints of the posts: incident members, and the others within
    /// the window (spam repeats, what a later post may still match).
    pub posts: Vec<FingerprintRow>,
}

/// Partitions coming to or going from a process member, in order with its
/// posts: the committer applies them between batches.
#[derive(Debug)]
pub enum Control {
    Load { partition: i32, state: PartitionState },
    Drop { partitions: Vec<i32> },
}

/// Which partition each provider's posts come from, as far as this member
/// knows: shared by its consumer, committer and changelog writer.
#[derive(Debug, Clone, Default)]
pub struct Owners(Arc<Mutex<HashMap<String, i32>>>);

impl Owners {
    pub fn set(&self, provider: &str, partition: i32) {
        let mut map = self.0.lock().expect("owners lock");
        if map.get(provider) != Some(&partition) {
            map.insert(provider.to_owned(), partition);
        }
    }

    pub fn partition_of(&self, provider: &str) -> Option<i32> {
        self.0.lock().expect("owners lock").get(provider).copied()
    }

    pub fn providers_of(&self, partitions: &[i32]) -> Vec<String> {
        let map = self.0.lock().expect("owners lock");
        map.iter()
            .filter(|(_, p)| partitions.contains(p))
            .map(|(provider, _)| provider.clone())
            .collect()
    }

    /// Forgets these partitions; returns their providers.
    pub fn remove(&self, partitions: &[i32]) -> Vec<String> {
        let mut map = self.0.lock().expect("owners lock");
        let gone: Vec<String> = map
            .iter()
            .filter(|(_, p)| partitions.contains(p))
            .map(|(provider, _)| provider.clone())
            .collect();
        for provider in &gone {
            map.remove(provider);
        }
        gone
    }
}

/// The changelog key of an incident's or a post's record.
pub fn key(provider: &str, id: &str) -> String {
    format!("{provider}/{id}")
}

/// A librdkafka client's settings: `defaults`, then the configured options
/// (which win), then the password.
pub fn client(config: &GroupConfig, defaults: &[(&str, &str)]) -> Result<ClientConfig, String> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.brokers);
    for (k, v) in defaults {
        c.set(*k, *v);
    }
    for (k, v) in &config.options {
        c.set(k, v);
    }
    if let Some(var) = &config.password_env {
        let password =
            std::env::var(var).map_err(|_| format!("environment variable {var} (the SASL password) is not set"))?;
        c.set("sasl.password", password);
    }
    Ok(c)
}

/// A producer that loses nothing and reorders nothing within a partition.
pub fn producer(config: &GroupConfig) -> Result<rdkafka::producer::FutureProducer, String> {
    client(
        config,
        &[
            ("enable.idempotence", "true"),
            ("acks", "all"),
            // Java's partitioner: other producers keyed by provider id agree.
            ("partitioner", "murmur2_random"),
            ("linger.ms", "2"),
        ],
    )?
    .create()
    .map_err(|e| format!("kafka producer for {}: {e}", config.brokers))
}

/// Makes sure the state topic exists with as many partitions as the posts
/// topic (one changelog partition per posts partition) and compaction on:
/// created when missing, refused when it has too few partitions.
pub async fn ensure_state_topic(config: &GroupConfig) -> Result<(), String> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let timeout = std::time::Duration::from_secs(30);
    let (posts, state) = tokio::task::block_in_place(|| {
        let probe: BaseConsumer = client(config, &[])?
            .create()
            .map_err(|e| format!("kafka client for {}: {e}", config.brokers))?;
        let partitions = |topic: &str| -> Result<usize, String> {
            let metadata = probe
                .fetch_metadata(Some(topic), timeout)
                .map_err(|e| format!("metadata of {topic} from {}: {e}", config.brokers))?;
            Ok(metadata
                .topics()
                .iter()
                .find(|t| t.name() == topic && t.error().is_none())
                .map_or(0, |t| t.partitions().len()))
        };
        Ok::<_, String>((partitions(&config.posts_topic)?, partitions(&config.state_topic)?))
    })?;
    if posts == 0 {
        return Err(format!(
            "the posts topic {} does not exist: create it with one partition per unit of parallelism",
            config.posts_topic
        ));
    }
    if state >= posts {
        return Ok(());
    }
    if state > 0 {
        return Err(format!(
            "the state topic {} has {state} partitions, the posts topic {} has {posts}: they must match",
            config.state_topic, config.posts_topic
        ));
    }
    let admin: AdminClient<DefaultClientContext> = client(config, &[])?
        .create()
        .map_err(|e| format!("kafka admin client for {}: {e}", config.brokers))?;
    let topic =
        NewTopic::new(&config.state_topic, posts as i32, TopicReplication::Fixed(-1)).set("cleanup.policy", "compact");
    let results = admin
        .create_topics([&topic], &AdminOptions::new().operation_timeout(Some(timeout)))
        .await
        .map_err(|e| format!("create {}: {e}", config.state_topic))?;
    for r in results {
        if let Err((topic, code)) = r
            && code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists
        {
            return Err(format!("create {topic}: {code}"));
        }
    }
    tracing::info!(topic = %config.state_topic, partitions = posts, "state topic created (compacted)");
    Ok(())
}
