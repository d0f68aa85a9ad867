//! Bluesky: post search (`app.bsky.feed.searchPosts`, `sort=latest`) for
//! each configured query, every `interval_secs`.
//!
//! Unsigned, the calls go to the public AppView; with a handle and an app
//! password (`identifier_env`, `password_env`) the source opens a session
//! on its PDS (`com.atproto.server.createSession`) and searches through it,
//! opening a new one hourly or when a 401 says the old one is gone.
//! Results come newest first; what was indexed after the newest hit already
//! read is kept (`since` narrows the search; hits at the same instant are
//! told apart by URI), and older pages are followed (`cursor`) while a
//! whole page is new. `RateLimit-Remaining`/`Reset` and 429 `Retry-After`
//! are honoured; errors back off and the source keeps going.
//!
//! Each hit maps to a post whose id is its `at://` URI: a reply names its
//! parent, a quote the quoted post, so a quote joins the quoted complaint.
//!
//! Cursor: `{"queries": {QUERY: {"newest": INDEXED_AT, "seen": [URI…]}}}`.

use super::{Pacing, SourceContext, SourceResult};
use crate::config::BlueskyConfig;
use crate::post::{Author, Post, Refs};
use crate::retry::{Fetched, get_json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const MAX_WAIT: Duration = Duration::from_secs(900);
const MAX_PAGES: usize = 5;
/// Sessions are opened anew this often (access tokens live about two hours).
const SESSION_LIFE: Duration = Duration::from_secs(3600);

#[derive(Debug, Deserialize)]
struct SearchAnswer {
    #[serde(default)]
    cursor: Option<String>,
    /// Read hit by hit, so one odd hit is skipped, not the page.
    #[serde(default)]
    posts: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostView {
    pub uri: String,
    pub author: ProfileView,
    pub record: Record,
    pub indexed_at: DateTime<Utc>,
    #[serde(default)]
    pub embed: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub handle: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub langs: Vec<String>,
    #[serde(default)]
    pub reply: Option<ReplyRef>,
    #[serde(default)]
    pub embed: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct ReplyRef {
    pub parent: StrongRef,
}

#[derive(Debug, Deserialize)]
pub struct StrongRef {
    pub uri: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Mark {
    newest: Option<DateTime<Utc>>,
    #[serde(default)]
    seen: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Position {
    #[serde(default)]
    queries: BTreeMap<String, Mark>,
}

impl Mark {
    fn is_new(&self, hit: &PostView) -> bool {
        match self.newest {
            None => true,
            Some(t) => hit.indexed_at > t || (hit.indexed_at == t && !self.seen.contains(&hit.uri)),
        }
    }

    fn advance(&mut self, hit: &PostView) {
        if self.newest != Some(hit.indexed_at) {
            self.newest = Some(hit.indexed_at);
            self.seen.clear();
        }
        self.seen.push(hit.uri.clone());
    }
}

/// The URI a record quotes: `app.bsky.embed.record`, or the record part of
/// `app.bsky.embed.recordWithMedia`.
pub fn quoted_uri(embed: &Value) -> Option<String> {
    let record = embed.get("record")?;
    let uri = record
        .get("uri")
        .or_else(|| record.get("record").and_then(|r| r.get("uri")))?;
    uri.as_str().map(str::to_owned)
}

/// A search hit as a post of `source`.
pub fn to_post(source: &str, hit: &PostView) -> Post {
    let rkey = hit.uri.rsplit('/').next().unwrap_or_default();
    let created_at = hit
        .record
        .created_at
        .as_deref()
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
        .map_or(hit.indexed_at, |c| c.to_utc());
    Post {
        id: format!("{source}:{}", hit.uri),
        source: source.to_owned(),
        channel: "bluesky".into(),
        native_id: hit.uri.clone(),
        author: Author {
            handle: format!("@{}", hit.author.handle),
            display_name: hit.author.display_name.clone().filter(|n| !n.is_empty()),
            audience: None,
        },
        text: hit.record.text.clone(),
        lang: hit.record.langs.first().cloned(),
        url: Some(format!("https://bsky.app/profile/{}/post/{rkey}", hit.author.handle)),
        created_at,
        refs: Refs {
            reply_to: hit.record.reply.as_ref().map(|r| r.parent.uri.clone()),
            quote_of: hit.record.embed.as_ref().and_then(quoted_uri),
            forward_of: None,
        },
        ..Post::default()
    }
}

/// `RateLimit-Reset` is a Unix time.
fn rate_limit_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if value("ratelimit-remaining")?.trim() != "0" {
        return None;
    }
    let reset: i64 = value("ratelimit-reset")?.trim().parse().ok()?;
    let secs = (reset - Utc::now().timestamp()).max(0) as u64;
    Some(Duration::from_secs(secs).min(MAX_WAIT))
}

struct Session {
    identifier: String,
    password: String,
    access: Option<(String, Instant)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionAnswer {
    access_jwt: String,
}

async fn access(ctx: &SourceContext, client: &reqwest::Client, service: &str, s: &mut Session) -> Option<String> {
    if let Some((jwt, opened)) = &s.access
        && opened.elapsed() < SESSION_LIFE
    {
        return Some(jwt.clone());
    }
    let request = client
        .post(format!("{service}/xrpc/com.atproto.server.createSession"))
        .json(&serde_json::json!({ "identifier": s.identifier, "password": s.password }));
    match get_json::<SessionAnswer>(ctx, "bluesky sign-in", request, rate_limit_wait).await {
        Fetched::Got(answer, _) => {
            s.access = Some((answer.access_jwt.clone(), Instant::now()));
            Some(answer.access_jwt)
        }
        Fetched::Wait(_) | Fetched::Unauthorized => None,
    }
}

pub async fn run(config: BlueskyConfig, ctx: SourceContext) -> SourceResult {
    let mut position: Position = match &ctx.resume {
        Some(p) => serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?,
        None => Position::default(),
    };
    let mut session = match (&config.identifier_env, &config.password_env) {
        (Some(id), Some(pw)) => Some(Session {
            identifier: ctx.secret(id, "the Bluesky handle")?,
            password: ctx.secret(pw, "the Bluesky app password")?,
            access: None,
        }),
        (None, None) => None,
        _ => return Err(ctx.fail("identifier_env and password_env go together")),
    };
    let client = crate::retry::client(config.timeout_secs).map_err(|e| ctx.fail(e))?;
    let service = config.service.trim_end_matches('/').to_owned();
    let mut pacing = Pacing::new(config.interval_secs, config.once);
    loop {
        'queries: for query in &config.queries {
            let mark = position.queries.get(query).cloned().unwrap_or_default();
            let mut fresh: Vec<PostView> = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let mut params: Vec<(&str, String)> = vec![
                    ("q", query.clone()),
                    ("sort", "latest".into()),
                    ("limit", config.limit.to_string()),
                ];
                if let Some(t) = mark.newest {
                    params.push(("since", t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
                }
                if let Some(c) = &cursor {
                    params.push(("cursor", c.clone()));
                }
                let mut request = client
                    .get(format!("{service}/xrpc/app.bsky.feed.searchPosts"))
                    .query(&params);
                if let Some(s) = session.as_mut() {
                    match access(&ctx, &client, &service, s).await {
                        Some(jwt) => request = request.bearer_auth(jwt),
                        None => {
                            pacing.failed(Duration::ZERO);
                            break 'queries;
                        }
                    }
                }
                let (answer, headers) = match get_json::<SearchAnswer>(&ctx, "bluesky", request, rate_limit_wait).await
                {
                    Fetched::Got(a, h) => (a, h),
                    Fetched::Unauthorized => {
                        if let Some(s) = session.as_mut() {
                            s.access = None;
                        }
                        pacing.failed(Duration::ZERO);
                        break 'queries;
                    }
                    Fetched::Wait(after) => {
                        pacing.failed(after);
                        break 'queries;
                    }
                };
                let page = answer.posts.len();
                let new: Vec<PostView> = answer
                    .posts
                    .into_iter()
                    .filter_map(|v| ctx.item::<PostView>(v, &format!("search {query}")))
                    .filter(|hit| mark.is_new(hit))
                    .collect();
                let whole_page_new = page > 0 && new.len() == page;
                fresh.extend(new);
                if let Some(p) = rate_limit_wait(&headers) {
                    tokio::time::sleep(p).await;
                }
                match answer.cursor {
                    Some(c) if whole_page_new && mark.newest.is_some() => cursor = Some(c),
                    _ => break,
                }
            }
            fresh.sort_by(|a, b| (a.indexed_at, &a.uri).cmp(&(b.indexed_at, &b.uri)));
            fresh.dedup_by(|a, b| a.uri == b.uri);
            for hit in fresh {
                position.queries.entry(query.clone()).or_default().advance(&hit);
                let cursor = serde_json::to_string(&position).expect("positions serialize");
                if !ctx.emit(Some(to_post(&ctx.name, &hit)), cursor).await {
                    return Ok(());
                }
            }
        }
        if !pacing.rest(&ctx.stop).await {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(uri: &str, at: &str) -> PostView {
        serde_json::from_value(serde_json::json!({
            "uri": uri, "cid": "bafy", "indexedAt": at,
            "author": {"did": "did:plc:x", "handle": "dewi.bsky.social", "displayName": "Dewi"},
            "record": {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": at, "langs": ["id"],
                       "reply": {"root": {"uri": "at://r", "cid": "c"}, "parent": {"uri": "at://p", "cid": "c"}},
                       "embed": {"$type": "app.bsky.embed.recordWithMedia",
                                 "record": {"record": {"uri": "at://q", "cid": "c"}}, "media": {}}}
        }))
        .unwrap()
    }

    #[test]
    fn hits_map_and_marks_tell_new_from_seen() {
        let a = hit("at://did:plc:x/app.bsky.feed.post/3kabc", "2026-11-30T10:00:00.000Z");
        let p = to_post("bs", &a);
        assert_eq!(
            p.url.as_deref(),
            Some("https://bsky.app/profile/dewi.bsky.social/post/3kabc")
        );
        assert_eq!(p.refs.reply_to.as_deref(), Some("at://p"));
        assert_eq!(p.refs.quote_of.as_deref(), Some("at://q"));
        assert_eq!(p.lang.as_deref(), Some("id"));
        let mut mark = Mark::default();
        assert!(mark.is_new(&a));
        mark.advance(&a);
        assert!(!mark.is_new(&a));
        let same_instant = hit("at://did:plc:x/app.bsky.feed.post/3kabd", "2026-11-30T10:00:00.000Z");
        assert!(mark.is_new(&same_instant));
        let older = hit("at://did:plc:x/app.bsky.feed.post/3kaaa", "2026-11-30T09:00:00.000Z");
        assert!(!mark.is_new(&older));
    }
}
