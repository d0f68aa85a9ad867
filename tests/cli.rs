//! The command line as a user meets it: exit codes, config errors, metrics.

mod common;

use common::*;
use std::io::{Read, Write};
use std::time::Duration;

#[test]
fn config_check_reports_every_error_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[providers]]\nid = \"x\"\nnmes = [\"X\"]\n\n[[sinks]]\ntype = \"kafkaa\"\n",
    )
    .unwrap();
    let out = earshot().args(["config", "check"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3:1: error: unknown field `nmes`"), "{err}");
    assert!(err.contains("bad.toml:6:8: error: unknown sink type `kafkaa`"), "{err}");
    assert!(err.contains("hint: one of: console, jsonl, sqlite"), "{err}");
}

#[test]
fn config_check_accepts_the_shipped_config_and_a_providers_only_file() {
    let out = earshot()
        .current_dir(repo())
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("config/earshot.toml: ok"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[[providers]]\nid = \"x\"\nnames = [\"X Hospital\"]\n",
    )
    .unwrap();
    let out = earshot()
        .current_dir(dir.path())
        .args(["config", "check", "p.toml"])
        .output()
        .unwrap();
    assert_ok(&out);
}

#[test]
fn run_without_sources_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[[providers]]\nid = \"x\"\nnames = [\"X\"]\n",
    )
    .unwrap();
    let out = earshot()
        .current_dir(dir.path())
        .args(["run", "--config", "p.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sources to read"));
}

#[test]
fn usage_errors_exit_2_and_version_works() {
    assert_eq!(earshot().arg("frobnicate").output().unwrap().status.code(), Some(2));
    let out = earshot().arg("--version").output().unwrap();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("earshot "));
}

#[test]
fn missing_replay_input_names_the_source_and_place() {
    let w = Workdir::new(std::path::Path::new("/nonexistent/stream.jsonl"), 0.0, "");
    let out = w.run();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("earshot.toml:14:1: error: source `demo`: /nonexistent/stream.jsonl does not exist"),
        "{err}"
    );
}

fn get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

#[test]
fn metrics_and_healthz_are_served_while_running() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let w = Workdir::new(
        &repo().join("fixtures/demo"),
        40.0,
        &format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let mut child = w.spawn();
    let mut metrics = String::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            std::thread::sleep(Duration::from_millis(900));
            metrics = get(port, "/metrics");
            break;
        }
    }
    let health = get(port, "/healthz");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        metrics.contains("earshot_posts_received_total{source=\"demo\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("earshot_stage_seconds_bucket{stage=\"read\""),
        "{metrics}"
    );
    assert!(metrics.contains("earshot_posts_dropped_total{reason="), "{metrics}");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"tickets-file\":\"ok\""), "{health}");
}

#[test]
fn score_takes_texts_as_arguments_and_explains_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = earshot()
        .current_dir(dir.path())
        .args([
            "score",
            "RS Harapan Sehat salah diagnosa anak saya",
            "the weather is nice",
        ])
        .output()
        .unwrap();
    assert_ok(&out);
    let lines = lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["id"].as_str(), lines[1]["id"].as_str()),
        (Some("1"), Some("2"))
    );
    assert_eq!(lines[0]["provider"], "rs-harapan-sehat");
    assert!(
        lines[0]["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "misdiagnosis")
    );
    assert_eq!(lines[1]["severity"], "none");
    let out = earshot()
        .args(["score", "--explain", "RS Harapan Sehat salah diagnosa"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("rule        hc-misdiagnosis v1"), "{text}");
}

/// `/healthz` names each source's state: a source retrying after a 429 is
/// still working; one that stopped on an error (a refused API key)
/// degrades the whole.
#[test]
fn healthz_shows_a_stopped_source_and_a_retrying_one() {
    use axum::http::StatusCode;
    let api = serve(axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        match uri.path() {
            "/posts.json" => (StatusCode::UNAUTHORIZED, "{\"errors\":[\"invalid api key\"]}"),
            _ => (StatusCode::TOO_MANY_REQUESTS, "{\"error\":\"Too many requests\"}"),
        }
    }));
    let (metrics, hooks) = (free_port(), free_port());
    let sources = format!(
        "[[sources]]\ntype = \"webhook\"\nname = \"hooks\"\nlisten = \"127.0.0.1:{hooks}\"\n\n\
         [[sources]]\ntype = \"discourse\"\nname = \"forum\"\nurl = \"http://127.0.0.1:{api}\"\napi_key_env = \"FORUM_KEY\"\n\n\
         [[sources]]\ntype = \"mastodon\"\nname = \"masto\"\ninstance = \"http://127.0.0.1:{api}\"\nhashtags = [\"x\"]\n"
    );
    let w = Workdir::with_sources(&sources, &format!("[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n"));
    let mut child = Running(w.spawn_with_env(&[("FORUM_KEY", "wrong")]));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let health = loop {
        let health = std::net::TcpStream::connect(("127.0.0.1", metrics))
            .map(|_| get(metrics, "/healthz"))
            .unwrap_or_default();
        if health.contains("\"forum\":\"failed") && health.contains("\"masto\":\"retrying: rate_limited\"") {
            break health;
        }
        assert!(std::time::Instant::now() < deadline, "{health}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(health.starts_with("HTTP/1.1 503"), "{health}");
    assert!(health.contains("\"hooks\":\"ok\""), "{health}");
    assert!(health.contains("refused the API key"), "{health}");
    signal(&child.0, "TERM");
    let _ = child.0.wait();
}
