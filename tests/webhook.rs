//! The webhook receiver, pushed to over real HTTP on 127.0.0.1: a generic
//! push behind a bearer token and a signed Meta page webhook. A 2xx means
//! the ticket is already in the state file; bad tokens, bad signatures,
//! malformed posts and oversized bodies get their own answers; a repeated
//! push changes nothing; SIGTERM stops the receiver cleanly.

mod common;

use common::*;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn start(w: &Workdir) -> Child {
    w.spawn_with_env(&[
        ("HOOK_TOKEN", "t0ken"),
        ("META_SECRET", "app-s3cret"),
        ("META_VERIFY", "verify-me"),
    ])
}

fn sign(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"app-s3cret").unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

async fn push(http: &reqwest::Client, base: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = http.post(format!("{base}/hooks/posts")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn meta_push(http: &reqwest::Client, base: &str, body: &str, signature: Option<String>) -> reqwest::Response {
    let mut request = http
        .post(format!("{base}/hooks/meta"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    request.send().await.unwrap()
}

fn first_posts(w: &Workdir) -> Vec<String> {
    w.tickets()
        .iter()
        .map(|t| t["post_ids"][0].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_are_durable_before_they_are_answered() {
    let port = free_port();
    let sources = format!(
        "[[sources]]\ntype = \"webhook\"\nname = \"hooks\"\nlisten = \"127.0.0.1:{port}\"\ntoken_env = \"HOOK_TOKEN\"\n\
         max_body_bytes = 65536\n\n\
         [sources.meta]\napp_secret_env = \"META_SECRET\"\nverify_token_env = \"META_VERIFY\"\n"
    );
    let w = Workdir::with_sources(&sources, "");
    let mut child = Running(start(&w));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // Wait for the receiver to listen.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match http.get(format!("{base}/hooks/meta")).send().await {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("receiver never listened: {e}"),
        }
    }

    let complaint = json!({
        "id": "wb-1",
        "text": "RS Harapan Sehat salah diagnosa anak saya, dokter datang terlambat tiga jam dan rekam medis tidak diberikan. Pelayanan buruk sekali, saya kecewa dan akan lapor ke Kemenkes.",
        "author": "@ibu_rina",
        "created_at": "2026-11-30T08:00:00Z"
    });
    let batch = json!([complaint, {"text": "no id here"}]);

    // Without the token, or with a wrong one: 401, nothing taken.
    let r = push(&http, &base, None, &batch).await;
    assert_eq!(r.status(), 401);
    let r = push(&http, &base, Some("wrong"), &batch).await;
    assert_eq!(r.status(), 401);
    // Not JSON: 400 saying so.
    let r = http
        .post(format!("{base}/hooks/posts"))
        .bearer_auth("t0ken")
        .body("id=1&text=hi")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("not JSON"));
    assert!(first_posts(&w).is_empty());

    // The good post is taken and durable at the answer; the bad one named.
    let r = push(&http, &base, Some("t0ken"), &batch).await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["accepted"], 1, "{body}");
    assert_eq!(body["rejected"][0]["at"], "[1]", "{body}");
    assert!(body["rejected"][0]["error"].as_str().unwrap().contains("id"), "{body}");
    let tickets = w.tickets();
    assert_eq!(first_posts(&w), ["hooks:wb-1"], "{tickets:?}");

    // The pusher retries the same post: still one ticket.
    let r = push(&http, &base, Some("t0ken"), &complaint).await;
    assert_eq!(r.status(), 202);
    assert_eq!(w.tickets(), tickets);

    // Too large: 413.
    let big = json!({"id": "big", "text": "x".repeat(70_000)});
    let r = push(&http, &base, Some("t0ken"), &big).await;
    assert_eq!(r.status(), 413);

    // Meta's subscription handshake.
    let handshake = |token: &'static str| {
        let url = format!("{base}/hooks/meta?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444");
        let http = http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(handshake("verify-me").await, (200, "1158201444".to_owned()));
    assert_eq!(handshake("nope").await.0, 403);

    // A page comment, as Meta posts it.
    let meta = json!({
        "object": "page",
        "entry": [{
            "id": "104512",
            "time": 1764489600,
            "changes": [
                {"field": "feed", "value": {"item": "reaction", "verb": "add", "post_id": "104512_9", "reaction_type": "like"}},
                {"field": "feed", "value": {
                    "item": "comment", "verb": "add", "post_id": "104512_9", "comment_id": "104512_9_31",
                    "parent_id": "104512_9", "created_time": 1764489600,
                    "from": {"id": "6001", "name": "Dewi Lestari"},
                    "message": "Rumah Sakit Harapan Sehat menolak memberikan rekam medis ibu saya. Sudah dua minggu, pelayanan sangat buruk dan kami kecewa. Saya akan lapor ke Ombudsman."
                }}
            ]
        }]
    })
    .to_string();
    let r = meta_push(&http, &base, &meta, None).await;
    assert_eq!(r.status(), 401, "unsigned");
    let r = meta_push(&http, &base, &meta, Some(sign(&format!("{meta} ")))).await;
    assert_eq!(r.status(), 403, "signed over another body");
    let r = meta_push(&http, &base, &meta, Some(sign(&meta))).await;
    assert_eq!(r.status(), 202);
    let tickets = w.tickets();
    let comment = tickets
        .iter()
        .find(|t| t["post_ids"][0] == "hooks:104512_9_31")
        .unwrap_or_else(|| panic!("no ticket for the comment: {tickets:?}"));
    assert_eq!(comment["provider"], "rs-harapan-sehat");
    assert_eq!(comment["channels"][0], "facebook", "{comment}");
    assert_eq!(comment["posts"][0]["url"], "https://www.facebook.com/104512_9_31");

    signal(&child.0, "TERM");
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "graceful stop exits 0, got {exit:?}");
}

/// Post ids the state file holds (every post about a provider is fingerprinted).
fn durable_posts(w: &Workdir) -> std::collections::BTreeSet<String> {
    let db = rusqlite::Connection::open(w.dir.path().join("state.db")).unwrap();
    let mut q = db.prepare("SELECT post_id FROM fingerprints").unwrap();
    q.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_receipt_and_reply_loses_nothing_acknowledged() {
    let port = free_port();
    let sources = format!(
        "[[sources]]\ntype = \"webhook\"\nname = \"hooks\"\nlisten = \"127.0.0.1:{port}\"\ntoken_env = \"HOOK_TOKEN\"\n"
    );
    let w = Workdir::with_sources(&sources, "");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let wait_listening = || async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/hooks/posts")).send().await.is_err() {
            assert!(Instant::now() < deadline, "receiver never listened");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let post = |i: usize| {
        json!({
            "id": format!("crash-{i}"),
            "text": format!("Antrean di RS Harapan Sehat hari ini nomor {i}, sudah menunggu {} jam.", i % 7 + 1),
            "author": format!("@pasien_{i}"),
            "created_at": "2026-11-30T08:00:00Z"
        })
    };
    let mut child = Running(start(&w));
    wait_listening().await;
    // Four pushers at once; earshot is killed (no chance to tidy up) once
    // some pushes are answered, others in flight.
    let acked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut pushers = Vec::new();
    for worker in 0..4 {
        let (http, base, acked) = (http.clone(), base.clone(), acked.clone());
        let posts: Vec<Value> = (0..100).filter(|i| i % 4 == worker).map(post).collect();
        pushers.push(tokio::spawn(async move {
            for p in posts {
                let sent = http
                    .post(format!("{base}/hooks/posts"))
                    .bearer_auth("t0ken")
                    .json(&p)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 202 => acked.lock().unwrap().push(p["id"].as_str().unwrap().to_owned()),
                    Ok(_) => {}
                    Err(_) => return, // earshot is gone
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 30 {
        assert!(Instant::now() < deadline, "no answers");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    signal(&child.0, "KILL");
    let _ = child.0.wait();
    for p in pushers {
        let _ = tokio::time::timeout(Duration::from_secs(30), p).await;
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    let durable = durable_posts(&w);
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| !durable.contains(&format!("hooks:{id}")))
        .collect();
    assert!(lost.is_empty(), "acknowledged but not durable: {lost:?}");
    assert!(acked.len() < 100, "the crash came mid-stream");

    // The pushers retry what was not acknowledged: afterwards every post is there once.
    let mut child = Running(start(&w));
    wait_listening().await;
    for i in 0..100 {
        assert_eq!(push(&http, &base, Some("t0ken"), &post(i)).await.status(), 202);
    }
    signal(&child.0, "TERM");
    assert!(child.0.wait().unwrap().success());
    let durable = durable_posts(&w);
    assert_eq!(durable.iter().filter(|id| id.starts_with("hooks:crash-")).count(), 100);
}

/// A feedback-form system pushing its own JSON: the `mapping` reads each
/// post field at a JSON pointer of a submission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_in_the_pushers_own_json_are_mapped() {
    let port = free_port();
    let sources = format!(
        "[[sources]]\ntype = \"webhook\"\nname = \"forms\"\nlisten = \"127.0.0.1:{port}\"\npath = \"/hooks/forms\"\n\n\
         [sources.mapping]\nitems = \"/data/submissions\"\nid = \"/ref\"\ntext = \"/form/message\"\n\
         author = \"/form/email\"\nauthor_name = \"/form/name\"\ncreated_at = \"/submitted\"\nchannel = \"/form/kind\"\n"
    );
    let w = Workdir::with_sources(&sources, "");
    let mut child = Running(start(&w));
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/hooks/forms");
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(&url).send().await.is_err() {
        assert!(Instant::now() < deadline, "receiver never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = json!({
        "event": "submissions.created",
        "data": {"submissions": [
            {"ref": 1001, "submitted": "2026-11-30T09:00:00Z",
             "form": {"kind": "feedback-form", "name": "Budi Santoso", "email": "budi@mail.example",
                      "message": "Ibu saya salah diberi obat di RS Harapan Sehat, perawat tidak mengecek gelang pasien. Kami sangat kecewa dan akan melapor ke dinas kesehatan."}},
            {"ref": 1002, "submitted": "2026-11-30T09:05:00Z", "form": {"kind": "feedback-form", "name": "Tanpa Pesan"}}
        ]}
    });
    let r = http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert!(
        answer["rejected"][0]["at"].as_str().unwrap().contains("1002"),
        "{answer}"
    );
    let tickets = w.tickets();
    let t = tickets
        .iter()
        .find(|t| t["post_ids"][0] == "forms:1001")
        .expect("a ticket");
    assert_eq!(t["posts"][0]["author"], "budi@mail.example");
    assert_eq!(t["channels"][0], "feedback-form");
    // A body without the items where the mapping says: 400, saying where it looked.
    let r = http.post(&url).json(&json!({"data": {}})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("/data/submissions"));
    signal(&child.0, "TERM");
    assert!(child.0.wait().unwrap().success());
}
