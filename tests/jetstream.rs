//! Bluesky's Jetstream from a real WebSocket server on 127.0.0.1 replaying
//! recorded events by cursor, as Jetstream does: posts with a keyword are
//! kept (a complaint, a reply, a quote, another complaint), the rest and the
//! identity, account and delete events are not; a cut-off frame and a
//! record without text are skipped; the server drops the connection and
//! earshot resubscribes from its cursor less the rewind, and nothing is
//! counted twice; a restart resumes from the stored cursor.

// The handshake callback's error type is tungstenite's own, large response.
#![allow(clippy::result_large_err)]

mod common;

use common::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COMPLAINT: &str = "js:at://did:plc:pasien4ibu7xq2/app.bsky.feed.post/3lbxcomp1aa2";
const REPLY: &str = "js:at://did:plc:tetangga2rt/app.bsky.feed.post/3lbxrep01aa2";
const QUOTE: &str = "js:at://did:plc:jurnalis8kota/app.bsky.feed.post/3lbxquo1aa2";
const IGD: &str = "js:at://did:plc:ayah7igd/app.bsky.feed.post/3lbxigd1aa2";
const T0: i64 = 1764489600000000;

/// Recorded events, each with its `time_us` (read from the text: one is cut off).
fn events() -> Vec<(i64, String)> {
    let text = std::fs::read_to_string(repo().join("fixtures/bluesky/jetstream.jsonl")).unwrap();
    text.lines()
        .map(|l| {
            let at = l.find("\"time_us\":").unwrap() + "\"time_us\":".len();
            let digits: String = l[at..].trim_start().chars().take_while(char::is_ascii_digit).collect();
            (digits.parse().unwrap(), l.to_owned())
        })
        .collect()
}

/// A Jetstream on 127.0.0.1: every subscription's request target is kept;
/// the first connection is dropped after the event at `T0 + 8 s`.
fn jetstream(subscriptions: Arc<Mutex<Vec<String>>>) -> u16 {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    listen(move |listener| async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let subscriptions = subscriptions.clone();
            tokio::spawn(async move {
                let target = Arc::new(Mutex::new(String::new()));
                let seen = target.clone();
                let callback = move |req: &tokio_tungstenite::tungstenite::handshake::server::Request, resp| {
                    *seen.lock().unwrap() = req.uri().to_string();
                    Ok(resp)
                };
                let mut ws = tokio_tungstenite::accept_hdr_async(tcp, callback).await.unwrap();
                let target = target.lock().unwrap().clone();
                let first = {
                    let mut s = subscriptions.lock().unwrap();
                    s.push(target.clone());
                    s.len() == 1
                };
                let cursor: i64 = target
                    .split("cursor=")
                    .nth(1)
                    .map_or(0, |c| c.split('&').next().unwrap().parse().unwrap());
                for (time_us, line) in events() {
                    if time_us < cursor {
                        continue;
                    }
                    ws.send(Message::text(line)).await.unwrap();
                    if first && time_us == T0 + 8_000_000 {
                        return; // dropped without a close frame
                    }
                }
                // Then quiet, as the firehose between matching posts.
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    })
}

/// An AppView on 127.0.0.1 that knows one author; the DIDs asked for are kept.
fn appview(asked: Arc<Mutex<Vec<String>>>) -> u16 {
    use axum::extract::{Query, State};
    use axum::http::StatusCode;
    async fn profile(
        State(asked): State<Arc<Mutex<Vec<String>>>>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> (StatusCode, String) {
        let did = q.get("actor").cloned().unwrap_or_default();
        asked.lock().unwrap().push(did.clone());
        if did != "did:plc:pasien4ibu7xq2" {
            return (
                StatusCode::BAD_REQUEST,
                r#"{"error":"InvalidRequest","message":"Profile not found"}"#.into(),
            );
        }
        let body = serde_json::json!({
            "did": did, "handle": "ibu.ratna.bsky.social", "displayName": "Ratna",
            "followersCount": 2300, "followsCount": 180, "postsCount": 420,
            "indexedAt": "2026-01-01T00:00:00.000Z", "createdAt": "2024-02-01T00:00:00.000Z"
        });
        (StatusCode::OK, body.to_string())
    }
    serve(
        axum::Router::new()
            .route("/xrpc/app.bsky.actor.getProfile", axum::routing::get(profile))
            .with_state(asked),
    )
}

/// Post ids of every incident (one list per incident).
fn incidents(w: &Workdir) -> Vec<Vec<String>> {
    let out = w.command(&["incidents", "list", "--status", "all", "--json"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|i| {
            i["post_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn keyword_posts_from_the_firehose_survive_a_dropped_connection_and_a_restart() {
    let subscriptions = Arc::new(Mutex::new(Vec::new()));
    let port = jetstream(subscriptions.clone());
    let lookups = Arc::new(Mutex::new(Vec::new()));
    let appview = appview(lookups.clone());
    let source = format!(
        "[[sources]]\ntype = \"jetstream\"\nname = \"js\"\nurl = \"ws://127.0.0.1:{port}/subscribe\"\n\
         keywords = [\"Harapan Sehat\", \"#rsharapansehat\"]\nrewind_secs = 5\nappview = \"http://127.0.0.1:{appview}\"\n"
    );
    let w = Workdir::with_sources(&source, "");
    let mut running = Running(w.spawn());
    wait_until("the complaint thread and the second complaint", || {
        let all: Vec<String> = incidents(&w).concat();
        [COMPLAINT, REPLY, QUOTE, IGD]
            .iter()
            .all(|p| all.iter().any(|a| a == p))
    });
    signal(&running.0, "TERM");
    assert!(running.0.wait().unwrap().success());

    let found = incidents(&w);
    let thread = found.iter().find(|i| i.iter().any(|p| p == COMPLAINT)).unwrap();
    assert_eq!(thread, &[COMPLAINT, REPLY, QUOTE], "{found:?}");
    let all = found.concat();
    assert_eq!(all.len(), 4, "each post once, nothing else kept: {found:?}");
    // The complaint's author is named by the AppView, once for all her posts.
    let tickets = w.tickets();
    let complaint = tickets
        .iter()
        .find(|t| t["post_ids"][0] == COMPLAINT)
        .expect("a ticket");
    assert_eq!(complaint["posts"][0]["author"], "@ibu.ratna.bsky.social");
    assert_eq!(complaint["authors"][0], "@ibu.ratna.bsky.social");
    let asked = lookups.lock().unwrap().clone();
    assert_eq!(
        asked.iter().filter(|d| *d == "did:plc:pasien4ibu7xq2").count(),
        1,
        "{asked:?}"
    );
    // A failed lookup is not repeated for the rewind's copy of the reply.
    assert_eq!(
        asked.iter().filter(|d| *d == "did:plc:tetangga2rt").count(),
        1,
        "{asked:?}"
    );
    // An author the AppView does not know stays a DID.
    assert!(
        tickets
            .iter()
            .flat_map(|t| t["authors"].as_array().unwrap().clone())
            .any(|a| a == "did:plc:ayah7igd")
    );
    {
        let s = subscriptions.lock().unwrap();
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0], "/subscribe?wantedCollections=app.bsky.feed.post");
        // The last event handed on was the quote at T0 + 7 s; rewound 5 s.
        assert_eq!(
            s[1],
            format!(
                "/subscribe?wantedCollections=app.bsky.feed.post&cursor={}",
                T0 + 2_000_000
            )
        );
    }

    // A restart resumes from the stored cursor (the last complaint, T0 + 10 s), rewound.
    let mut running = Running(w.spawn());
    wait_until("a third subscription", || subscriptions.lock().unwrap().len() == 3);
    signal(&running.0, "TERM");
    assert!(running.0.wait().unwrap().success());
    assert_eq!(
        subscriptions.lock().unwrap()[2],
        format!(
            "/subscribe?wantedCollections=app.bsky.feed.post&cursor={}",
            T0 + 5_000_000
        )
    );
    assert_eq!(incidents(&w).concat().len(), 4);
}
