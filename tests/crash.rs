//! Kill -9 at several moments, restart, and the tickets are those of an
//! uninterrupted run: nothing missing, nothing twice, in the state file and
//! in the JSON lines sink.

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

/// The demo stream copied `n` times with distinct ids, each copy three
/// weeks after the one before (past the near-duplicate window, so each
/// copy's complaints are incidents of their own): long enough to be killed
/// in the middle of.
fn long_stream(dir: &Path, n: usize) -> std::path::PathBuf {
    let demo = std::fs::read_to_string(repo().join("fixtures/demo/stream.jsonl")).unwrap();
    let mut out = String::new();
    for copy in 0..n {
        for line in demo.lines() {
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(mut v) => {
                    v["id"] = format!("{}-{copy}", v["id"].as_str().unwrap()).into();
                    if let Some(at) = v["created_at"].as_str() {
                        let at = chrono::DateTime::parse_from_rfc3339(at).unwrap()
                            + chrono::Duration::days(21 * copy as i64);
                        v["created_at"] = at.to_rfc3339().into();
                    }
                    out.push_str(&v.to_string());
                }
                Err(_) => out.push_str(line),
            }
            out.push('\n');
        }
    }
    let path = dir.join("long.jsonl");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn sigkill_at_any_moment_loses_and_repeats_nothing() {
    let input_dir = tempfile::tempdir().unwrap();
    let input = long_stream(input_dir.path(), 25);
    // Paced so that a whole run lasts about 3.5 s and the kills, 1.6 s in
    // all, land mid-stream.
    let rate = 500.0;

    let clean = Workdir::new(&input, 0.0, "");
    assert_ok(&clean.run());
    let expected = keys(&clean.tickets());
    assert!(expected.len() > 100, "{}", expected.len());

    let crashed = Workdir::new(&input, rate, "[pipeline]\nbatch_size = 16\n");
    for delay_ms in [120, 350, 60, 500, 250, 300] {
        let mut child = crashed.spawn();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let partial = crashed.tickets().len();
    assert!(
        partial > 0 && partial < expected.len(),
        "kills should land mid-stream: {partial} of {}",
        expected.len()
    );
    assert_ok(&crashed.run());

    let db = crashed.tickets();
    assert_eq!(keys(&db), expected, "state file after crashes");
    let file = crashed.jsonl("tickets.jsonl");
    assert_eq!(file.len(), expected.len(), "no line twice in the JSON lines sink");
    assert_eq!(keys(&file), expected, "JSON lines sink after crashes");
}

#[test]
fn sigterm_stops_gracefully_and_resumes_where_it_stopped() {
    let input_dir = tempfile::tempdir().unwrap();
    let input = long_stream(input_dir.path(), 10);
    let clean = Workdir::new(&input, 0.0, "");
    assert_ok(&clean.run());
    let expected = keys(&clean.tickets());

    let w = Workdir::new(&input, 600.0, "");
    let mut child = w.spawn();
    std::thread::sleep(Duration::from_millis(400));
    signal(&child, "TERM");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful stop exits 0, got {exit:?}");
    // Everything committed was delivered before exit.
    let stopped = keys(&w.tickets());
    assert!(stopped.len() < expected.len(), "stopped mid-stream");
    assert_eq!(keys(&w.jsonl("tickets.jsonl")), stopped);

    assert_ok(&w.run());
    assert_eq!(keys(&w.tickets()), expected);
    assert_eq!(keys(&w.jsonl("tickets.jsonl")), expected);
}
