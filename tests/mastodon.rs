//! Mastodon hashtag timelines from a real HTTP server on 127.0.0.1 serving
//! recorded API pages: through a 500 and an exhausted rate limit, pages are
//! followed by their `Link` headers; the complaint and its boost are one
//! incident; polled again, `min_id` asks only for newer statuses.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use common::mastodon::streaming_instance;
use common::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Instance {
    port: u16,
    requests: Vec<(String, Instant)>,
}

async fn handle(State(instance): State<Arc<Mutex<Instance>>>, uri: Uri, headers: HeaderMap) -> impl IntoResponse {
    let mut m = instance.lock().unwrap();
    let query = uri.query().unwrap_or("").to_owned();
    m.requests.push((query.clone(), Instant::now()));
    let mut out = HeaderMap::new();
    if uri.path() != "/api/v1/timelines/tag/rsharapansehat" {
        return (StatusCode::NOT_FOUND, out, String::new());
    }
    assert_eq!(headers["authorization"], "Bearer t0ken");
    if m.requests.len() == 1 {
        return (StatusCode::INTERNAL_SERVER_ERROR, out, "{\"error\":\"oops\"}".into());
    }
    if query.contains("min_id=110502") {
        // The last request of this window: wait until its reset.
        let reset = chrono::Utc::now() + chrono::Duration::seconds(1);
        out.insert("x-ratelimit-remaining", "0".parse().unwrap());
        out.insert("x-ratelimit-reset", reset.to_rfc3339().parse().unwrap());
    }
    let body = timeline_page(&query, m.port, &mut out);
    (StatusCode::OK, out, body)
}

/// The recorded hashtag timeline as the instance pages it: the page newer
/// than `min_id`, with its `Link` header.
fn timeline_page(query: &str, port: u16, out: &mut HeaderMap) -> String {
    let base = format!("http://127.0.0.1:{port}/api/v1/timelines/tag/rsharapansehat");
    let page = |name: &str| std::fs::read_to_string(repo().join("fixtures/mastodon").join(name)).unwrap();
    let (body, newest) = if query.contains("min_id=110504") {
        ("[]".to_owned(), None)
    } else if query.contains("min_id=110502") {
        (page("tag-page-2.json"), Some("110504"))
    } else {
        (page("tag-page-1.json"), Some("110502"))
    };
    if let Some(newest) = newest {
        let link = format!("<{base}?max_id=1>; rel=\"next\", <{base}?limit=40&min_id={newest}>; rel=\"prev\"");
        out.insert("link", link.parse().unwrap());
    }
    out.insert("content-type", "application/json".parse().unwrap());
    body
}

#[test]
fn hashtag_timelines_are_paged_forward_and_boosts_join_their_original() {
    let instance = Arc::new(Mutex::new(Instance::default()));
    let port = serve(Router::new().fallback(handle).with_state(instance.clone()));
    instance.lock().unwrap().port = port;
    let source = format!(
        "[[sources]]\ntype = \"mastodon\"\nname = \"masto\"\ninstance = \"http://127.0.0.1:{port}\"\nhashtags = [\"#rsharapansehat\"]\ntoken_env = \"EARSHOT_TEST_MASTODON_TOKEN\"\nonce = true\n"
    );
    let w = Workdir::with_sources(&source, "");
    let run = || w.run_with_env(&[("EARSHOT_TEST_MASTODON_TOKEN", "t0ken")]);
    let out = run();
    assert_ok(&out);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("t0ken"));
    let tickets = w.tickets();
    let complaint = tickets
        .iter()
        .find(|t| t["post_ids"][0] == "masto:110501")
        .expect("the complaint is a ticket");
    assert_eq!(complaint["provider"], "rs-harapan-sehat");
    assert_eq!(
        complaint["posts"][0]["url"],
        "https://mastodon.example/@dewi_lestari/110501"
    );
    assert_eq!(complaint["posts"][0]["author"], "@dewi_lestari");
    // The boost joined it (stored incident; the ticket is of its version).
    let incidents = w.command(&["incidents", "list", "--json", "--status", "all"]);
    let incidents = lines(&String::from_utf8_lossy(&incidents.stdout));
    let inc = incidents.iter().find(|i| i["post_ids"][0] == "masto:110501").unwrap();
    assert_eq!(inc["post_ids"], serde_json::json!(["masto:110501", "masto:110503"]));
    assert_eq!(inc["reach"], 840 + 9000);
    {
        let m = instance.lock().unwrap();
        let queries: Vec<&str> = m.requests.iter().map(|(q, _)| q.as_str()).collect();
        assert_eq!(
            queries,
            [
                "limit=40",
                "limit=40",
                "limit=40&min_id=110502",
                "limit=40&min_id=110504"
            ]
        );
        let waited = m.requests[3].1 - m.requests[2].1;
        assert!(
            waited >= Duration::from_millis(800),
            "the rate limit's reset was waited for: {waited:?}"
        );
    }
    // Again: only newer than the newest seen.
    assert_ok(&run());
    assert_eq!(keys(&w.tickets()), keys(&tickets));
    let m = instance.lock().unwrap();
    assert_eq!(m.requests.last().unwrap().0, "limit=40&min_id=110504");
}

#[test]
fn streams_searches_and_mentions_with_deletes_and_edits_on_the_incident() {
    let (port, instance) = streaming_instance();
    let source = format!(
        "[[sources]]\ntype = \"mastodon\"\nname = \"masto\"\ninstance = \"http://127.0.0.1:{port}\"\n\
         hashtags = [\"#rsharapansehat\"]\nsearches = [\"Harapan Sehat\"]\nmentions = true\nstreaming = true\n\
         token_env = \"EARSHOT_TEST_MASTODON_TOKEN\"\n"
    );
    let w = Workdir::with_sources(&source, "");
    let mut running = Running(w.spawn_with_env(&[("EARSHOT_TEST_MASTODON_TOKEN", "t0ken")]));
    let incidents = || {
        let out = w.command(&["incidents", "list", "--json", "--status", "all"]);
        lines(&String::from_utf8_lossy(&out.stdout))
    };
    let trail_of = |post: &str| -> Vec<serde_json::Value> {
        let Some(inc) = incidents()
            .into_iter()
            .find(|i| i["post_ids"].as_array().unwrap().iter().any(|p| p == post))
        else {
            return Vec::new();
        };
        let out = w.command(&["incidents", "show", inc["id"].as_str().unwrap(), "--json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["audit"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let trail = loop {
        let trail = trail_of("masto:110530");
        if trail.iter().any(|a| a["action"] == "post deleted") {
            break trail;
        }
        assert!(
            Instant::now() < deadline,
            "no deletion recorded: {trail:?}\nincidents: {:?}\nrequests: {:?}\nlog:\n{}",
            incidents(),
            instance.lock().unwrap().requests,
            w.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let posts: Vec<String> = incidents()
        .iter()
        .flat_map(|i| i["post_ids"].as_array().unwrap().clone())
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let revision = "masto:110530@2026-05-05T11:00:00Z";
    for id in [
        "masto:110510",
        "masto:110520",
        "masto:110530",
        "masto:110531",
        "masto:110540",
        revision,
    ] {
        assert!(posts.contains(&id.to_owned()), "{id} in {posts:?}");
    }
    assert_eq!(posts.len(), 6, "each post once: {posts:?}");
    // The edit, scored as a revision, joined the complaint and made it worse.
    let thread = incidents()
        .into_iter()
        .find(|i| i["post_ids"][0] == "masto:110530")
        .unwrap();
    assert!(
        thread["post_ids"].as_array().unwrap().iter().any(|p| p == revision),
        "{thread}"
    );
    assert!(
        thread["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "negligence"),
        "{thread}"
    );
    assert_eq!(
        thread["authors"].as_array().unwrap().len(),
        2,
        "the editor counted once: {thread}"
    );
    // The reply joined the complaint; its edit and the reply's deletion are on its trail.
    let edited = trail.iter().find(|a| a["action"] == "post edited").expect("the edit");
    assert!(
        edited["comment"]
            .as_str()
            .unwrap()
            .contains("UPDATE: akhirnya ditangani"),
        "{edited}"
    );
    let deleted = trail.iter().find(|a| a["action"] == "post deleted").unwrap();
    assert!(
        deleted["comment"].as_str().unwrap().starts_with("masto:110531 deleted"),
        "{deleted}"
    );
    signal(&running.0, "TERM");
    assert!(running.0.wait().unwrap().success());

    let m = instance.lock().unwrap();
    assert!(m.requests.iter().all(|(_, auth)| auth == "Bearer t0ken"));
    let asked = |path: &str| -> Vec<String> {
        m.requests
            .iter()
            .map(|(u, _)| u.clone())
            .filter(|u| u.starts_with(path))
            .collect()
    };
    // Caught up before each stream: the second time from what the stream brought.
    assert_eq!(
        asked("/api/v1/timelines/tag/"),
        [
            "/api/v1/timelines/tag/rsharapansehat?limit=40",
            "/api/v1/timelines/tag/rsharapansehat?limit=40&min_id=110531"
        ]
    );
    assert_eq!(
        asked("/api/v1/notifications")[0],
        "/api/v1/notifications?types%5B%5D=mention&limit=40"
    );
    assert!(
        asked("/api/v2/search")[0].ends_with("&q=Harapan%20Sehat"),
        "{:?}",
        asked("/api/v2/search")
    );
    assert_eq!(asked("/api/v1/streaming/hashtag").len(), 2, "reconnected once");
}

/// The second page comes only after `gate` opens: earshot is killed while waiting for it.
#[derive(Default)]
struct Slow {
    port: u16,
    gate: bool,
    queries: Vec<String>,
}

async fn slow_instance(State(instance): State<Arc<Mutex<Slow>>>, uri: Uri) -> impl IntoResponse {
    let query = uri.query().unwrap_or("").to_owned();
    let port = {
        let mut m = instance.lock().unwrap();
        m.queries.push(query.clone());
        m.port
    };
    if query.contains("min_id=110502") {
        while !instance.lock().unwrap().gate {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut out = HeaderMap::new();
    let body = timeline_page(&query, port, &mut out);
    (StatusCode::OK, out, body)
}

#[test]
fn killed_between_pages_a_restart_reads_on_from_the_durable_cursor() {
    let instance = Arc::new(Mutex::new(Slow::default()));
    let port = serve(Router::new().fallback(slow_instance).with_state(instance.clone()));
    instance.lock().unwrap().port = port;
    let source = format!(
        "[[sources]]\ntype = \"mastodon\"\nname = \"masto\"\ninstance = \"http://127.0.0.1:{port}\"\nhashtags = [\"#rsharapansehat\"]\nonce = true\n"
    );
    let w = Workdir::with_sources(&source, "");
    let mut running = Running(w.spawn());
    // Page one is durable once its newest status is the stored cursor.
    let cursor = || {
        let db = rusqlite::Connection::open(w.dir.path().join("state.db")).ok()?;
        db.query_row("SELECT position FROM cursors WHERE source = 'masto'", [], |r| {
            r.get::<_, String>(0)
        })
        .ok()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cursor().is_some_and(|c| c.contains("110502")) {
        assert!(Instant::now() < deadline, "page one never became durable");
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&running.0, "KILL");
    let _ = running.0.wait();

    instance.lock().unwrap().gate = true;
    let out = w.run_with_env(&[("RUST_LOG", "info")]);
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("received=2"), "only page two's statuses: {stderr}");
    let queries = instance.lock().unwrap().queries.clone();
    let after_restart: Vec<&str> = queries
        .iter()
        .skip_while(|q| !q.contains("min_id"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        after_restart[after_restart.len() - 2..],
        ["limit=40&min_id=110502", "limit=40&min_id=110504"]
    );
    // Every status once: the complaint and its boost in one incident.
    let incidents = w.command(&["incidents", "list", "--json", "--status", "all"]);
    let incidents = lines(&String::from_utf8_lossy(&incidents.stdout));
    let inc = incidents.iter().find(|i| i["post_ids"][0] == "masto:110501").unwrap();
    assert_eq!(inc["post_ids"], serde_json::json!(["masto:110501", "masto:110503"]));
}
