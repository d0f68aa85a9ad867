//! A patient forum on Discourse, from a real HTTP server on 127.0.0.1
//! serving recorded `/posts.json` pages: a 500, a 429 and a cut-off body
//! are waited out;
//! the complaint thread is one incident (a reply names the post it
//! answers), the deleted, the moderator-action and the malformed posts are
//! skipped; the API key travels in its headers; a later poll follows an
//! older page (`before=`) and reads nothing twice.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use common::*;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Forum {
    /// The page served as the newest: 1 or 2.
    newest: usize,
    /// (path and query, Api-Key) of every request.
    asked: Vec<(String, String)>,
    failed: usize,
}

fn page(name: &str) -> String {
    std::fs::read_to_string(repo().join("fixtures/discourse").join(name)).unwrap()
}

async fn handle(
    State(forum): State<Arc<Mutex<Forum>>>,
    uri: Uri,
    headers: HeaderMap,
) -> (StatusCode, HeaderMap, String) {
    let mut f = forum.lock().unwrap();
    let key = headers
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    f.asked.push((uri.to_string(), key.clone()));
    let mut out = HeaderMap::new();
    if key != "forum-k3y" || headers.get("api-username").is_none_or(|u| u != "earshot-bot") {
        return (StatusCode::FORBIDDEN, out, "{\"errors\":[\"not allowed\"]}".into());
    }
    if uri.path() != "/posts.json" {
        return (StatusCode::NOT_FOUND, out, String::new());
    }
    f.failed += 1;
    match f.failed {
        1 => return (StatusCode::INTERNAL_SERVER_ERROR, out, "oops".into()),
        2 => {
            out.insert("retry-after", "1".parse().unwrap());
            return (
                StatusCode::TOO_MANY_REQUESTS,
                out,
                "{\"errors\":[\"slow down\"]}".into(),
            );
        }
        // A body cut off mid-way by a proxy.
        3 => return (StatusCode::OK, out, page("latest-1.json")[..700].to_owned()),
        _ => {}
    }
    out.insert("content-type", "application/json".parse().unwrap());
    let name = match (f.newest, uri.query()) {
        (2, None) => "latest-2.json",
        _ => "latest-1.json",
    };
    (StatusCode::OK, out, page(name))
}

#[test]
fn a_forum_thread_is_one_incident_and_a_later_poll_pages_back() {
    let forum = Arc::new(Mutex::new(Forum {
        newest: 1,
        ..Forum::default()
    }));
    let port = serve(Router::new().fallback(handle).with_state(forum.clone()));
    let source = format!(
        "[[sources]]\ntype = \"discourse\"\nname = \"forum\"\nurl = \"http://127.0.0.1:{port}/\"\n\
         api_key_env = \"FORUM_KEY\"\napi_username = \"earshot-bot\"\nmembers = 1200\nonce = true\n"
    );
    let w = Workdir::with_sources(&source, "");
    let out = w.run_with_env(&[("FORUM_KEY", "forum-k3y"), ("RUST_LOG", "info")]);
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Three readable posts: the complaint, its reply, the praise.
    assert!(stderr.contains("received=3"), "{stderr}");
    assert!(stderr.contains("malformed item skipped"), "{stderr}");
    assert!(!stderr.contains("forum-k3y"), "the key never shows: {stderr}");
    let tickets = w.tickets();
    let id = &tickets[0]["incident_id"];
    assert!(
        tickets.iter().all(|t| t["incident_id"] == *id),
        "one incident: {tickets:?}"
    );
    let t = tickets.last().unwrap();
    assert_eq!(t["provider"], "klinik-medika-utama");
    assert_eq!(t["post_ids"], serde_json::json!(["forum:310/1", "forum:310/2"]));
    assert_eq!(t["channels"], serde_json::json!(["forum"]));
    assert!(
        t["posts"][0]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/t/kontrol-gula-darah-dan-stok-insulin/310/1")),
        "{t}"
    );
    {
        let f = forum.lock().unwrap();
        assert_eq!(
            f.asked.len(),
            4,
            "a 500, a 429, a cut-off page, then the page: {:?}",
            f.asked
        );
        assert!(f.asked.iter().all(|(_, key)| key == "forum-k3y"));
    }

    // Newer posts: a whole new page, so the older one is asked for too.
    forum.lock().unwrap().newest = 2;
    let out = w.run_with_env(&[("FORUM_KEY", "forum-k3y"), ("RUST_LOG", "info")]);
    assert_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("received=5"), "only the five new posts: {stderr}");
    let asked: Vec<String> = forum.lock().unwrap().asked[4..]
        .iter()
        .map(|(u, _)| u.clone())
        .collect();
    assert_eq!(asked, ["/posts.json", "/posts.json?before=1207"]);
    let tickets = w.tickets();
    let last = tickets.last().unwrap();
    assert_eq!(last["incident_id"], *id);
    // The thread's question and new complaint join it; the other topics do not.
    assert_eq!(
        last["post_ids"],
        serde_json::json!(["forum:310/1", "forum:310/2", "forum:310/4", "forum:310/5"])
    );
}
