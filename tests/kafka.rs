//! Tickets on a Kafka topic, through a real Kafka-protocol broker on
//! 127.0.0.1 (tansu, which `tests/run.sh` installs): every ticket version
//! arrives, keyed by its incident, with its schema version and content type;
//! earshot killed with SIGKILL at twenty-odd points, restarted each time,
//! puts on the topic exactly the tickets of a run without faults; and so
//! does a run whose broker goes down mid-stream and comes back (librdkafka's
//! mock cluster, whose log survives the outage: tansu's memory storage
//! would not).

mod common;

use common::*;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn sink(broker: &Broker) -> String {
    sink_to(&broker.addr)
}

fn sink_to(bootstrap: &str) -> String {
    format!("[[sinks]]\ntype = \"kafka\"\nname = \"crm-topic\"\nbrokers = \"{bootstrap}\"\ntopic = \"crm.tickets\"\n")
}

/// Ticket versions (idempotency key → incident) as a CRM consuming the
/// topic sees them, de-duplicated by key; with how many messages came.
async fn consume(broker: &Broker, group: &str, want: usize) -> (BTreeMap<String, String>, usize) {
    consume_from(&broker.addr, group, want).await
}

async fn consume_from(bootstrap: &str, group: &str, want: usize) -> (BTreeMap<String, String>, usize) {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&["crm.tickets"]).unwrap();
    let mut got: BTreeMap<String, String> = BTreeMap::new();
    let mut messages = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    // Past the wanted count, a few quiet seconds tell that nothing more comes.
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline && (got.len() < want || quiet_since.elapsed() < Duration::from_secs(3)) {
        let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await else {
            continue;
        };
        quiet_since = Instant::now();
        messages += 1;
        let headers = m.headers().expect("headers");
        let header = |name: &str| {
            headers
                .iter()
                .find(|h| h.key == name)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(header("schema_version").as_deref(), Some("1"));
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        let ticket: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        let key = String::from_utf8_lossy(m.key().unwrap()).into_owned();
        assert_eq!(ticket["incident_id"], key.as_str(), "keyed by incident");
        let id = header("idempotency-key").unwrap();
        assert_eq!(
            id,
            format!("{}#{}", ticket["ticket_id"].as_str().unwrap(), ticket["version"])
        );
        got.insert(id, key);
    }
    (got, messages)
}

fn expected(w: &Workdir) -> BTreeMap<String, String> {
    w.tickets()
        .iter()
        .map(|t| {
            (
                format!("{}#{}", t["ticket_id"].as_str().unwrap(), t["version"]),
                t["incident_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_twenty_points_the_topic_gets_the_tickets_of_a_clean_run() {
    let broker = broker();
    create_topic(&broker).await;
    let input = repo().join("fixtures/demo/stream.jsonl");
    let clean = Workdir::new(&input, 0.0, "");
    assert_ok(&clean.run());
    let want = expected(&clean);
    assert!(want.len() > 5);

    // Paced so that the kills, about 17 s in all, land mid-stream.
    let crashed = Workdir::new(&input, 3.0, &format!("{}[pipeline]\nbatch_size = 4\n", sink(&broker)));
    let mut seed: u64 = 0x5eed_2026;
    for _ in 0..22 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(60 + (seed >> 33) % 1400);
        let mut child = crashed.spawn();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let partial = expected(&crashed).len();
    assert!(
        partial < want.len(),
        "the kills landed mid-stream: {partial} of {}",
        want.len()
    );
    assert_ok(&crashed.run());
    assert_eq!(expected(&crashed), want, "the state file holds the clean run's tickets");
    let (got, messages) = consume(&broker, "crm-after-crashes", want.len()).await;
    assert_eq!(
        got, want,
        "after de-duplication by (incident, version): all, and nothing else"
    );
    assert!(messages >= want.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ticket_version_reaches_the_topic_keyed_by_incident() {
    let broker = broker();
    create_topic(&broker).await;

    let w = Workdir::new(&repo().join("fixtures/demo/stream.jsonl"), 0.0, &sink(&broker));
    assert_ok(&w.run());
    let want = expected(&w);
    assert!(!want.is_empty());
    let (got, messages) = consume(&broker, "crm-test", want.len()).await;
    assert_eq!(got, want);
    assert_eq!(messages, want.len(), "a run without faults sends each version once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_mid_stream_loses_and_repeats_nothing() {
    let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
    cluster.create_topic("crm.tickets", 3, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let input = repo().join("fixtures/demo/stream.jsonl");
    let clean = Workdir::new(&input, 0.0, "");
    assert_ok(&clean.run());
    let want = expected(&clean);

    // Paced over about eight seconds; the broker is down from 2 s to 5 s.
    let w = Workdir::new(&input, 8.0, &sink_to(&bootstrap));
    let mut child = w.spawn();
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.broker_down(1).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.broker_up(1).unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "earshot rode out the outage: {status}");
    assert_eq!(expected(&w), want);
    let (got, _) = consume_from(&bootstrap, "crm-after-outage", want.len()).await;
    assert_eq!(
        got, want,
        "after de-duplication by (incident, version): all, and nothing else"
    );
}

/// (first post without its source, version, severity) of each ticket.
fn shape(tickets: &[serde_json::Value]) -> Vec<(String, u64, String)> {
    let mut v: Vec<(String, u64, String)> = tickets
        .iter()
        .map(|t| {
            let first = t["post_ids"][0].as_str().unwrap();
            (
                first.split_once(':').unwrap().1.to_owned(),
                t["version"].as_u64().unwrap(),
                t["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_from_a_topic_become_the_same_tickets_once_across_restarts() {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let broker = broker();
    create_topic_named(&broker, "earshot.posts", 1).await;
    let demo = std::fs::read_to_string(repo().join("fixtures/demo/stream.jsonl")).unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .create()
        .unwrap();
    for (i, line) in demo.lines().enumerate() {
        producer
            .send(
                FutureRecord::to("earshot.posts").key(&i.to_string()).payload(line),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
    }
    let clean = Workdir::new(&repo().join("fixtures/demo/stream.jsonl"), 0.0, "");
    assert_ok(&clean.run());
    let want = shape(&clean.tickets());

    let dir = tempfile::tempdir().unwrap();
    let providers = std::fs::read_to_string(clean.config()).unwrap();
    let providers = &providers[..providers.find("[[sources]]").unwrap()];
    let tickets = dir.path().join("tickets.jsonl");
    let config = dir.path().join("earshot.toml");
    std::fs::write(
        &config,
        format!(
            "{providers}\n[[sources]]\ntype = \"kafka\"\nname = \"posts\"\nbrokers = \"{}\"\noptions = {{ \"session.timeout.ms\" = \"3000\" }}\n\n[[sinks]]\ntype = \"jsonl\"\nname = \"tickets-file\"\npath = \"{}\"\n\n[state]\npath = \"{}\"\n",
            broker.addr,
            tickets.display(),
            dir.path().join("state.db").display()
        ),
    )
    .unwrap();
    let start = || {
        earshot()
            .env("RUST_LOG", "info")
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let stop = |child: Child| {
        signal(&child, "TERM");
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // A streaming source never ends: wait for the tickets, then stop it.
    let child = start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines(&std::fs::read_to_string(&tickets).unwrap_or_default()).len() < want.len() {
        assert!(Instant::now() < deadline, "the tickets did not come");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = stop(child);
    assert!(log.contains("received=67"), "{log}");
    let first = lines(&std::fs::read_to_string(&tickets).unwrap());
    assert_eq!(shape(&first), want, "the same tickets as replaying the file");
    // Restarted, the group resumes after the committed offsets: nothing again.
    let child = start();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let log = stop(child);
    assert!(log.contains("received=0"), "{log}");
    assert_eq!(lines(&std::fs::read_to_string(&tickets).unwrap()).len(), first.len());
}
