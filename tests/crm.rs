//! Tickets into CRM APIs and alerts to Slack, against a real HTTP server on
//! 127.0.0.1: through 500s, a 429 and a timeout, every ticket version
//! arrives exactly once (per idempotency key); a record the CRM refuses
//! (422) lands in the dead letters with the answer, and nowhere else, until
//! `outbox retry`.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Crm {
    /// Requests seen on the generic endpoint, to script its failures.
    generic_seen: usize,
    /// Refuse tickets about this provider with a 422.
    refuse_provider: Option<String>,
    /// Accepted records: (path, idempotency key) → times created (a repeat
    /// of a key gets a 409 and counts in `repeats`).
    accepted: HashMap<(String, String), usize>,
    repeats: usize,
    /// Requests seen on the slow endpoint (the first one outlasts the timeout).
    slow_seen: usize,
    bodies: Vec<(String, HeaderMap, Value)>,
}

async fn handle(State(crm): State<Arc<Mutex<Crm>>>, uri: Uri, headers: HeaderMap, body: String) -> impl IntoResponse {
    let path = uri.path().to_owned();
    if path == "/slow" {
        let first = {
            let mut c = crm.lock().unwrap();
            c.slow_seen += 1;
            c.slow_seen == 1
        };
        if first {
            // Longer than the sink's timeout: the CRM takes it, the answer is lost.
            tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        }
    }
    let mut crm = crm.lock().unwrap();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if path == "/api/tickets" {
        crm.generic_seen += 1;
        match crm.generic_seen {
            1 | 2 => return (StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new(), "down".to_owned()),
            3 => {
                let mut h = HeaderMap::new();
                h.insert("retry-after", "1".parse().unwrap());
                return (StatusCode::TOO_MANY_REQUESTS, h, "slow down".to_owned());
            }
            _ => {}
        }
        if crm.refuse_provider.as_deref().is_some_and(|p| json["provider"] == p) {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                HeaderMap::new(),
                "{\"error\":\"unknown requester\"}".to_owned(),
            );
        }
    }
    let n = crm.accepted.entry((path.clone(), key)).or_default();
    let status = if *n == 0 {
        *n = 1;
        StatusCode::CREATED
    } else {
        crm.repeats += 1;
        StatusCode::CONFLICT
    };
    crm.bodies.push((path, headers, json));
    (status, HeaderMap::new(), "{}".to_owned())
}

fn outbox(w: &Workdir, args: &[&str]) -> std::process::Output {
    w.command(&[&["outbox"], args].concat())
}

#[test]
fn tickets_reach_the_crm_once_through_failures_and_refusals_wait_as_dead_letters() {
    let crm = Arc::new(Mutex::new(Crm {
        refuse_provider: Some("klinik-medika-utama".into()),
        ..Default::default()
    }));
    let port = serve(Router::new().fallback(handle).with_state(crm.clone()));
    let sinks = format!(
        r#"
[[sinks]]
type = "http"
name = "crm"
url = "http://127.0.0.1:{port}/api/tickets"

[[sinks]]
type = "http"
name = "zendesk"
format = "zendesk"
url = "http://127.0.0.1:{port}/api/v2/tickets.json"
token_env = "EARSHOT_TEST_ZENDESK_TOKEN"

[[sinks]]
type = "http"
name = "fhir"
format = "fhir"
url = "http://127.0.0.1:{port}/fhir/"

[[sinks]]
type = "http"
name = "slow-crm"
url = "http://127.0.0.1:{port}/slow"
timeout_secs = 1

[[sinks]]
type = "http"
name = "slack"
format = "slack"
records = "alerts"
url = "http://127.0.0.1:{port}/slack/hook"
"#
    );
    let w = Workdir::new(&repo().join("fixtures/demo/stream.jsonl"), 0.0, &sinks);
    let run = || {
        earshot()
            .env("EARSHOT_TEST_ZENDESK_TOKEN", "s3cret")
            .arg("run")
            .arg("--config")
            .arg(w.config())
            .output()
            .unwrap()
    };
    let out = run();
    assert_ok(&out);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("s3cret"),
        "tokens never reach the logs"
    );
    let tickets = w.tickets();
    let key = |t: &Value| format!("{}#{}", t["ticket_id"].as_str().unwrap(), t["version"]);
    let (kmu, others): (Vec<&Value>, Vec<&Value>) =
        tickets.iter().partition(|t| t["provider"] == "klinik-medika-utama");
    assert!(!kmu.is_empty() && !others.is_empty());
    {
        let crm = crm.lock().unwrap();
        let accepted = |path: &str| -> Vec<String> {
            let mut keys: Vec<String> = crm
                .accepted
                .iter()
                .filter(|((p, _), _)| p == path)
                .map(|((_, k), _)| k.clone())
                .collect();
            keys.sort();
            keys
        };
        let mut expected: Vec<String> = others.iter().map(|t| key(t)).collect();
        expected.sort();
        assert_eq!(
            accepted("/api/tickets"),
            expected,
            "every ticket but the refused ones, once"
        );
        let mut all: Vec<String> = tickets.iter().map(key).collect();
        all.sort();
        assert_eq!(accepted("/api/v2/tickets.json"), all);
        assert_eq!(accepted("/fhir/Task"), all);
        // The timed-out request was sent again with its key: created once.
        assert_eq!(accepted("/slow"), all);
        assert!(crm.slow_seen > all.len(), "the timed-out request was sent again");
        assert!(
            crm.generic_seen > expected.len() + kmu.len(),
            "the 500s and the 429 were retried"
        );
        // The formats.
        let (_, headers, zendesk) = crm.bodies.iter().find(|(p, _, _)| p == "/api/v2/tickets.json").unwrap();
        assert!(zendesk["ticket"]["external_id"].as_str().unwrap().starts_with("inc-"));
        assert_eq!(headers["authorization"], "Bearer s3cret");
        let (_, headers, task) = crm.bodies.iter().find(|(p, _, _)| p == "/fhir/Task").unwrap();
        assert_eq!(task["resourceType"], "Task");
        assert!(
            headers["if-none-exist"]
                .to_str()
                .unwrap()
                .starts_with("identifier=urn:earshot:ticket-version|inc-")
        );
        let (_, _, slack) = crm.bodies.iter().find(|(p, _, _)| p == "/slack/hook").unwrap();
        assert!(slack["blocks"][0]["text"]["text"].as_str().unwrap().contains("risk"));
    }

    // The refused ones wait in the dead letters, with the CRM's answer.
    let dead = outbox(&w, &["dead", "--json"]);
    assert_ok(&dead);
    let dead = lines(&String::from_utf8_lossy(&dead.stdout));
    assert_eq!(dead.len(), kmu.len());
    assert!(
        dead.iter()
            .all(|d| d["sink"] == "crm" && d["response"].as_str().unwrap().starts_with("422"))
    );
    // Fixed on the CRM's side: retried, delivered, gone from the dead letters.
    crm.lock().unwrap().refuse_provider = None;
    assert_ok(&outbox(&w, &["retry", "--sink", "crm"]));
    assert_ok(&run());
    assert!(lines(&String::from_utf8_lossy(&outbox(&w, &["dead", "--json"]).stdout)).is_empty());
    let crm = crm.lock().unwrap();
    for t in &kmu {
        assert_eq!(crm.accepted.get(&("/api/tickets".to_owned(), key(t))), Some(&1));
    }
}
