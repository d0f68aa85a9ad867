//! Helpers for tests that run the real `earshot` binary.
#![allow(dead_code)]

pub mod broker;
pub mod mastodon;
#[allow(unused_imports)]
pub use broker::*;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn earshot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_earshot"));
    c.env("RUST_LOG", "warn").env_remove("RUST_BACKTRACE");
    c
}

/// A throw-away working directory with a config that replays `input`.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new(input: &Path, rate: f64, extra: &str) -> Workdir {
        let source = format!(
            "[[sources]]\ntype = \"replay\"\nname = \"demo\"\npath = \"{}\"\nrate = {rate}\n",
            input.display()
        );
        Workdir::with_sources(&source, extra)
    }

    /// As `new`, with these `[[sources]]` tables instead of the replay.
    pub fn with_sources(sources: &str, extra: &str) -> Workdir {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r##"
[[providers]]
id = "rs-harapan-sehat"
names = ["RS Harapan Sehat", "Rumah Sakit Harapan Sehat", "Harapan Sehat Hospital", "RSHS Jakarta"]
handles = ["@rsharapansehat", "@rs_harapansehat"]
hashtags = ["#rsharapansehat", "#harapansehat"]

[[providers]]
id = "klinik-medika-utama"
names = ["Klinik Medika Utama", "Medika Utama Clinic"]
handles = ["@medikautama"]
hashtags = ["#medikautama"]

{sources}

[[sinks]]
type = "jsonl"
name = "tickets-file"
path = "{out}"

[[sinks]]
type = "jsonl"
name = "alerts-file"
path = "{alerts}"
records = "alerts"

[state]
path = "{state}"
{extra}
"##,
            out = dir.path().join("tickets.jsonl").display(),
            alerts = dir.path().join("alerts.jsonl").display(),
            state = dir.path().join("state.db").display(),
        );
        std::fs::write(dir.path().join("earshot.toml"), config).unwrap();
        Workdir { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("earshot.toml")
    }

    pub fn run(&self) -> Output {
        earshot()
            .arg("run")
            .arg("--config")
            .arg(self.config())
            .output()
            .unwrap()
    }

    /// `earshot run` with these environment variables (secrets, say).
    pub fn run_with_env(&self, vars: &[(&str, &str)]) -> Output {
        earshot()
            .envs(vars.iter().copied())
            .arg("run")
            .arg("--config")
            .arg(self.config())
            .output()
            .unwrap()
    }

    /// `earshot ARGS… --config CONFIG`.
    pub fn command(&self, args: &[&str]) -> Output {
        earshot()
            .args(args)
            .arg("--config")
            .arg(self.config())
            .output()
            .unwrap()
    }

    pub fn spawn(&self) -> Child {
        self.spawn_with_env(&[])
    }

    /// A running `earshot run` with these environment variables; what it
    /// logs goes to `log()`.
    pub fn spawn_with_env(&self, vars: &[(&str, &str)]) -> Child {
        let log = std::fs::File::create(self.dir.path().join("earshot.log")).unwrap();
        earshot()
            .envs(vars.iter().copied())
            .arg("run")
            .arg("--config")
            .arg(self.config())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    /// What a spawned `earshot run` logged (warnings and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("earshot.log")).unwrap_or_default()
    }

    /// Ticket versions in the state file, via `earshot tickets list --json`.
    pub fn tickets(&self) -> Vec<Value> {
        let out = earshot()
            .args(["tickets", "list", "--json", "--limit", "1000000", "--config"])
            .arg(self.config())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        lines(&String::from_utf8(out.stdout).unwrap())
    }

    pub fn jsonl(&self, name: &str) -> Vec<Value> {
        match std::fs::read_to_string(self.dir.path().join(name)) {
            Ok(text) => lines(&text),
            Err(_) => Vec::new(),
        }
    }
}

pub fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (ticket_id, version) of each ticket, sorted.
pub fn keys(tickets: &[Value]) -> Vec<(String, u64)> {
    let mut k: Vec<_> = tickets
        .iter()
        .map(|t| {
            (
                t["ticket_id"].as_str().unwrap().to_owned(),
                t["version"].as_u64().unwrap(),
            )
        })
        .collect();
    k.sort();
    k
}

pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The post ids of the forwarded-complaint chain's messages
/// (`fixtures/chain/forwarded-complaint.mbox`) read by source `lists`,
/// named by Message-ID.
pub const CHAIN: [&str; 4] = [
    "lists:c1.rudi@mail.example",
    "lists:f1.rt05@lists.example",
    "lists:f2.forum@groups.example",
    "lists:f3.milis@lists.example",
];

/// The forwarded-complaint chain read from a list of 500 members: one
/// incident, its latest ticket holding `posts`, the complaint and its three
/// forwards.
pub fn assert_one_chain_incident(tickets: &[Value], posts: [&str; 4]) {
    assert!(tickets.len() >= 2, "{tickets:?}");
    let id = &tickets[0]["incident_id"];
    assert!(
        tickets.iter().all(|t| t["incident_id"] == *id),
        "one incident: {tickets:?}"
    );
    let last = tickets.last().unwrap();
    assert_eq!(last["post_ids"], serde_json::json!(posts));
    assert_eq!(last["severity"], "high");
    assert_eq!(last["provider"], "klinik-medika-utama");
    // The list's size is every message's audience.
    assert_eq!(last["reach"], 4 * 500);
}

/// Serves `app` on 127.0.0.1 from its own thread; returns the port.
pub fn serve(app: axum::Router) -> u16 {
    listen(|listener| async move { axum::serve(listener, app).await.unwrap() })
}

/// Runs `server` on a listener of 127.0.0.1, on its own thread and
/// runtime; returns the port.
pub fn listen<F, Fut>(server: F) -> u16
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move { server(tokio::net::TcpListener::from_std(listener).unwrap()).await });
    });
    port
}

/// A running earshot, killed if the test ends early (a failed assertion
/// must not leave a server behind).
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// Sends `signal` (`TERM`, `HUP`…) to a running earshot.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal}");
}
