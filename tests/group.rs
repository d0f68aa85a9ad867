//! earshot as a Kafka consumer group, through a real Kafka-protocol broker
//! on 127.0.0.1 (tansu): one ingest and two process members give the CRM
//! topic exactly the tickets of a single process; a member killed with
//! SIGKILL mid-stream hands its partitions, with their state, to the other,
//! and still no ticket is lost, split or made twice differently; a member
//! joining mid-stream takes partitions with their state.

mod common;

use common::*;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The demo's two providers land in different partitions of two (Java's
/// murmur2 of their ids), so each member has work.
const PARTITIONS: i32 = 2;

/// The demo stream with the forwarded-complaint chain spread through it, as
/// one file: one source, so the single process reads it in the same order
/// as the ingest member. The chain is moved to the demo's days: incidents
/// live in a window of time, and the chain's May would otherwise close the
/// demo's March incidents in the single process.
fn input(dir: &Path) -> PathBuf {
    let demo = std::fs::read_to_string(repo().join("fixtures/demo/stream.jsonl")).unwrap();
    let chain = std::fs::read_to_string(repo().join("fixtures/chain/forwarded-complaint.jsonl"))
        .unwrap()
        .replace("2026-05-04", "2026-03-03")
        .replace("2026-05-05", "2026-03-04");
    let mut chain = chain.lines().filter(|l| !l.trim().is_empty());
    let mut out = String::new();
    for (i, line) in demo.lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        if i >= 10
            && i % 5 == 0
            && let Some(c) = chain.next()
        {
            out.push_str(c);
            out.push('\n');
        }
    }
    for c in chain {
        out.push_str(c);
        out.push('\n');
    }
    let path = dir.join("stream.jsonl");
    std::fs::write(&path, out).unwrap();
    path
}

fn group_section(broker: &Broker) -> String {
    format!(
        "[group]\nbrokers = \"{}\"\nsession_timeout_secs = 6\nflush_secs = 10\n",
        broker.addr
    )
}

/// A process member: the CRM topic as its ticket sink, its metrics served.
struct Member {
    work: Workdir,
    port: u16,
    child: Option<Child>,
}

impl Member {
    fn start(broker: &Broker) -> Member {
        let port = free_port();
        let extra = format!(
            "{}[[sinks]]\ntype = \"kafka\"\nname = \"crm-topic\"\nbrokers = \"{}\"\ntopic = \"crm.tickets\"\n\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n",
            group_section(broker),
            broker.addr
        );
        let work = Workdir::with_sources("", &extra);
        let log = std::fs::File::create(work.dir.path().join("member.log")).unwrap();
        let child = earshot()
            .env("RUST_LOG", "info")
            .args(["run", "--role", "process", "--config"])
            .arg(work.config())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Member {
            work,
            port,
            child: Some(child),
        }
    }

    async fn metric(&self, name: &str) -> f64 {
        metric(self.port, name).await
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.work.dir.path().join("member.log")).unwrap_or_default()
    }

    fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }

    /// SIGTERM, and waits for a clean exit.
    fn stop(&mut self) {
        let mut child = self.child.take().unwrap();
        signal(&child, "TERM");
        let status = child.wait().unwrap();
        assert!(status.success(), "member exit {status}\n{}", self.log());
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits until `check` holds, failing with `what` (and the logs) after a minute.
async fn until<F: std::future::Future<Output = bool>>(what: &str, members: &[&Member], mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check().await {
        if Instant::now() > deadline {
            let logs: Vec<String> = members.iter().map(|m| m.log()).collect();
            panic!("timed out waiting for {what}\n{}", logs.join("\n----\n"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn ingest(broker: &Broker, input: &Path, rate: f64) -> (Workdir, Child) {
    let work = Workdir::new(input, rate, &group_section(broker));
    let child = earshot()
        .args(["run", "--role", "ingest", "--config"])
        .arg(work.config())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (work, child)
}

/// A ticket as compared across runs: all but when each post was captured.
fn comparable(mut ticket: Value) -> Value {
    if let Some(posts) = ticket["posts"].as_array_mut() {
        for p in posts {
            p.as_object_mut().unwrap().remove("captured_at");
        }
    }
    ticket
}

/// The single process's ticket versions over `input`, by idempotency key.
fn single_process(input: &Path) -> BTreeMap<String, Value> {
    let w = Workdir::new(input, 0.0, "");
    assert_ok(&w.run());
    let tickets: BTreeMap<String, Value> = w
        .jsonl("tickets.jsonl")
        .into_iter()
        .map(|t| {
            (
                format!("{}#{}", t["ticket_id"].as_str().unwrap(), t["version"]),
                comparable(t),
            )
        })
        .collect();
    assert!(tickets.len() >= 10, "{tickets:?}");
    tickets
}

/// Every message on the CRM topic until `want` distinct tickets came and
/// then a few quiet seconds: (idempotency key, ticket) in arrival order.
async fn crm_messages(broker: &Broker, want: usize) -> Vec<(String, Value)> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("group.id", "crm")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&["crm.tickets"]).unwrap();
    let mut got = Vec::new();
    let mut distinct = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline && (distinct.len() < want || quiet_since.elapsed() < Duration::from_secs(4)) {
        let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await else {
            continue;
        };
        quiet_since = Instant::now();
        let key = m
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == "idempotency-key").and_then(|h| h.value))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .expect("an idempotency key");
        let ticket: Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        distinct.insert(key.clone());
        got.push((key, comparable(ticket)));
    }
    got
}

/// The CRM got every ticket version of the single process and no other;
/// a version that came twice came the same both times (no incident split,
/// no version made twice differently). Returns how many came twice.
fn assert_same_tickets(got: &[(String, Value)], want: &BTreeMap<String, Value>) -> usize {
    let keys: std::collections::BTreeSet<&String> = got.iter().map(|(k, _)| k).collect();
    let want_keys: std::collections::BTreeSet<&String> = want.keys().collect();
    assert_eq!(
        keys, want_keys,
        "the ticket versions of the single process, and no other"
    );
    for (key, ticket) in got {
        assert_eq!(ticket, &want[key], "ticket {key} as the single process made it");
    }
    got.len() - keys.len()
}

/// The input, the single process's tickets over it, and a broker with the
/// posts and CRM topics.
async fn setup() -> (tempfile::TempDir, PathBuf, BTreeMap<String, Value>, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path());
    let want = single_process(&input);
    let broker = broker();
    create_topic_named(&broker, "earshot.posts", PARTITIONS).await;
    create_topic_named(&broker, "crm.tickets", 3).await;
    (dir, input, want, broker)
}

/// Two process members, once each holds a partition.
async fn two_members(broker: &Broker) -> (Member, Member) {
    let a = Member::start(broker);
    let b = Member::start(broker);
    until("each member holding a partition", &[&a, &b], || async {
        partitions(&a).await == 1.0 && partitions(&b).await == 1.0
    })
    .await;
    (a, b)
}

async fn partitions(m: &Member) -> f64 {
    m.metric("earshot_group_partitions").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_give_the_tickets_of_one_process() {
    let (_dir, input, want, broker) = setup().await;
    let (mut a, mut b) = two_members(&broker).await;
    let (_ingest, mut child) = ingest(&broker, &input, 0.0);
    assert!(child.wait().unwrap().success(), "ingest");
    let got = crm_messages(&broker, want.len()).await;
    assert_eq!(
        assert_same_tickets(&got, &want),
        0,
        "a run without faults sends each version once"
    );
    for m in [&a, &b] {
        assert!(
            m.metric("earshot_tickets_total").await > 0.0,
            "both members made tickets"
        );
    }
    a.stop();
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_killed_mid_stream_hands_its_partition_over_with_its_state() {
    let (_dir, input, want, broker) = setup().await;
    let (mut a, mut b) = two_members(&broker).await;
    // About 12 s of posts; the kill lands once both have made tickets.
    let (_ingest, mut child) = ingest(&broker, &input, 8.0);
    until("tickets from both members", &[&a, &b], || async {
        a.metric("earshot_tickets_total").await >= 2.0 && b.metric("earshot_tickets_total").await >= 2.0
    })
    .await;
    assert!(child.try_wait().unwrap().is_none(), "the kill lands mid-stream");
    a.kill();
    until("the survivor holding both partitions", &[&b], || async {
        partitions(&b).await == 2.0
    })
    .await;
    assert!(child.wait().unwrap().success(), "ingest");
    let got = crm_messages(&broker, want.len()).await;
    let repeated = assert_same_tickets(&got, &want);
    assert!(
        b.log().contains("partition state loaded from the changelog partition=") && b.log().contains("incidents="),
        "{}",
        b.log()
    );
    eprintln!("{repeated} ticket version(s) sent again after the kill, each the same as before");
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joining_mid_stream_takes_partitions_with_their_state() {
    let (_dir, input, want, broker) = setup().await;
    let mut a = Member::start(&broker);
    until("the first member holding both partitions", &[&a], || async {
        partitions(&a).await == 2.0
    })
    .await;
    let (_ingest, mut child) = ingest(&broker, &input, 8.0);
    until("tickets from the first member", &[&a], || async {
        a.metric("earshot_tickets_total").await >= 3.0
    })
    .await;
    let mut b = Member::start(&broker);
    until("the newcomer holding a partition", &[&a, &b], || async {
        partitions(&b).await == 1.0 && partitions(&a).await == 1.0
    })
    .await;
    assert!(child.try_wait().unwrap().is_none(), "the newcomer joined mid-stream");
    assert!(child.wait().unwrap().success(), "ingest");
    let got = crm_messages(&broker, want.len()).await;
    assert_eq!(assert_same_tickets(&got, &want), 0, "a handover sends nothing twice");
    assert!(
        b.metric("earshot_posts_scored_total").await > 0.0,
        "the newcomer scored posts"
    );
    a.stop();
    b.stop();
}

/// The audit trail of the member's incident that holds `post`.
fn trail_of(member: &Member, post: &str) -> Vec<Value> {
    let out = member.work.command(&["incidents", "list", "--json", "--status", "all"]);
    let Some(incident) = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|i| i["post_ids"].as_array().is_some_and(|p| p.iter().any(|p| p == post)))
    else {
        return Vec::new();
    };
    let out = member
        .work
        .command(&["incidents", "show", incident["id"].as_str().unwrap(), "--json"]);
    serde_json::from_slice::<Value>(&out.stdout)
        .map_or_else(|_| Vec::new(), |v| v["audit"].as_array().cloned().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_and_an_edit_follow_their_post_to_its_member_and_the_state_topic() {
    let broker = broker();
    create_topic_named(&broker, "earshot.posts", PARTITIONS).await;
    create_topic_named(&broker, "crm.tickets", 3).await;
    let mut a = Member::start(&broker);
    until("the member holding both partitions", &[&a], || async {
        partitions(&a).await == 2.0
    })
    .await;
    // Ingest streams a Mastodon hashtag: a complaint and a reply, then the
    // reply deleted and the complaint edited.
    let (port, _instance) = common::mastodon::streaming_instance();
    let source = format!(
        "[[sources]]\ntype = \"mastodon\"\nname = \"masto\"\ninstance = \"http://127.0.0.1:{port}\"\n\
         hashtags = [\"#rsharapansehat\"]\nsearches = [\"Harapan Sehat\"]\nmentions = true\nstreaming = true\n\
         token_env = \"EARSHOT_TEST_MASTODON_TOKEN\"\n"
    );
    let work = Workdir::with_sources(&source, &group_section(&broker));
    let _ingest = Running(
        earshot()
            .env("EARSHOT_TEST_MASTODON_TOKEN", "t0ken")
            .args(["run", "--role", "ingest", "--config"])
            .arg(work.config())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let changed = |trail: &[Value]| {
        let deleted = trail.iter().find(|a| a["action"] == "post deleted");
        let edited = trail.iter().find(|a| a["action"] == "post edited");
        matches!((deleted, edited), (Some(d), Some(e))
            if d["comment"].as_str().unwrap().starts_with("masto:110531 deleted")
                && d["by"] == "masto"
                && e["comment"].as_str().unwrap().contains("UPDATE: akhirnya ditangani"))
    };
    until("the deletion and the edit on the member's incident", &[&a], || async {
        changed(&trail_of(&a, "masto:110530"))
    })
    .await;
    // The trail is in the state topic: a member starting afresh loads it.
    a.stop();
    let b = Member::start(&broker);
    until("the next member loading the trail", &[&b], || async {
        partitions(&b).await == 2.0 && changed(&trail_of(&b, "masto:110530"))
    })
    .await;
}
