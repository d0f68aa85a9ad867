//! The streaming API (server-sent events): one stream per hashtag
//! (`/api/v1/streaming/hashtag?tag=`), and the account's notifications
//! (`/api/v1/streaming/user/notification`) for mentions. `update` and
//! `notification` events are posts; `delete` and `status.update` are
//! recorded on the incident of the post they name. The streams replay
//! nothing, so every (re)connect first catches up over REST from the
//! cursor, and searches (which cannot stream) are polled every
//! `interval_secs`. A stream silent past its heartbeats is taken as dead.

use super::{Feed, Notification, Reader, Status};
use crate::post::PostChange;
use crate::sources::{Pacing, SourceContext, SourceResult};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Mastodon sends a heartbeat comment every 15 seconds or so.
const SILENCE: Duration = Duration::from_secs(60);

enum Event {
    Frame { feed: Feed, event: String, data: String },
    Lost(String),
}

/// Server-sent events framing: `event:` and `data:` lines, a blank line
/// ends an event, `:` lines are comments (heartbeats).
#[derive(Default)]
pub struct Sse {
    buf: Vec<u8>,
    event: String,
    data: String,
}

impl Sse {
    /// The events `chunk` completes, as (event, data).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<(String, String)> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.buf.drain(..=end).collect();
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() || !self.event.is_empty() {
                    let event = std::mem::take(&mut self.event);
                    let event = if event.is_empty() { "message".into() } else { event };
                    out.push((event, std::mem::take(&mut self.data)));
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.event = value.to_owned(),
                "data" => {
                    if !self.data.is_empty() {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                }
                _ => {}
            }
        }
        out
    }
}

pub(super) async fn follow(reader: &mut Reader<'_>) -> SourceResult {
    let ctx = reader.ctx;
    let client = crate::retry::streaming_client(reader.config.timeout_secs).map_err(|e| ctx.fail(e))?;
    let mut pacing = Pacing::new(1, false);
    let refresh_every = Duration::from_secs(reader.config.interval_secs.max(1));
    let stream_base = reader
        .config
        .streaming_url
        .as_deref()
        .unwrap_or(&reader.base)
        .trim_end_matches('/')
        .to_owned();
    loop {
        if !reader.catch_up(&mut pacing).await {
            return Ok(());
        }
        let (tx, mut rx) = mpsc::channel::<Event>(256);
        let streams = ctx.stop.child_token();
        for feed in reader.feeds() {
            let url = match &feed {
                Feed::Tag(tag) => format!(
                    "{stream_base}/api/v1/streaming/hashtag?tag={}",
                    crate::sources::percent_encode(tag)
                ),
                Feed::Mentions => format!("{stream_base}/api/v1/streaming/user/notification"),
                Feed::Search(_) => continue,
            };
            let mut request = client.get(&url).header(reqwest::header::ACCEPT, "text/event-stream");
            if let Some(t) = &reader.token {
                request = request.bearer_auth(t);
            }
            tokio::spawn(read(ctx.clone(), request, feed, tx.clone(), streams.clone()));
        }
        drop(tx);
        let mut refresh = tokio::time::interval_at(tokio::time::Instant::now() + refresh_every, refresh_every);
        let mut carried = false;
        let lost = loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Some(Event::Frame { feed, event, data }) => {
                        carried = true;
                        if !handle(reader, &feed, &event, &data).await {
                            streams.cancel();
                            return Ok(());
                        }
                    }
                    Some(Event::Lost(why)) => break why,
                    None => break "no stream to follow".to_owned(),
                },
                _ = refresh.tick() => {
                    if !reader.catch_up(&mut pacing).await {
                        streams.cancel();
                        return Ok(());
                    }
                }
                _ = ctx.stop.cancelled() => {
                    streams.cancel();
                    return Ok(());
                }
            }
        };
        streams.cancel();
        ctx.error("network");
        tracing::warn!(source = %ctx.name, error = %lost, "mastodon stream lost; catching up and reconnecting");
        if carried {
            pacing = Pacing::new(1, false);
        }
        pacing.failed(Duration::ZERO);
        if !pacing.rest(&ctx.stop).await {
            return Ok(());
        }
    }
}

/// Reads one stream's events into `tx` until it ends or `stop`.
async fn read(
    ctx: SourceContext,
    request: reqwest::RequestBuilder,
    feed: Feed,
    tx: mpsc::Sender<Event>,
    stop: CancellationToken,
) {
    ctx.request();
    let lost = |why: String| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(Event::Lost(why)).await;
        }
    };
    let mut response = tokio::select! {
        r = request.send() => match r {
            Ok(r) if r.status().is_success() => {
                ctx.healthy();
                r
            }
            Ok(r) => return lost(format!("stream answered {}", r.status())).await,
            Err(e) => return lost(format!("stream unreachable: {}", e.without_url())).await,
        },
        _ = stop.cancelled() => return,
    };
    let mut sse = Sse::default();
    loop {
        let chunk = tokio::select! {
            c = tokio::time::timeout(SILENCE, response.chunk()) => c,
            _ = stop.cancelled() => return,
        };
        let bytes = match chunk {
            Err(_) => return lost(format!("no heartbeat in {SILENCE:?}")).await,
            Ok(Err(e)) => return lost(format!("stream cut: {}", e.without_url())).await,
            Ok(Ok(None)) => return lost("the server ended the stream".into()).await,
            Ok(Ok(Some(bytes))) => bytes,
        };
        for (event, data) in sse.push(&bytes) {
            let frame = Event::Frame {
                feed: feed.clone(),
                event,
                data,
            };
            if tx.send(frame).await.is_err() {
                return;
            }
        }
    }
}

/// Hands on one event; false once the source stops.
async fn handle(reader: &mut Reader<'_>, feed: &Feed, event: &str, data: &str) -> bool {
    let ctx = reader.ctx;
    let at = || format!("{} stream event `{event}`", reader.base);
    match event {
        "update" => match serde_json::from_str::<Status>(data) {
            Ok(status) => reader.hand_on(feed, status.id.clone(), &status).await,
            Err(e) => {
                ctx.malformed(&at(), &e);
                true
            }
        },
        "notification" => match serde_json::from_str::<Notification>(data) {
            Ok(Notification {
                id,
                kind,
                status: Some(status),
            }) if kind == "mention" => reader.hand_on(&Feed::Mentions, id, &status).await,
            Ok(_) => true,
            Err(e) => {
                ctx.malformed(&at(), &e);
                true
            }
        },
        "delete" => {
            let change = PostChange {
                post_id: format!("{}:{}", ctx.name, data.trim()),
                at: chrono::Utc::now(),
                edited: None,
            };
            let cursor = serde_json::to_string(&reader.position).expect("positions serialize");
            ctx.record_change(change, cursor).await
        }
        "status.update" => match serde_json::from_str::<Status>(data) {
            Ok(status) => {
                let at = status.edited_at.unwrap_or_else(chrono::Utc::now);
                let edited = super::to_post(&ctx.name, &status);
                let change = PostChange {
                    post_id: edited.id.clone(),
                    at,
                    edited: Some(edited.text.clone()),
                };
                let cursor = serde_json::to_string(&reader.position).expect("positions serialize");
                // The new text is scored as a revision that forwards the
                // original: a complaint made worse escalates its incident.
                let revision = revision(edited, &status.id, at);
                ctx.record_change(change, cursor.clone()).await && ctx.emit(Some(revision), cursor).await
            }
            Err(e) => {
                ctx.malformed(&at(), &e);
                true
            }
        },
        _ => true,
    }
}

/// An edited status as a post of its own, `ID@EDITED_AT`, forwarding the
/// original (so it joins the original's incident, its author counted once).
fn revision(mut post: crate::post::Post, original: &str, at: chrono::DateTime<chrono::Utc>) -> crate::post::Post {
    let stamp = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    post.native_id = format!("{original}@{stamp}");
    post.id = format!("{}:{}", post.source, post.native_id);
    post.refs.forward_of = Some(original.to_owned());
    post.created_at = at;
    post
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_across_chunks_comments_and_multiline_data() {
        let mut sse = Sse::default();
        assert!(sse.push(b":thump\n\nevent: upd").is_empty());
        assert!(sse.push(b"ate\r\ndata: {\"a\":\ndata: 1}\r\n").is_empty());
        assert_eq!(
            sse.push(b"\r\nevent: delete\ndata: 1105"),
            [("update".into(), "{\"a\":\n1}".into())]
        );
        assert_eq!(sse.push(b"09\n\n"), [("delete".to_owned(), "110509".to_owned())]);
        assert_eq!(
            sse.push("data: é\n\n".as_bytes()),
            [("message".to_owned(), "é".to_owned())]
        );
    }
}
