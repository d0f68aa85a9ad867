//! A Mailman 3 list archive from a real HTTP server on 127.0.0.1 serving
//! recorded HyperKitty API answers: the first poll reads the newest page;
//! later the archive has grown by a page and a half, the listing is
//! followed to where reading stopped, a detail that fails once (503) is
//! read on the next try, and the forwarded-complaint chain is one incident
//! with every message once.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use common::*;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Archive {
    port: u16,
    grown: bool,
    asked: Vec<String>,
    failed_detail: bool,
}

const F3: &str = "QLZEEHAFCKYE5VG4BIT3V4TASF2VLEIX";

async fn handle(State(archive): State<Arc<Mutex<Archive>>>, uri: Uri) -> (StatusCode, String) {
    let mut a = archive.lock().unwrap();
    a.asked.push(uri.to_string());
    let file = |name: &str| {
        std::fs::read_to_string(repo().join("fixtures/hyperkitty").join(name))
            .unwrap()
            .replace("http://HOST", &format!("http://127.0.0.1:{}", a.port))
    };
    let list = "/hyperkitty/api/list/warga-rt05%40lists.example/emails/";
    let path = uri.path();
    if path == list || path == "/hyperkitty/api/list/warga-rt05@lists.example/emails/" {
        return match (a.grown, uri.query()) {
            (false, _) => (StatusCode::OK, file("emails-early.json")),
            (true, None) => (StatusCode::OK, file("emails-page-1.json")),
            (true, Some(_)) => (StatusCode::OK, file("emails-page-2.json")),
        };
    }
    if let Some(hash) = path
        .strip_prefix("/hyperkitty/api/list/warga-rt05@lists.example/email/")
        .map(|h| h.trim_end_matches('/'))
    {
        if hash == F3 && !a.failed_detail {
            a.failed_detail = true;
            return (StatusCode::SERVICE_UNAVAILABLE, "busy".into());
        }
        return (StatusCode::OK, file(&format!("email-{hash}.json")));
    }
    (StatusCode::NOT_FOUND, String::new())
}

#[test]
fn a_list_archive_is_read_page_by_page_and_the_chain_is_one_incident() {
    let archive = Arc::new(Mutex::new(Archive::default()));
    let port = serve(Router::new().fallback(handle).with_state(archive.clone()));
    archive.lock().unwrap().port = port;
    let source = format!(
        "[[sources]]\ntype = \"hyperkitty\"\nname = \"lists\"\nurl = \"http://127.0.0.1:{port}\"\n\
         lists = [\"warga-rt05@lists.example\"]\nmembers = 500\nonce = true\n"
    );
    let w = Workdir::with_sources(&source, "");
    let run = || w.run_with_env(&[("RUST_LOG", "info")]);
    let out = run();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("received=3"));

    archive.lock().unwrap().grown = true;
    let out = run();
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("received=3"), "the three new ones, once: {stderr}");
    let tickets = w.tickets();
    assert_one_chain_incident(
        &tickets,
        [
            "lists:ZCV5F6OJOQLBKFATLF3UI7OHFBJ4XTK5",
            "lists:TP3JLD67OZC7OXUIFMEHGXK44HPIF3RC",
            "lists:J4R2YW32MQQ6SRGRP4ZRPACSLB3FKLDD",
            "lists:QLZEEHAFCKYE5VG4BIT3V4TASF2VLEIX",
        ],
    );
    let last = tickets.last().unwrap();
    assert_eq!(last["posts"][0]["author"], "rudi.hartono@mail.example");
    let asked = archive.lock().unwrap().asked.clone();
    let details = |hash: &str| asked.iter().filter(|u| u.contains(hash)).count();
    assert_eq!(details(F3), 2, "the failed detail asked again: {asked:?}");
    assert_eq!(details("ZCV5F6OJOQLBKFATLF3UI7OHFBJ4XTK5"), 1, "{asked:?}");
    assert!(
        asked.iter().any(|u| u.ends_with("emails/?limit=3&offset=3")),
        "{asked:?}"
    );
}
