//! `earshot score` through the real binary, from another directory (the
//! built-in packs and lexicons must be found), over the labelled hospital
//! posts in `fixtures/eval`: the stable contract and a floor on accuracy.

mod common;

use common::*;
use std::io::Write;
use std::process::Stdio;

#[test]
fn labelled_hospital_posts_keep_their_accuracy() {
    let gold = lines(&std::fs::read_to_string(repo().join("fixtures/eval/hospital-posts.jsonl")).unwrap());
    let input: String = gold
        .iter()
        .map(|g| serde_json::json!({"id": g["id"], "text": g["text"]}).to_string() + "\n")
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut child = earshot()
        .current_dir(dir.path())
        .arg("score")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    let scored = lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(scored.len(), gold.len());
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for (g, s) in gold.iter().zip(&scored) {
        assert_eq!(s["id"], g["id"], "output in input order");
        for field in ["lang", "provider", "sentiment", "risk", "severity", "categories"] {
            assert!(s.get(field).is_some(), "{field} missing: {s}");
        }
        assert_eq!(s["provider"], g["provider"], "{}", g["text"]);
        let high = matches!(s["severity"].as_str(), Some("high" | "critical"));
        match (high, g["high"].as_bool().unwrap()) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fn_ += 1.0,
            _ => {}
        }
    }
    let f1 = 2.0 * tp / (2.0 * tp + fp + fn_);
    assert!(f1 >= 0.85, "high/critical F1 {f1:.3} (tp {tp}, fp {fp}, fn {fn_})");
}
