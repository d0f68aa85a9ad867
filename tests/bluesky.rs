//! Bluesky search from a real HTTP server on 127.0.0.1 serving a recorded
//! `app.bsky.feed.searchPosts` page: the source opens a session with an
//! app password, opens a new one when a 401 says it is gone; the complaint
//! and its quote are one incident, a malformed hit is skipped; searched
//! again, `since` narrows the search and nothing is read twice.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use common::*;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Pds {
    sessions: usize,
    /// (query string, bearer token) of every search.
    searches: Vec<(String, String)>,
}

async fn handle(
    State(pds): State<Arc<Mutex<Pds>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    let mut pds = pds.lock().unwrap();
    let mut out = HeaderMap::new();
    out.insert("content-type", "application/json".parse().unwrap());
    let unauthorized = "{\"error\": \"AuthenticationRequired\", \"message\": \"Invalid identifier or password\"}";
    match (method, uri.path()) {
        (Method::POST, "/xrpc/com.atproto.server.createSession") => {
            let asked: serde_json::Value = serde_json::from_str(&body).unwrap();
            if asked != serde_json::json!({"identifier": "rs.bsky.social", "password": "abcd-efgh-ijkl-mnop"}) {
                return (StatusCode::UNAUTHORIZED, out, unauthorized.to_owned());
            }
            pds.sessions += 1;
            let jwt = format!("jwt-{}", pds.sessions);
            (
                StatusCode::OK,
                out,
                format!(
                    "{{\"accessJwt\": \"{jwt}\", \"refreshJwt\": \"r\", \"handle\": \"rs.bsky.social\", \"did\": \"did:plc:rs\"}}"
                ),
            )
        }
        (Method::GET, "/xrpc/app.bsky.feed.searchPosts") => {
            let bearer = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .trim_start_matches("Bearer ")
                .to_owned();
            pds.searches
                .push((uri.query().unwrap_or("").to_owned(), bearer.clone()));
            // The first session is revoked at once.
            if bearer == "jwt-1" {
                let expired = "{\"error\": \"ExpiredToken\", \"message\": \"Token has expired\"}";
                return (StatusCode::UNAUTHORIZED, out, expired.to_owned());
            }
            out.insert("ratelimit-limit", "3000".parse().unwrap());
            out.insert("ratelimit-remaining", "2999".parse().unwrap());
            let body = std::fs::read_to_string(repo().join("fixtures/bluesky/search.json")).unwrap();
            (StatusCode::OK, out, body)
        }
        _ => (StatusCode::NOT_FOUND, out, String::new()),
    }
}

#[test]
fn searches_are_read_once_through_a_session() {
    let pds = Arc::new(Mutex::new(Pds::default()));
    let port = serve(Router::new().fallback(handle).with_state(pds.clone()));
    let source = format!(
        "[[sources]]\ntype = \"bluesky\"\nname = \"bsky\"\nqueries = [\"RS Harapan Sehat\"]\n\
         service = \"http://127.0.0.1:{port}\"\nidentifier_env = \"EARSHOT_TEST_BSKY_ID\"\n\
         password_env = \"EARSHOT_TEST_BSKY_PASSWORD\"\nonce = true\n"
    );
    let w = Workdir::with_sources(&source, "");
    let run = || {
        w.run_with_env(&[
            ("EARSHOT_TEST_BSKY_ID", "rs.bsky.social"),
            ("EARSHOT_TEST_BSKY_PASSWORD", "abcd-efgh-ijkl-mnop"),
        ])
    };
    let out = run();
    assert_ok(&out);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("abcd-efgh"));

    let original = "bsky:at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lcf7pqkd2c2a";
    let quote = "bsky:at://did:plc:q7ruyuq4ujnbrc3m6hqhqzlm/app.bsky.feed.post/3lcf7ymhqsk2b";
    let tickets = w.tickets();
    let complaint = tickets
        .iter()
        .find(|t| t["post_ids"][0] == original)
        .unwrap_or_else(|| panic!("the complaint is a ticket: {tickets:?}"));
    assert_eq!(complaint["provider"], "rs-harapan-sehat");
    assert_eq!(complaint["channels"][0], "bluesky");
    assert_eq!(
        complaint["posts"][0]["url"],
        "https://bsky.app/profile/dewi-lestari.bsky.social/post/3lcf7pqkd2c2a"
    );
    assert_eq!(complaint["posts"][0]["author"], "@dewi-lestari.bsky.social");
    let incidents = w.command(&["incidents", "list", "--json", "--status", "all"]);
    let incidents = lines(&String::from_utf8_lossy(&incidents.stdout));
    let inc = incidents.iter().find(|i| i["post_ids"][0] == original).unwrap();
    assert_eq!(
        inc["post_ids"],
        serde_json::json!([original, quote]),
        "the quote joined"
    );
    let all: String = incidents.iter().map(|i| i["post_ids"].to_string()).collect();
    assert!(!all.contains("broken") && !all.contains("3lcf6zzq7ks2x"), "{all}");

    {
        let pds = pds.lock().unwrap();
        assert_eq!(pds.sessions, 2, "a new session after the 401");
        let tokens: Vec<&str> = pds.searches.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(tokens, ["jwt-1", "jwt-2"]);
        assert_eq!(pds.searches[1].0, "q=RS+Harapan+Sehat&sort=latest&limit=100");
    }

    // Again: `since` the newest hit, and nothing new.
    assert_ok(&run());
    assert_eq!(keys(&w.tickets()), keys(&tickets));
    let pds = pds.lock().unwrap();
    let (query, _) = pds.searches.last().unwrap();
    assert_eq!(
        query,
        "q=RS+Harapan+Sehat&sort=latest&limit=100&since=2026-11-30T10%3A05%3A12.731Z"
    );
}
