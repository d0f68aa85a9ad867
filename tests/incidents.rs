//! The incident lifecycle with the real binary: a patient-relations officer
//! acknowledges and resolves the forwarded complaint; resolving emits a
//! ticket version with status `resolved`; the complaint spreading again
//! reopens it and alerts again; every change is in the audit trail.

mod common;

use common::*;
use serde_json::Value;

fn incidents(w: &Workdir, args: &[&str]) -> std::process::Output {
    w.command(&[&["incidents"], args].concat())
}

fn show(w: &Workdir, id: &str) -> Value {
    let out = incidents(w, &["show", id, "--json"]);
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn actions(shown: &Value) -> Vec<String> {
    shown["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} by {}", a["action"].as_str().unwrap(), a["by"].as_str().unwrap()))
        .collect()
}

#[test]
fn acknowledge_resolve_and_reopen() {
    let input_dir = tempfile::tempdir().unwrap();
    let input = input_dir.path().join("posts.jsonl");
    let chain = std::fs::read_to_string(repo().join("fixtures/chain/forwarded-complaint.jsonl")).unwrap();
    std::fs::write(&input, &chain).unwrap();
    let w = Workdir::new(&input, 0.0, "");
    assert_ok(&w.run());

    let listed = incidents(&w, &["list", "--json"]);
    assert_ok(&listed);
    let active = lines(&String::from_utf8_lossy(&listed.stdout));
    assert_eq!(active.len(), 1, "{active:?}");
    let id = active[0]["id"].as_str().unwrap().to_owned();
    let table = incidents(&w, &["list"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains(&id));

    let ack = incidents(&w, &["ack", &id, "--by", "dewi", "--comment", "called the family"]);
    assert_ok(&ack);
    let shown = show(&w, &id);
    assert_eq!(shown["incident"]["status"], "acknowledged");
    let trail = actions(&shown);
    assert_eq!(trail.first().unwrap(), "opened by earshot");
    assert!(trail.contains(&"joined by earshot".to_owned()), "{trail:?}");
    assert_eq!(trail.last().unwrap(), "acknowledged by dewi");
    assert_eq!(
        shown["audit"].as_array().unwrap().last().unwrap()["comment"],
        "called the family"
    );

    let versions_before = w.tickets().len();
    assert_ok(&incidents(
        &w,
        &[
            "resolve",
            &id,
            "--by",
            "dewi",
            "--comment",
            "records sent, bill corrected",
        ],
    ));
    let tickets = w.tickets();
    assert_eq!(tickets.len(), versions_before + 1);
    let resolved = tickets.last().unwrap();
    assert_eq!(
        (resolved["incident_id"].as_str(), resolved["status"].as_str()),
        (Some(id.as_str()), Some("resolved"))
    );
    // Queued in the outbox: the next run delivers it to the ticket sink.
    assert_ok(&w.run());
    let delivered = w.jsonl("tickets.jsonl");
    assert_eq!(delivered.last().unwrap()["status"], "resolved");
    let active = lines(&String::from_utf8_lossy(&incidents(&w, &["list", "--json"]).stdout));
    assert!(active.is_empty(), "a resolved incident is not active");
    // Acting on it again changes nothing.
    assert!(String::from_utf8_lossy(&incidents(&w, &["ack", &id, "--by", "x"]).stdout).contains("resolved already"));

    // The complaint spreads again: it reopens, with a new version and an alert.
    let alerts_before = w.jsonl("alerts.jsonl").len();
    let again = "{\"id\":\"toot-900\",\"channel\":\"mastodon\",\"author\":\"@warga_peduli\",\"followers\":5000,\"created_at\":\"2026-05-08T09:00:00Z\",\"text\":\"Masih terjadi! 'Sudah dua minggu saya meminta salinan rekam medis dan hasil laboratorium ayah saya, nomor registrasi 0047213, tetapi petugas selalu bilang belum bisa. Tagihan kami juga dihitung dua kali, Rp 1.250.000 untuk pemeriksaan yang sama.' Klinik Medika Utama, tolong jawab.\"}\n";
    std::fs::write(&input, format!("{chain}{again}")).unwrap();
    assert_ok(&w.run());
    let shown = show(&w, &id);
    assert_eq!(shown["incident"]["status"], "open");
    assert_eq!(
        actions(&shown).iter().filter(|a| *a == "reopened by earshot").count(),
        1
    );
    let last = w.tickets().last().unwrap().clone();
    assert_eq!(
        (last["incident_id"].as_str(), last["status"].as_str()),
        (Some(id.as_str()), Some("updated"))
    );
    assert!(
        last["post_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "demo:toot-900")
    );
    assert_eq!(
        w.jsonl("alerts.jsonl").len(),
        alerts_before + 1,
        "reopening alerts again"
    );
}

#[test]
fn unknown_incidents_and_anonymous_acts_are_usage_errors() {
    let w = Workdir::new(&repo().join("fixtures/chain/forwarded-complaint.jsonl"), 0.0, "");
    let before = incidents(&w, &["list"]);
    assert_eq!(before.status.code(), Some(2), "no state yet");
    assert_ok(&w.run());
    let unknown = incidents(&w, &["resolve", "inc-0000000000000000", "--by", "dewi"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no incident inc-0000000000000000"));
    let nobody = incidents(&w, &["ack", "inc-0000000000000000", "--by", " "]);
    assert_eq!(nobody.status.code(), Some(2));
}

#[test]
fn the_rate_limit_holds_alerts_back_without_losing_them() {
    let w = Workdir::new(
        &repo().join("fixtures/chain/forwarded-complaint.jsonl"),
        0.0,
        "[alerts]\nmin_severity = \"high\"\nrate_limit_per_hour = 1\n",
    );
    assert_ok(&w.run());
    // Two alerts (high, then critical); the second waits an hour.
    let sent = w.jsonl("alerts.jsonl");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["severity"], "high");
    assert_eq!(sent[0]["team"], "patient-relations");
    let id = sent[0]["incident_id"].as_str().unwrap().to_owned();
    let shown = show(&w, &id);
    let held: Vec<&Value> = shown["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "alert held")
        .collect();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["severity"], "critical");
    // Still in the outbox, not delivered, not dead.
    let db = rusqlite::Connection::open(w.dir.path().join("state.db")).unwrap();
    let waiting: i64 = db
        .query_row(
            "SELECT count(*) FROM outbox WHERE kind = 'alert' AND delivered_at IS NULL AND dead_at IS NULL AND not_before IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(waiting, 1);
}

#[test]
fn alerts_go_to_their_teams_sinks() {
    let dir = tempfile::tempdir().unwrap();
    let quality = dir.path().join("quality.jsonl");
    let others = dir.path().join("others.jsonl");
    let config = format!(
        r#"
[[alerts.routes]]
team = "medical-quality"
categories = ["misdiagnosis", "negligence", "patient_harm"]

[[sinks]]
type = "jsonl"
name = "quality"
path = "{}"
records = "alerts"
teams = ["medical-quality"]

[[sinks]]
type = "jsonl"
name = "others"
path = "{}"
records = "alerts"
teams = ["patient-relations"]
"#,
        quality.display(),
        others.display()
    );
    let w = Workdir::new(&repo().join("fixtures/demo/stream.jsonl"), 0.0, &config);
    assert_ok(&w.run());
    let all = w.jsonl("alerts.jsonl");
    let quality = lines(&std::fs::read_to_string(quality).unwrap());
    let others = lines(&std::fs::read_to_string(others).unwrap());
    assert!(!quality.is_empty() && !others.is_empty());
    assert!(quality.iter().all(|a| a["team"] == "medical-quality"));
    assert!(others.iter().all(|a| a["team"] == "patient-relations"));
    assert_eq!(
        quality.len() + others.len(),
        all.len(),
        "each alert to its team's sink, and to the unfiltered one"
    );
}
