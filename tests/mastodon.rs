//! Mastodon hashtag timelines from a real HTTP server on 127.0.0.1 serving
//! recorded API pages: through a 500 and an exhausted rate limit, pages are
//! followed by their `Link` headers; the complaint and its boost are one
//! incident; polled again, `min_id` asks only for newer statuses.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
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
    let base = format!("http://127.0.0.1:{}/api/v1/timelines/tag/rsharapansehat", m.port);
    let page = |name: &str| std::fs::read_to_string(repo().join("fixtures/mastodon").join(name)).unwrap();
    let (body, newest) = if query.contains("min_id=110504") {
        ("[]".to_owned(), None)
    } else if query.contains("min_id=110502") {
        // The last request of this window: wait until its reset.
        let reset = chrono::Utc::now() + chrono::Duration::seconds(1);
        out.insert("x-ratelimit-remaining", "0".parse().unwrap());
        out.insert("x-ratelimit-reset", reset.to_rfc3339().parse().unwrap());
        (page("tag-page-2.json"), Some("110504"))
    } else {
        (page("tag-page-1.json"), Some("110502"))
    };
    if let Some(newest) = newest {
        let link = format!("<{base}?max_id=1>; rel=\"next\", <{base}?limit=40&min_id={newest}>; rel=\"prev\"");
        out.insert("link", link.parse().unwrap());
    }
    out.insert("content-type", "application/json".parse().unwrap());
    (StatusCode::OK, out, body)
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
