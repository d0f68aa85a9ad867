//! `earshot replay`, the stable contract, and what it shows of the noise
//! filter and incidents: one complaint forwarded across three mailing lists
//! (growing quote depth, a comment at each hop, three mail clients' styles),
//! then reposted on Mastodon and copied to a forum, among confusers (a shop
//! and a song of the same name, spam, praise, questions), is one incident
//! whose ticket escalates; the confusers produce nothing.

mod common;

use common::*;
use serde_json::Value;
use std::process::Output;

fn replay(args: &[&str], input: &std::path::Path) -> Output {
    earshot().arg("replay").args(args).arg(input).output().unwrap()
}

fn ticket_lines(out: &Output) -> Vec<Value> {
    assert_ok(out);
    lines(&String::from_utf8_lossy(&out.stdout))
}

const CHAIN: &[&str] = &[
    "replay:mail-001",
    "replay:mail-002",
    "replay:mail-003",
    "replay:mail-004",
    "replay:toot-105",
    "replay:forum-202",
];

#[test]
fn a_forwarded_complaint_is_one_incident_that_escalates() {
    let tickets = ticket_lines(&replay(&[], &repo().join("fixtures/chain/forwarded-complaint.jsonl")));
    assert!(tickets.len() >= 2, "{tickets:?}");
    let id = &tickets[0]["incident_id"];
    assert!(
        tickets.iter().all(|t| t["incident_id"] == *id),
        "one incident only: {tickets:?}"
    );
    for field in [
        "incident_id",
        "version",
        "severity",
        "risk",
        "provider",
        "categories",
        "post_ids",
        "first_seen",
        "last_seen",
        "channels",
        "reach",
    ] {
        assert!(
            tickets.iter().all(|t| !t[field].is_null()),
            "every ticket has `{field}`"
        );
    }
    let rank = |s: &Value| {
        ["none", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| s == x)
            .unwrap()
    };
    for (i, pair) in tickets.windows(2).enumerate() {
        assert_eq!(pair[1]["version"], i as u64 + 2);
        assert!(
            rank(&pair[1]["severity"]) > rank(&pair[0]["severity"]),
            "a new version only when it escalates"
        );
        assert_eq!(pair[1]["status"], "updated");
    }
    let last = tickets.last().unwrap();
    assert_eq!(last["severity"], "critical");
    assert_eq!(last["provider"], "klinik-medika-utama");
    let ids: Vec<&str> = last["post_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids, CHAIN, "every copy joined, nothing else did");
    assert_eq!(last["channels"], serde_json::json!(["email", "mastodon", "forum"]));
    // The lists and the reposter; the patient and the forum poster have no audience figure.
    assert_eq!(last["reach"], 240 + 1800 + 12000 + 9000);
    for c in ["records_access", "billing", "viral_call", "legal_threat"] {
        assert!(
            last["categories"].as_array().unwrap().iter().any(|x| x == c),
            "{c}: {last}"
        );
    }
    // The chain of hops names who passed it on, and why each joined.
    let hops = last["hops"].as_array().unwrap();
    assert_eq!(hops.len(), CHAIN.len());
    assert_eq!(hops[1]["via"], "Rudi Hartono <rudi.hartono@mail.example>");
    assert!(
        hops[1]["link"].as_str().unwrap().contains("near-duplicate"),
        "{}",
        hops[1]
    );
    assert!(hops[5]["link"].as_str().unwrap().contains("copies"), "{}", hops[5]);
    assert!(
        last["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "spread")
    );
}

#[test]
fn the_demo_letter_its_forwards_repost_copy_and_translation_are_one_incident() {
    let tickets = ticket_lines(&replay(&[], &repo().join("fixtures/demo/stream.jsonl")));
    let holding = |post: &str| -> Vec<&Value> {
        tickets
            .iter()
            .filter(|t| t["post_ids"].as_array().unwrap().iter().any(|p| p == post))
            .collect()
    };
    let letter = holding("replay:e-0001");
    assert_eq!(letter.len(), 1);
    for copy in ["e-0002", "e-0003", "e-0004", "m-2010", "f-203", "m-3001"] {
        assert!(
            tickets
                .iter()
                .all(|t| t["post_ids"][0] != format!("replay:{copy}").as_str()),
            "{copy} opened an incident of its own"
        );
    }
}

#[test]
fn lenient_input_out_file_and_kept_state() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("posts.jsonl");
    std::fs::write(
        &input,
        "{\"id\":\"1\",\"text\":\"RS Harapan Sehat salah diagnosa anak saya, dokter tidak datang dua hari, tolong sebarkan\",\"followers\":2500,\"extra\":true}\nplain text about nothing\n{\"id\":2,\"text\":\"Dokter jaga di Klinik Medika Utama membentak ibu saya dan menolak memberi rekam medis. Kami akan lapor polisi.\"}\n",
    )
    .unwrap();
    let out = dir.path().join("tickets.jsonl");
    let state = dir.path().join("state.db");
    let args = ["--out", out.to_str().unwrap(), "--state", state.to_str().unwrap()];
    let first = replay(&args, &input);
    assert_ok(&first);
    assert!(first.stdout.is_empty(), "tickets go to --out");
    let tickets = lines(&std::fs::read_to_string(&out).unwrap());
    let providers: Vec<&str> = tickets.iter().map(|t| t["provider"].as_str().unwrap()).collect();
    assert_eq!(providers, ["rs-harapan-sehat", "klinik-medika-utama"]);
    assert_eq!(tickets[1]["post_ids"], serde_json::json!(["replay:2"]));
    // Posts without a time follow the one before, a minute apart.
    assert_eq!(tickets[0]["first_seen"], "1970-01-01T00:00:00Z");
    assert_eq!(tickets[1]["first_seen"], "1970-01-01T00:02:00Z");
    // The same input on the kept state: nothing new.
    std::fs::remove_file(&out).unwrap();
    assert_ok(&replay(&args, &input));
    assert!(std::fs::read_to_string(&out).unwrap_or_default().is_empty());
}

#[test]
fn a_missing_input_is_a_usage_error() {
    let out = replay(&[], std::path::Path::new("/nonexistent/posts.jsonl"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/posts.jsonl"));
}
