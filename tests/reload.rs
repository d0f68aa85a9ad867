//! Rule packs edited while `earshot run` runs: a good pack takes effect for
//! the posts after it, a broken one is refused and the running rules stay,
//! and SIGHUP reloads too; no post is dropped.

mod common;

use common::*;
use std::time::Duration;

const PARKING: &str = r#"
[pack]
id = "local"

[[rules]]
id = "parking"
status = "stable"
categories = ["parking"]
weight = 90
severity = "critical"

[rules.match.parking]
keywords = ["parkir"]

[[rules.tests]]
text = "parkir mahal"
fires = true
"#;

#[test]
fn packs_reload_on_change_and_sighup_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for pack in ["healthcare.toml", "service.toml"] {
        std::fs::copy(repo().join("rules").join(pack), rules.join(pack)).unwrap();
    }
    let input = dir.path().join("posts.jsonl");
    // Forty different posts by forty authors (near-duplicates would join
    // one incident, and one author's repeats would be spam).
    const WORDS: &[&str] = &[
        "pagi", "siang", "sore", "malam", "motor", "mobil", "hujan", "panas", "penuh", "sempit", "mahal", "antre",
        "tukang", "karcis", "gerbang", "lantai", "basement", "satpam", "kunci", "helm",
    ];
    let posts: String = (0..40)
        .map(|i| {
            format!(
                "{{\"id\":\"p{i:02}\",\"author\":\"@a{i}\",\"text\":\"Parkir di RS Harapan Sehat {} {} blok{i} lantai{i}\",\"created_at\":\"2026-03-02T08:00:00Z\"}}\n",
                WORDS[i % WORDS.len()],
                WORDS[(i / 2 + 3) % WORDS.len()],
            )
        })
        .collect();
    std::fs::write(&input, posts).unwrap();
    let w = Workdir::new(&input, 10.0, &format!("[scoring]\nrules = \"{}\"\n", rules.display()));
    let child = earshot()
        .env("RUST_LOG", "info")
        .args(["run", "--config"])
        .arg(w.config())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    std::fs::write(rules.join("local.toml"), PARKING).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    std::fs::write(
        rules.join("broken.toml"),
        "[pack]\nid = \"b\"\n[[rules]]\nid = \"x\"\nstatus = \"stable\"\n[rules.match.r]\nregex = '('\n",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    std::fs::remove_file(rules.join("broken.toml")).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, "HUP");
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("rule packs reloaded"), "{log}");
    assert!(log.contains("rule packs refused"), "{log}");
    assert!(
        log.contains("broken.toml:7:9: error: rule `x`: regex `r` is invalid"),
        "{log}"
    );
    assert!(
        log.contains("trigger=\"SIGHUP\"") || log.contains("trigger=SIGHUP"),
        "{log}"
    );

    let tickets = w.tickets();
    let ticketed: Vec<String> = tickets
        .iter()
        .map(|t| t["post_ids"][0].as_str().unwrap().to_owned())
        .collect();
    // Before the pack arrived nothing was a complaint; after it, every post is.
    assert!(!ticketed.contains(&"demo:p00".to_owned()), "{ticketed:?}");
    assert!(ticketed.contains(&"demo:p39".to_owned()), "{ticketed:?}");
    let first = ticketed.iter().min().unwrap().clone();
    let expected: Vec<String> = (0..40)
        .map(|i| format!("demo:p{i:02}"))
        .filter(|id| *id >= first)
        .collect();
    let mut sorted = ticketed.clone();
    sorted.sort();
    assert_eq!(
        sorted, expected,
        "every post after the reload was scored with the new rule, none dropped"
    );
    assert!(tickets.iter().all(|t| t["severity"] == "critical"));
}
