//! A Mastodon instance on 127.0.0.1 for the streaming tests: recorded
//! search, notification and hashtag-stream answers (an edit and a delete
//! in the second stream), behind the bearer token `t0ken`.

use super::{repo, serve};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use std::sync::{Arc, Mutex};

/// The instance's port, and what it saw.
pub fn streaming_instance() -> (u16, Arc<Mutex<Streaming>>) {
    let instance = Arc::new(Mutex::new(Streaming::default()));
    let port = serve(Router::new().fallback(streaming).with_state(instance.clone()));
    (port, instance)
}

/// What the streaming test's instance saw.
#[derive(Default)]
pub struct Streaming {
    /// (path?query, Authorization) of every request.
    pub requests: Vec<(String, String)>,
    tag_streams: usize,
}

async fn streaming(
    State(instance): State<Arc<Mutex<Streaming>>>,
    uri: Uri,
    headers: HeaderMap,
) -> axum::response::Response {
    use axum::body::Body;
    use futures_util::StreamExt;
    let mut m = instance.lock().unwrap();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    m.requests.push((uri.to_string(), auth.clone()));
    if auth != "Bearer t0ken" {
        return (StatusCode::UNAUTHORIZED, "{\"error\":\"The access token is invalid\"}").into_response();
    }
    let file = |name: &str| std::fs::read_to_string(repo().join("fixtures/mastodon").join(name)).unwrap();
    let json = |body: String| ([("content-type", "application/json")], body).into_response();
    // A stream: its events, then open and quiet (`last`) or closed.
    let sse = |body: String, last: bool| {
        let events = futures_util::stream::iter([Ok::<_, std::io::Error>(body)]);
        let body = if last {
            Body::from_stream(events.chain(futures_util::stream::pending()))
        } else {
            Body::from_stream(events)
        };
        ([("content-type", "text/event-stream")], body).into_response()
    };
    let query = uri.query().unwrap_or("");
    match uri.path() {
        "/api/v1/timelines/tag/rsharapansehat" => json("[]".into()),
        "/api/v2/search" if query.contains("min_id=") => {
            json("{\"accounts\":[],\"statuses\":[],\"hashtags\":[]}".into())
        }
        "/api/v2/search" => json(file("search.json")),
        "/api/v1/notifications" if query.contains("min_id=") => json("[]".into()),
        "/api/v1/notifications" => json(file("notifications.json")),
        "/api/v1/streaming/hashtag" => {
            m.tag_streams += 1;
            match m.tag_streams {
                1 => sse(file("stream-hashtag-1.sse"), false),
                2 => sse(file("stream-hashtag-2.sse"), true),
                _ => sse(":)\n\n".into(), true),
            }
        }
        "/api/v1/streaming/user/notification" => sse(file("stream-notification.sse"), true),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
