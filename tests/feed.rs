//! RSS and Atom feeds from a real HTTP server on 127.0.0.1 serving
//! recorded feeds: through a 503 and a 429, the readers' letter complaining
//! about an emergency room becomes a ticket; polled again, the ETag brings a
//! 304; a new version of the feed yields only its new entry, even though an
//! old one was re-dated.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use common::*;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Site {
    version: u32,
    letters_seen: usize,
    conditional: Vec<String>,
}

async fn handle(State(site): State<Arc<Mutex<Site>>>, uri: Uri, headers: HeaderMap) -> impl IntoResponse {
    let mut site = site.lock().unwrap();
    let mut out = HeaderMap::new();
    match uri.path() {
        "/letters.rss" => {
            site.letters_seen += 1;
            match site.letters_seen {
                1 => return (StatusCode::SERVICE_UNAVAILABLE, out, String::new()),
                2 => {
                    out.insert("retry-after", "1".parse().unwrap());
                    return (StatusCode::TOO_MANY_REQUESTS, out, String::new());
                }
                _ => {}
            }
            let etag = format!("\"v{}\"", site.version);
            if let Some(sent) = headers.get("if-none-match").and_then(|v| v.to_str().ok()) {
                site.conditional.push(sent.to_owned());
                if sent == etag {
                    return (StatusCode::NOT_MODIFIED, out, String::new());
                }
            }
            out.insert("etag", etag.parse().unwrap());
            out.insert("last-modified", "Wed, 06 May 2026 02:00:00 GMT".parse().unwrap());
            out.insert("content-type", "application/rss+xml".parse().unwrap());
            let file = format!("fixtures/feed/letters-v{}.rss", site.version);
            (StatusCode::OK, out, std::fs::read_to_string(repo().join(file)).unwrap())
        }
        "/alerts.atom" => {
            out.insert("content-type", "application/atom+xml".parse().unwrap());
            let body = std::fs::read_to_string(repo().join("fixtures/feed/alerts.atom")).unwrap();
            (StatusCode::OK, out, body)
        }
        _ => (StatusCode::NOT_FOUND, out, String::new()),
    }
}

#[test]
fn feeds_are_polled_conditionally_and_read_once() {
    let site = Arc::new(Mutex::new(Site {
        version: 1,
        ..Default::default()
    }));
    let port = serve(Router::new().fallback(handle).with_state(site.clone()));
    let sources = format!(
        "[[sources]]\ntype = \"feed\"\nname = \"letters\"\nurl = \"http://127.0.0.1:{port}/letters.rss\"\nonce = true\n\n\
         [[sources]]\ntype = \"feed\"\nname = \"alerts\"\nurl = \"http://127.0.0.1:{port}/alerts.atom\"\nonce = true\n"
    );
    let w = Workdir::with_sources(&sources, "");
    assert_ok(&w.run());
    let tickets = w.tickets();
    let first_posts: Vec<&str> = tickets.iter().map(|t| t["post_ids"][0].as_str().unwrap()).collect();
    assert!(first_posts.contains(&"letters:harian-sp-88121"), "{first_posts:?}");
    let letter = tickets
        .iter()
        .find(|t| t["post_ids"][0] == "letters:harian-sp-88121")
        .unwrap();
    assert_eq!(letter["provider"], "rs-harapan-sehat");
    assert_eq!(
        letter["posts"][0]["url"],
        "https://harian.example/suara-pembaca/2026/05/igd-rs-harapan-sehat"
    );
    assert!(
        !letter["posts"][0]["excerpt"].as_str().unwrap().contains("<b>"),
        "HTML is read as text"
    );
    // The English news alert about the same emergency joined nothing it did not share, or its own incident.
    assert!(tickets.iter().any(|t| {
        t["post_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "alerts:tag:alerts.example,2026:entry-5521")
    }));
    assert!(
        site.lock().unwrap().letters_seen >= 3,
        "the 503 and the 429 were retried"
    );

    // Again: the server's ETag answers 304, nothing is read.
    assert_ok(&w.run());
    assert_eq!(keys(&w.tickets()), keys(&tickets));
    assert_eq!(site.lock().unwrap().conditional, ["\"v1\""]);

    // A new version: only its new entry, though an old one was re-dated.
    site.lock().unwrap().version = 2;
    assert_ok(&w.run());
    let now = w.tickets();
    let new: Vec<&serde_json::Value> = now.iter().filter(|t| !tickets.contains(t)).collect();
    assert!(!new.is_empty());
    for t in &new {
        assert_eq!(t["post_ids"][0], "letters:harian-sp-88140", "{t}");
    }
}

#[test]
fn feed_html_and_entries_map_to_posts() {
    let xml = std::fs::read(repo().join("fixtures/feed/alerts.atom")).unwrap();
    let feed = feed_rs::parser::parse(&xml[..]).unwrap();
    let post = earshot::sources::feed::to_post("alerts", "news", &feed.entries[0]);
    assert_eq!(post.id, "alerts:tag:alerts.example,2026:entry-5521");
    assert_eq!(post.author.handle, "Jakarta Daily Desk");
    assert!(
        post.text
            .starts_with("A family says Harapan Sehat Hospital left their father"),
        "{}",
        post.text
    );
    assert_eq!(
        post.url.as_deref(),
        Some("https://news.example/2026/05/05/harapan-sehat-er")
    );
    assert_eq!(
        earshot::sources::feed::strip_html("<p>a &amp; <b>b</b>&nbsp;&quot;c&quot;</p>"),
        "a & b \"c\""
    );
}
