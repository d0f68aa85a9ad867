//! Webhook receiver: other systems push posts over HTTP.
//!
//! - Generic (`path`): one JSON object in the replay line format, or an
//!   array of them, optionally behind a bearer token; or, with `mapping`,
//!   items in the pusher's own JSON, each post field read at a JSON pointer.
//! - Meta (`meta.path`): the Facebook page webhook. A GET answers Meta's
//!   subscription handshake; a POST carries `feed` (posts, comments) and
//!   `ratings` (page reviews) changes signed with the app secret in
//!   `X-Hub-Signature-256`.
//!
//! The receiver answers 2xx only once every accepted post is durable (its
//! effects committed), so a pusher that retries on anything else loses
//! nothing; post ids make the retries idempotent. Malformed posts are
//! counted, skipped and named in the answer.

use super::{SourceContext, SourceResult};
use crate::config::WebhookConfig;
use crate::post::{Ack, Author, Envelope, Post, Refs};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a push waits for its posts to become durable before it is
/// told to retry (503).
const DURABLE_WAIT: Duration = Duration::from_secs(30);

struct Receiver {
    ctx: SourceContext,
    channel_default: &'static str,
    token: Option<String>,
    meta: Option<MetaSecrets>,
    mapping: Option<std::collections::BTreeMap<String, String>>,
}

struct MetaSecrets {
    app_secret: String,
    verify_token: String,
}

pub async fn run(config: WebhookConfig, ctx: SourceContext) -> SourceResult {
    let token = match &config.token_env {
        Some(var) => Some(ctx.secret(var, "the bearer token")?),
        None => None,
    };
    let meta = match &config.meta {
        Some(m) => Some(MetaSecrets {
            app_secret: ctx.secret(&m.app_secret_env, "the Meta app secret")?,
            verify_token: ctx.secret(&m.verify_token_env, "the Meta verify token")?,
        }),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ctx.fail(format!("listen on {}: {e}", config.listen)))?;
    let addr = listener.local_addr().map_err(|e| ctx.fail(e.to_string()))?;
    tracing::info!(source = %ctx.name, %addr, "webhook receiver listening");
    let stop = ctx.stop.clone();
    let state = Arc::new(Receiver {
        ctx,
        channel_default: "webhook",
        token,
        meta,
        mapping: config.mapping.clone(),
    });
    let mut app = Router::new().route(&config.path, post(generic));
    if let Some(m) = &config.meta {
        app = app.route(&m.path, post(meta_push).get(meta_handshake));
    }
    let app = app
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state.clone());
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    served.map_err(|e| state.ctx.fail(e.to_string()))
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// What became of each element of a push.
struct Outcome {
    posts: Vec<Post>,
    rejected: Vec<Value>,
}

impl Receiver {
    /// The body as `T`, or the 400 that says why not.
    fn body<T: serde::de::DeserializeOwned>(&self, body: &[u8], what: &str) -> Result<T, Box<Response>> {
        serde_json::from_slice(body).map_err(|e| {
            self.ctx.malformed(what, &e);
            Box::new(answer(
                StatusCode::BAD_REQUEST,
                json!({ "error": format!("{what}: {e}") }),
            ))
        })
    }

    fn reject(&self, outcome: &mut Outcome, at: String, error: String) {
        self.ctx.malformed(&at, &error);
        outcome.rejected.push(json!({ "at": at, "error": error }));
    }

    /// Sends the posts down the pipeline and waits until all are durable.
    async fn deliver(&self, outcome: Outcome) -> Response {
        if outcome.posts.is_empty() && !outcome.rejected.is_empty() {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({ "accepted": 0, "rejected": outcome.rejected }),
            );
        }
        let accepted = outcome.posts.len();
        let mut waits = Vec::with_capacity(accepted);
        for mut post in outcome.posts {
            post.cursor.clone_from(&post.native_id);
            self.ctx.received(&post);
            let (tx, rx) = oneshot::channel();
            let mut ack = Ack::new(&self.ctx.name, post.native_id.clone());
            ack.on_durable = Some(tx);
            let sent = tokio::select! {
                sent = self.ctx.out.send(Envelope::new(Some(post), ack)) => sent.is_ok(),
                _ = self.ctx.stop.cancelled() => false,
            };
            if !sent {
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "error": "shutting down; retry" }),
                );
            }
            waits.push(rx);
        }
        let all = futures_all(waits);
        match tokio::time::timeout(DURABLE_WAIT, all).await {
            Ok(true) => {
                let status = if accepted == 0 {
                    StatusCode::OK
                } else {
                    StatusCode::ACCEPTED
                };
                answer(status, json!({ "accepted": accepted, "rejected": outcome.rejected }))
            }
            _ => answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": "not yet durable; retry (post ids make retries safe)" }),
            ),
        }
    }
}

/// True when every post became durable (a dropped sender: the pipeline
/// stopped before committing it).
async fn futures_all(waits: Vec<oneshot::Receiver<()>>) -> bool {
    for w in waits {
        if w.await.is_err() {
            return false;
        }
    }
    true
}

async fn generic(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(token) = &r.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given.is_none_or(|g| !constant_time_eq(g.as_bytes(), token.as_bytes())) {
            return answer(
                StatusCode::UNAUTHORIZED,
                json!({ "error": "missing or wrong bearer token" }),
            );
        }
    }
    let value: Value = match r.body(&body, "body is not JSON") {
        Ok(v) => v,
        Err(refused) => return *refused,
    };
    let value = match r.mapping.as_ref().and_then(|m| m.get("items")) {
        Some(pointer) => match value.pointer(pointer) {
            Some(items @ Value::Array(_)) => items.clone(),
            _ => {
                r.ctx.malformed("body", &format!("no array of items at {pointer}"));
                return answer(
                    StatusCode::BAD_REQUEST,
                    json!({ "error": format!("body has no array of items at {pointer}") }),
                );
            }
        },
        None => value,
    };
    let items = match value {
        Value::Array(items) => items,
        one @ Value::Object(_) => vec![one],
        _ => {
            r.ctx.malformed("body", &"not a post object or an array of them");
            return answer(
                StatusCode::BAD_REQUEST,
                json!({ "error": "body must be a post object or an array of them" }),
            );
        }
    };
    let mut outcome = Outcome {
        posts: Vec::with_capacity(items.len()),
        rejected: Vec::new(),
    };
    for (i, item) in items.into_iter().enumerate() {
        let item = match &r.mapping {
            Some(mapping) => mapped(&item, mapping),
            None => item,
        };
        let id = item.get("id").map(|v| v.to_string());
        match serde_json::from_value::<super::replay::Line>(item)
            .map_err(|e| e.to_string())
            .and_then(|line| super::replay::line_to_post(&r.ctx.name, r.channel_default, line))
        {
            Ok(p) => outcome.posts.push(p),
            Err(e) => {
                let at = match id {
                    Some(id) => format!("[{i}] (id {id})"),
                    None => format!("[{i}]"),
                };
                r.reject(&mut outcome, at, e);
            }
        }
    }
    r.deliver(outcome).await
}

/// A pushed item in the pusher's own JSON as a line-format object: each
/// mapped field read at its pointer (numbers read as text where the line
/// wants text); fields not found are left out.
fn mapped(item: &Value, mapping: &std::collections::BTreeMap<String, String>) -> Value {
    let mut line = serde_json::Map::new();
    for (field, pointer) in mapping {
        if field == "items" {
            continue;
        }
        let Some(value) = item.pointer(pointer) else { continue };
        let value = match (field.as_str(), value) {
            ("followers", Value::String(s)) => match s.trim().parse::<u64>() {
                Ok(n) => n.into(),
                Err(_) => continue,
            },
            ("id" | "followers", v) => v.clone(),
            (_, Value::Number(n)) => Value::String(n.to_string()),
            (_, v) => v.clone(),
        };
        line.insert(field.clone(), value);
    }
    Value::Object(line)
}

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

async fn meta_handshake(State(r): State<Arc<Receiver>>, Query(q): Query<Handshake>) -> Response {
    let Some(meta) = &r.meta else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let token_ok = q
        .verify_token
        .as_deref()
        .is_some_and(|t| constant_time_eq(t.as_bytes(), meta.verify_token.as_bytes()));
    match (q.mode.as_deref(), q.challenge) {
        (Some("subscribe"), Some(challenge)) if token_ok => (StatusCode::OK, challenge).into_response(),
        _ => (StatusCode::FORBIDDEN, "verification failed").into_response(),
    }
}

async fn meta_push(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(meta) = &r.meta else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(signature) = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()) else {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({ "error": "missing X-Hub-Signature-256" }),
        );
    };
    if !signature_ok(meta.app_secret.as_bytes(), &body, signature) {
        return answer(
            StatusCode::FORBIDDEN,
            json!({ "error": "X-Hub-Signature-256 does not match" }),
        );
    }
    let push: MetaPush = match r.body(&body, "not a Meta webhook payload") {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let mut outcome = Outcome {
        posts: Vec::new(),
        rejected: Vec::new(),
    };
    for (i, entry) in push.entry.iter().enumerate() {
        for (j, change) in entry.changes.iter().enumerate() {
            match meta_post(&r.ctx.name, change) {
                Ok(Some(p)) => outcome.posts.push(p),
                Ok(None) => {}
                Err(e) => r.reject(&mut outcome, format!("entry[{i}].changes[{j}]"), e),
            }
        }
    }
    r.deliver(outcome).await
}

/// `sha256=<hex>` over the raw body, keyed with the app secret.
pub fn signature_ok(secret: &[u8], body: &[u8], header_value: &str) -> bool {
    let Some(hex) = header_value.strip_prefix("sha256=") else {
        return false;
    };
    let Some(given) = decode_hex(hex) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Deserialize)]
struct MetaPush {
    #[serde(default)]
    entry: Vec<MetaEntry>,
}

#[derive(Deserialize)]
struct MetaEntry {
    #[serde(default)]
    changes: Vec<MetaChange>,
}

#[derive(Deserialize)]
struct MetaChange {
    field: String,
    value: HashMap<String, Value>,
}

fn str_field<'a>(v: &'a HashMap<String, Value>, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Meta sends `created_time` as Unix seconds (feed) or as an ISO 8601
/// string with a `+0000` offset (some ratings).
fn meta_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    match v? {
        Value::Number(n) => DateTime::from_timestamp(n.as_i64()?, 0),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z"))
            .ok()
            .map(|d| d.to_utc()),
        _ => None,
    }
}

/// One change into a post; `None` for changes that carry no text to read
/// (likes, removals, photo-only posts).
fn meta_post(source: &str, change: &MetaChange) -> Result<Option<Post>, String> {
    let v = &change.value;
    let verb = str_field(v, "verb").unwrap_or("add");
    if !matches!(verb, "add" | "edited" | "edit") {
        return Ok(None);
    }
    let (native_id, text, author, name) = match change.field.as_str() {
        "feed" => {
            if !matches!(str_field(v, "item"), Some("post" | "status" | "comment") | None) {
                return Ok(None);
            }
            let Some(text) = str_field(v, "message") else {
                return Ok(None);
            };
            let id = str_field(v, "comment_id")
                .or_else(|| str_field(v, "post_id"))
                .ok_or("a feed change without `post_id` or `comment_id`")?;
            let from = v.get("from");
            let author = from.and_then(|f| f.get("id")).and_then(Value::as_str);
            let name = from.and_then(|f| f.get("name")).and_then(Value::as_str);
            (id, text, author, name)
        }
        "ratings" => {
            let Some(text) = str_field(v, "review_text") else {
                return Ok(None);
            };
            let id = str_field(v, "open_graph_story_id").ok_or("a rating without `open_graph_story_id`")?;
            (id, text, str_field(v, "reviewer_id"), str_field(v, "reviewer_name"))
        }
        _ => return Ok(None),
    };
    let created_at =
        meta_time(v.get("created_time")).ok_or_else(|| format!("change {native_id}: no usable `created_time`"))?;
    let reply_to = match str_field(v, "item") {
        Some("comment") => str_field(v, "parent_id").map(|p| format!("{source}:{p}")),
        _ => None,
    };
    let channel = if change.field == "ratings" {
        "facebook-review"
    } else {
        "facebook"
    };
    Ok(Some(Post {
        id: format!("{source}:{native_id}"),
        source: source.to_owned(),
        channel: channel.into(),
        native_id: native_id.to_owned(),
        author: Author {
            handle: author.unwrap_or("unknown").to_owned(),
            display_name: name.map(str::to_owned),
            audience: None,
        },
        text: text.to_owned(),
        url: Some(format!("https://www.facebook.com/{native_id}")),
        created_at,
        refs: Refs {
            reply_to,
            ..Refs::default()
        },
        ..Post::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_the_raw_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"{\"a\":1}");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(signature_ok(b"s3cret", b"{\"a\":1}", &format!("sha256={hex}")));
        assert!(!signature_ok(b"other", b"{\"a\":1}", &format!("sha256={hex}")));
        assert!(!signature_ok(b"s3cret", b"{\"a\":2}", &format!("sha256={hex}")));
        assert!(!signature_ok(b"s3cret", b"{\"a\":1}", &hex));
        assert!(!signature_ok(b"s3cret", b"{\"a\":1}", "sha256=zz"));
    }

    #[test]
    fn feed_comments_and_ratings_become_posts() {
        let change: MetaChange = serde_json::from_value(json!({
            "field": "feed",
            "value": {"item": "comment", "verb": "add", "post_id": "1234_1", "comment_id": "1234_1_9",
                       "parent_id": "1234_1", "message": "Dokter telat 3 jam", "created_time": 1764547200,
                       "from": {"id": "77", "name": "Sari"}}
        }))
        .unwrap();
        let p = meta_post("fb", &change).unwrap().unwrap();
        assert_eq!(p.id, "fb:1234_1_9");
        assert_eq!(p.refs.reply_to.as_deref(), Some("fb:1234_1"));
        assert_eq!(p.author.display_name.as_deref(), Some("Sari"));
        assert_eq!(p.created_at.timestamp(), 1764547200);

        let like: MetaChange = serde_json::from_value(json!({
            "field": "feed", "value": {"item": "reaction", "verb": "add", "post_id": "1234_1"}
        }))
        .unwrap();
        assert!(meta_post("fb", &like).unwrap().is_none());

        let rating: MetaChange = serde_json::from_value(json!({
            "field": "ratings",
            "value": {"item": "rating", "verb": "add", "review_text": "Worst ER visit", "rating": 1,
                       "open_graph_story_id": "555", "reviewer_id": "88", "reviewer_name": "Tom",
                       "created_time": "2026-11-30T10:00:00+0000"}
        }))
        .unwrap();
        let p = meta_post("fb", &rating).unwrap().unwrap();
        assert_eq!(p.channel, "facebook-review");
        assert_eq!(p.created_at.to_rfc3339(), "2026-11-30T10:00:00+00:00");

        let broken: MetaChange = serde_json::from_value(json!({
            "field": "feed", "value": {"item": "post", "verb": "add", "message": "no id", "created_time": 1}
        }))
        .unwrap();
        assert!(meta_post("fb", &broken).is_err());
    }
}
