//! Bluesky's firehose through Jetstream: one WebSocket of JSON events
//! (`/subscribe?wantedCollections=app.bsky.feed.post`), every new post on
//! the network. Jetstream cannot filter by content, so posts are kept here
//! when their text holds one of `keywords` (case folded, Aho-Corasick).
//!
//! Each event carries `time_us`, Jetstream's cursor. A reconnect (after a
//! drop, a silent connection, a restart) asks for `cursor = last - rewind`,
//! so no event falls into the gap; what the rewind brings again has a post
//! id seen already and is not counted twice. Between matching posts the
//! cursor still moves, every few seconds of stream, so a restart does not
//! replay hours of firehose.
//!
//! A post's id is its AT URI (`at://DID/app.bsky.feed.post/RKEY`), the
//! same as the search source's, so a reply or quote seen here joins an
//! incident opened by either. Jetstream names an author by DID only; a
//! kept post's author is looked up on the AppView (`getProfile`: handle,
//! name, followers as audience) and remembered. Deletes and edits of posts
//! are not read.
//!
//! Cursor: `{"time_us": N}`.

use super::{Pacing, SourceContext, SourceResult};
use crate::config::JetstreamConfig;
use crate::post::{Author, Post, Refs};
use aho_corasick::AhoCorasick;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// Stream time (µs) after which the cursor moves without a matching post.
const CURSOR_STEP_US: i64 = 5_000_000;

#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
struct Position {
    time_us: i64,
}

#[derive(Debug, Deserialize)]
struct Event {
    did: String,
    time_us: i64,
    kind: String,
    #[serde(default)]
    commit: Option<Commit>,
}

#[derive(Debug, Deserialize)]
struct Commit {
    operation: String,
    collection: String,
    rkey: String,
    #[serde(default)]
    record: Option<serde_json::Value>,
}

trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// What one connection ended with.
enum Ended {
    Stopped,
    /// Dropped, silent or refused: reconnect after a backoff (reset when
    /// the connection had carried frames).
    Lost(String, bool),
}

pub async fn run(config: JetstreamConfig, ctx: SourceContext) -> SourceResult {
    let mut at: Option<Position> = match &ctx.resume {
        Some(p) => Some(serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?),
        None => None,
    };
    let keywords = keyword_matcher(&config.keywords).map_err(|e| ctx.fail(format!("keywords: {e}")))?;
    let tls = super::tls_connector(config.ca_file.as_deref()).map_err(|e| ctx.fail(e))?;
    let url = reqwest::Url::parse(&config.url).map_err(|e| ctx.fail(format!("url `{}`: {e}", config.url)))?;
    if !matches!(url.scheme(), "ws" | "wss") || url.host_str().is_none() {
        return Err(ctx.fail(format!("url `{}`: not a ws:// or wss:// address", config.url)));
    }
    let mut stream = Stream {
        profiles: Profiles::new(&config, &ctx)?,
        config: &config,
        ctx: &ctx,
        tls,
        url,
        keywords,
    };
    let mut pacing = Pacing::new(1, false);
    loop {
        let rewind = config.rewind_secs as i64 * 1_000_000;
        let cursor = at.map(|p| (p.time_us - rewind).max(0));
        match stream.follow(cursor, &mut at).await {
            Ended::Stopped => return Ok(()),
            Ended::Lost(why, carried) => {
                if carried {
                    pacing = Pacing::new(1, false);
                }
                ctx.error("network");
                tracing::warn!(source = %ctx.name, error = %why, "jetstream connection lost; reconnecting with a rewind");
                pacing.failed(Duration::ZERO);
            }
        }
        if !pacing.rest(&ctx.stop).await {
            return Ok(());
        }
    }
}

/// Authors' profiles from the AppView, remembered: Jetstream names an
/// author by DID only, and a ticket needs a handle and an audience.
struct Profiles {
    client: Option<reqwest::Client>,
    appview: String,
    /// A DID's profile, or when its lookup failed (tried again after
    /// `RETRY_LOOKUP`, so an AppView outage does not slow every post).
    known: std::collections::HashMap<String, Result<Profile, std::time::Instant>>,
}

const RETRY_LOOKUP: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    handle: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    followers_count: Option<u64>,
}

/// Authors remembered at most (a few MB); forgotten all at once beyond.
const PROFILES_KEPT: usize = 50_000;

impl Profiles {
    fn new(config: &JetstreamConfig, ctx: &SourceContext) -> Result<Self, super::SourceError> {
        let client = match config.appview.is_empty() {
            true => None,
            false => Some(crate::retry::client(2).map_err(|e| ctx.fail(e))?),
        };
        Ok(Profiles {
            client,
            appview: config.appview.trim_end_matches('/').to_owned(),
            known: Default::default(),
        })
    }

    /// `post` with its author's handle, name and followers, when the
    /// AppView knows them (the DID otherwise).
    async fn name(&mut self, ctx: &SourceContext, mut post: Post) -> Post {
        let Some(client) = &self.client else { return post };
        let did = post.author.handle.clone();
        let stale = match self.known.get(&did) {
            None => true,
            Some(Ok(_)) => false,
            Some(Err(failed)) => failed.elapsed() >= RETRY_LOOKUP,
        };
        if stale {
            let url = format!(
                "{}/xrpc/app.bsky.actor.getProfile?actor={}",
                self.appview,
                super::percent_encode(&did)
            );
            let found =
                match crate::retry::get_json::<Profile>(ctx, "bluesky appview", client.get(&url), |_| None).await {
                    crate::retry::Fetched::Got(p, _) => Ok(p),
                    _ => Err(std::time::Instant::now()),
                };
            // A lookup is a courtesy: the stream itself is what keeps the source healthy.
            ctx.healthy();
            if self.known.len() >= PROFILES_KEPT {
                self.known.clear();
            }
            self.known.insert(did.clone(), found);
        }
        if let Some(Ok(p)) = self.known.get(&did) {
            post.author.handle = format!("@{}", p.handle);
            post.author.display_name = p.display_name.clone().filter(|n| !n.is_empty());
            post.author.audience = p.followers_count;
        }
        post
    }
}

/// Finds any of `keywords` in a post's text, ASCII case folded.
pub fn keyword_matcher(keywords: &[String]) -> Result<AhoCorasick, String> {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(keywords)
        .map_err(|e| e.to_string())
}

/// What every connection of the source shares.
struct Stream<'a> {
    config: &'a JetstreamConfig,
    ctx: &'a SourceContext,
    tls: tokio_rustls::TlsConnector,
    url: reqwest::Url,
    keywords: AhoCorasick,
    profiles: Profiles,
}

impl Stream<'_> {
    /// One connection: subscribes from `cursor` and hands on matching posts
    /// until the connection ends or the source stops.
    async fn follow(&mut self, cursor: Option<i64>, at: &mut Option<Position>) -> Ended {
        let Stream {
            config,
            ctx,
            tls,
            url,
            keywords,
            profiles,
        } = self;
        let (config, ctx) = (*config, *ctx);
        let mut subscribe = url.clone();
        subscribe
            .query_pairs_mut()
            .append_pair("wantedCollections", "app.bsky.feed.post");
        if let Some(c) = cursor {
            subscribe.query_pairs_mut().append_pair("cursor", &c.to_string());
        }
        let idle = Duration::from_secs(config.idle_secs.max(1));
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        ctx.request();
        let tcp = match tokio::time::timeout(idle, TcpStream::connect((host.as_str(), port))).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Ended::Lost(format!("connect {host}:{port}: {e}"), false),
            Err(_) => return Ended::Lost(format!("connect {host}:{port}: no answer"), false),
        };
        let stream: Box<dyn Connection> = if url.scheme() == "wss" {
            let name = match tokio_rustls::rustls::pki_types::ServerName::try_from(host.clone()) {
                Ok(n) => n,
                Err(e) => return Ended::Lost(format!("host `{host}`: {e}"), false),
            };
            match tokio::time::timeout(idle, tls.connect(name, tcp)).await {
                Ok(Ok(s)) => Box::new(s),
                Ok(Err(e)) => return Ended::Lost(format!("TLS handshake: {e}"), false),
                Err(_) => return Ended::Lost("TLS handshake: no answer".into(), false),
            }
        } else {
            Box::new(tcp)
        };
        let mut ws = match tokio::time::timeout(idle, tokio_tungstenite::client_async(subscribe.as_str(), stream)).await
        {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => return Ended::Lost(format!("WebSocket handshake: {e}"), false),
            Err(_) => return Ended::Lost("WebSocket handshake: no answer".into(), false),
        };
        tracing::info!(source = %ctx.name, cursor = ?cursor, "jetstream subscribed");
        ctx.healthy();
        // The stream position last handed on, matching or not.
        let mut handed = at.map_or(0, |p| p.time_us);
        let mut frame = 0u64;
        loop {
            let message = tokio::select! {
                m = tokio::time::timeout(idle, ws.next()) => m,
                _ = ctx.stop.cancelled() => {
                    let _ = ws.close(None).await;
                    return Ended::Stopped;
                }
            };
            let text = match message {
                Err(_) => return Ended::Lost(format!("no frame in {idle:?}"), frame > 0),
                Ok(None) => return Ended::Lost("the server closed the stream".into(), frame > 0),
                Ok(Some(Err(e))) => return Ended::Lost(e.to_string(), frame > 0),
                Ok(Some(Ok(Message::Text(t)))) => t,
                Ok(Some(Ok(Message::Close(_)))) => {
                    return Ended::Lost("the server closed the stream".into(), frame > 0);
                }
                Ok(Some(Ok(_))) => continue, // pings are answered by the library
            };
            frame += 1;
            let (time_us, post) = match read_frame(&ctx.name, &text, keywords) {
                Ok(read) => read,
                Err((time_us, e)) => {
                    let at = match time_us {
                        Some(t) => format!("{} at time_us {t}", config.url),
                        None => format!("{} frame {frame}", config.url),
                    };
                    ctx.malformed(&at, &e);
                    match time_us {
                        Some(t) => (t, None),
                        None => continue,
                    }
                }
            };
            let post = match post {
                Some(p) => Some(profiles.name(ctx, p).await),
                None => None,
            };
            let position = Position { time_us };
            if post.is_none() && time_us - handed < CURSOR_STEP_US {
                continue;
            }
            handed = time_us;
            let cursor = serde_json::to_string(&position).expect("positions serialize");
            if !ctx.emit(post, cursor).await {
                return Ended::Stopped;
            }
            *at = Some(position);
        }
    }
}

/// One Jetstream frame: its `time_us` and the post it creates when that
/// holds a keyword. `Err` with the time when known: not an event, or an
/// event creating a post whose record is not one.
pub fn read_frame(
    source: &str,
    frame: &str,
    keywords: &AhoCorasick,
) -> Result<(i64, Option<Post>), (Option<i64>, String)> {
    let event: Event = serde_json::from_str(frame).map_err(|e| (None, e.to_string()))?;
    let post = matching_post(source, &event, keywords).map_err(|e| (Some(event.time_us), e))?;
    Ok((event.time_us, post))
}

/// The post an event creates, when it holds a keyword; `Err` when it
/// claims to create a post but its record is not one.
fn matching_post(source: &str, event: &Event, keywords: &AhoCorasick) -> Result<Option<Post>, String> {
    let Some(commit) = &event.commit else {
        return Ok(None);
    };
    if event.kind != "commit" || commit.operation != "create" || commit.collection != "app.bsky.feed.post" {
        return Ok(None);
    }
    let record: super::bluesky::Record =
        serde_json::from_value(commit.record.clone().ok_or("a create without a record")?).map_err(|e| e.to_string())?;
    if record.text.trim().is_empty() {
        return Err("a post record without text".into());
    }
    if !keywords.is_match(&record.text) {
        return Ok(None);
    }
    let uri = format!("at://{}/app.bsky.feed.post/{}", event.did, commit.rkey);
    let created_at = record
        .created_at
        .as_deref()
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
        .map(|c| c.to_utc())
        .or_else(|| DateTime::<Utc>::from_timestamp_micros(event.time_us))
        .unwrap_or_else(Utc::now);
    Ok(Some(Post {
        id: format!("{source}:{uri}"),
        source: source.to_owned(),
        channel: "bluesky".into(),
        author: Author {
            // Jetstream names the account by DID only.
            handle: event.did.clone(),
            display_name: None,
            audience: None,
        },
        lang: record.langs.first().cloned(),
        url: Some(format!("https://bsky.app/profile/{}/post/{}", event.did, commit.rkey)),
        created_at,
        refs: Refs {
            reply_to: record.reply.as_ref().map(|r| r.parent.uri.clone()),
            quote_of: record.embed.as_ref().and_then(super::bluesky::quoted_uri),
            forward_of: None,
        },
        text: record.text,
        native_id: uri,
        ..Post::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> Event {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn keeps_created_posts_with_a_keyword_and_their_references() {
        let keywords = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(["harapan sehat"])
            .unwrap();
        let quote = event(serde_json::json!({
            "did": "did:plc:abc", "time_us": 1764489600000000i64, "kind": "commit",
            "commit": {"rev": "3l", "operation": "create", "collection": "app.bsky.feed.post", "rkey": "3kq",
              "record": {"$type": "app.bsky.feed.post", "text": "Ini juga terjadi di RS HARAPAN SEHAT",
                "createdAt": "2026-11-30T08:00:00.000Z", "langs": ["id"],
                "embed": {"$type": "app.bsky.embed.record", "record": {"uri": "at://did:plc:x/app.bsky.feed.post/1", "cid": "b"}}},
              "cid": "bafy"}
        }));
        let p = matching_post("js", &quote, &keywords).unwrap().unwrap();
        assert_eq!(p.id, "js:at://did:plc:abc/app.bsky.feed.post/3kq");
        assert_eq!(p.refs.quote_of.as_deref(), Some("at://did:plc:x/app.bsky.feed.post/1"));
        assert_eq!(p.lang.as_deref(), Some("id"));
        let mut other = quote;
        other.commit.as_mut().unwrap().record.as_mut().unwrap()["text"] = "nothing here".into();
        assert!(matching_post("js", &other, &keywords).unwrap().is_none());
        other.commit.as_mut().unwrap().operation = "delete".into();
        other.commit.as_mut().unwrap().record = None;
        assert!(matching_post("js", &other, &keywords).unwrap().is_none());
        other.commit.as_mut().unwrap().operation = "create".into();
        assert!(matching_post("js", &other, &keywords).is_err());
    }
}
