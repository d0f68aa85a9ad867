//! The demo stream end to end through the real binary, against golden
//! tickets kept as data in `tests/golden/demo_tickets.json`.

mod common;

use common::*;
use serde_json::Value;

const FIELDS: &[&str] = &[
    "incident_id",
    "version",
    "provider",
    "severity",
    "status",
    "categories",
    "post_ids",
];

/// Field-by-field comparison, with every difference listed.
fn diff(expected: &[Value], got: &[Value]) -> Vec<String> {
    let key = |t: &Value| format!("{}#v{}", t["incident_id"].as_str().unwrap_or("?"), t["version"]);
    let mut problems = Vec::new();
    for e in expected {
        match got.iter().find(|g| key(g) == key(e)) {
            None => problems.push(format!("missing ticket {} (first post {})", key(e), e["post_ids"][0])),
            Some(g) => {
                for f in FIELDS {
                    if e[f] != g[f] {
                        problems.push(format!("ticket {}: {f}: expected {}, got {}", key(e), e[f], g[f]));
                    }
                }
            }
        }
    }
    for g in got {
        if !expected.iter().any(|e| key(e) == key(g)) {
            problems.push(format!(
                "unexpected ticket {} ({} {}, first post {})",
                key(g),
                g["severity"],
                g["categories"],
                g["post_ids"][0]
            ));
        }
    }
    problems
}

#[test]
fn demo_stream_produces_the_golden_tickets() {
    let w = Workdir::new(&repo().join("fixtures/demo"), 0.0, "");
    let out = w.run();
    assert_ok(&out);
    let golden: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(repo().join("tests/golden/demo_tickets.json")).unwrap()).unwrap();
    let from_db = w.tickets();
    let problems = diff(&golden, &from_db);
    assert!(
        problems.is_empty(),
        "tickets differ from tests/golden/demo_tickets.json:\n{}",
        problems.join("\n")
    );
    // The JSON lines sink got exactly the same ticket versions.
    assert_eq!(keys(&w.jsonl("tickets.jsonl")), keys(&from_db));
    // Every ticket carries its schema version and a post to act on.
    for t in &from_db {
        assert_eq!(t["schema_version"], 1);
        assert!(t["posts"][0]["excerpt"].as_str().is_some_and(|e| !e.is_empty()));
    }
    // Alerts only for high and critical, one per ticket that high.
    let alerts = w.jsonl("alerts.jsonl");
    let high = from_db
        .iter()
        .filter(|t| matches!(t["severity"].as_str(), Some("high" | "critical")))
        .count();
    assert_eq!(alerts.len(), high);
    // The malformed line is reported with its place and skipped.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stream.jsonl:31"), "{stderr}");
}

#[test]
fn console_prints_a_line_per_alert() {
    let w = Workdir::new(&repo().join("fixtures/demo"), 0.0, "[[sinks]]\ntype = \"console\"\n");
    let out = w.run();
    assert_ok(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let alerts = w.jsonl("alerts.jsonl");
    assert_eq!(stdout.lines().count(), alerts.len(), "{stdout}");
    assert!(
        stdout
            .lines()
            .all(|l| l.starts_with("[HIGH] ") || l.starts_with("[CRITICAL] ")),
        "{stdout}"
    );
    assert!(stdout.contains("@mark_t (mastodon)"), "{stdout}");
}

#[test]
fn a_second_run_on_the_same_input_adds_nothing() {
    let w = Workdir::new(&repo().join("fixtures/demo"), 0.0, "");
    assert_ok(&w.run());
    let first = w.tickets();
    let file = std::fs::read_to_string(w.dir.path().join("tickets.jsonl")).unwrap();
    assert!(!first.is_empty());
    assert_ok(&w.run());
    assert_eq!(keys(&w.tickets()), keys(&first));
    assert_eq!(
        std::fs::read_to_string(w.dir.path().join("tickets.jsonl")).unwrap(),
        file
    );
}
