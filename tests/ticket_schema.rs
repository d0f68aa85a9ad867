//! Every ticket earshot emits is valid against the published schema v1
//! (`schemas/ticket-v1.schema.json`), which CRM integrations build on.

mod common;

use common::*;
use serde_json::Value;

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schemas/ticket-v1.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema itself is valid")
}

fn tickets(fixture: &str) -> Vec<Value> {
    let out = earshot().arg("replay").arg(repo().join(fixture)).output().unwrap();
    assert_ok(&out);
    lines(&String::from_utf8_lossy(&out.stdout))
}

#[test]
fn every_ticket_is_valid_schema_v1() {
    let validator = schema();
    let mut all = tickets("fixtures/demo/stream.jsonl");
    all.extend(tickets("fixtures/chain/forwarded-complaint.jsonl"));
    assert!(all.len() > 10);
    for t in &all {
        let errors: Vec<String> = validator
            .iter_errors(t)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", t["incident_id"]);
        assert_eq!(t["posts"][0]["sha256"].as_str().unwrap().len(), 64);
    }
    // Routing and deadlines come from [tickets] (default team, 4 h for critical).
    let critical = all.iter().find(|t| t["severity"] == "critical").unwrap();
    assert_eq!(critical["team"], "patient-relations");
    let last = chrono::DateTime::parse_from_rfc3339(critical["last_seen"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(critical["due_at"].as_str().unwrap()).unwrap();
    assert_eq!((due - last).num_hours(), 4);
}

#[test]
fn the_schema_refuses_what_is_not_a_ticket() {
    let validator = schema();
    let mut t = tickets("fixtures/chain/forwarded-complaint.jsonl").remove(0);
    assert!(validator.is_valid(&t));
    t["status"] = "closed".into();
    assert!(!validator.is_valid(&t), "an unknown status");
    t["status"] = "open".into();
    t.as_object_mut().unwrap().remove("due_at");
    assert!(!validator.is_valid(&t), "a missing field");
}
