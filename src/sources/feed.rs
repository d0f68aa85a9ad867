//! RSS and Atom: a news site's readers' letters, an alert service's feed.
//! Polled every `interval_secs` with `If-None-Match` (ETag) and
//! `If-Modified-Since`; a 304 costs nothing. Entries are de-duplicated by
//! their id (RSS guid, Atom id), never by date: feeds re-date entries. A
//! 429 waits for its `Retry-After`, a 5xx, a timeout or a refused
//! connection back off exponentially with jitter, and a body that is not a
//! feed is counted as malformed and logged with the URL; the source keeps
//! going in every case.
//!
//! Cursor: `{"etag", "modified", "seen": [ids]}` (the last 1,000 ids). An
//! entry's position holds the ids up to it; the validators move only with
//! the last entry of a poll, so a crash in the middle fetches the whole feed
//! again and the ids skip what was done.

use super::{Pacing, SourceContext, SourceResult};
use crate::config::FeedConfig;
use crate::post::{Author, Post};
use crate::retry::{Fetched, fetch};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

const KEEP_SEEN: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Position {
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    seen: VecDeque<String>,
}

/// Text from feed HTML: tags dropped, the common entities read.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A feed entry as a post of `source`.
pub fn to_post(source: &str, channel: &str, entry: &feed_rs::model::Entry) -> Post {
    let text_of = |t: &feed_rs::model::Text| {
        if t.content_type.subty() == "html" {
            strip_html(&t.content)
        } else {
            t.content.trim().to_owned()
        }
    };
    let body = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(strip_html)
        .or_else(|| entry.summary.as_ref().map(text_of))
        .unwrap_or_default();
    Post {
        id: format!("{source}:{}", entry.id),
        source: source.to_owned(),
        channel: channel.to_owned(),
        native_id: entry.id.clone(),
        author: Author {
            handle: entry
                .authors
                .first()
                .and_then(|a| a.name.clone().or(a.email.clone()))
                .unwrap_or_else(|| "unknown".into()),
            display_name: None,
            audience: None,
        },
        subject: entry.title.as_ref().map(text_of),
        text: body,
        url: entry.links.first().map(|l| l.href.clone()),
        created_at: entry.published.or(entry.updated).unwrap_or_else(chrono::Utc::now),
        ..Post::default()
    }
}

pub async fn run(config: FeedConfig, ctx: SourceContext) -> SourceResult {
    let mut position: Position = match &ctx.resume {
        Some(p) => serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?,
        None => Position::default(),
    };
    let client = crate::retry::client(config.timeout_secs).map_err(|e| ctx.fail(e))?;
    let mut pacing = Pacing::new(config.interval_secs, config.once);
    loop {
        if !poll(&config, &ctx, &client, &mut position, &mut pacing).await || !pacing.rest(&ctx.stop).await {
            return Ok(());
        }
    }
}

/// One conditional GET and the entries it brought; false once stopped.
async fn poll(
    config: &FeedConfig,
    ctx: &SourceContext,
    client: &reqwest::Client,
    position: &mut Position,
    pacing: &mut Pacing,
) -> bool {
    let mut req = client.get(&config.url);
    if let Some(etag) = &position.etag {
        req = req.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    if let Some(modified) = &position.modified {
        req = req.header(reqwest::header::IF_MODIFIED_SINCE, modified);
    }
    let (body, headers) = match fetch(ctx, "feed", req, |_| None).await {
        Fetched::Got(Some(body), headers) => (body, headers),
        Fetched::Got(None, _) => return true, // 304: nothing new
        Fetched::Wait(after) => {
            pacing.failed(after);
            return true;
        }
        Fetched::Unauthorized => {
            pacing.failed(Duration::ZERO);
            return true;
        }
    };
    let header = |name: reqwest::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let etag = header(reqwest::header::ETAG);
    let modified = header(reqwest::header::LAST_MODIFIED);
    let feed = match feed_rs::parser::parse(&body[..]) {
        Ok(f) => f,
        Err(e) => {
            ctx.malformed(&config.url, &format!("not a feed: {e}"));
            pacing.failed(Duration::ZERO);
            return true;
        }
    };
    let mut entries: Vec<_> = feed
        .entries
        .iter()
        .filter(|e| !e.id.is_empty() && !position.seen.contains(&e.id))
        .collect();
    entries.sort_by_key(|e| e.published.or(e.updated));
    let last = entries.len();
    let mut next = position.clone();
    if last == 0 {
        // Nothing new: keep the validators for the next poll.
        next.etag = etag;
        next.modified = modified;
        *position = next;
        return ctx
            .emit(None, serde_json::to_string(&position).expect("positions serialize"))
            .await;
    }
    for (i, entry) in entries.into_iter().enumerate() {
        next.seen.push_back(entry.id.clone());
        while next.seen.len() > KEEP_SEEN {
            next.seen.pop_front();
        }
        if i + 1 == last {
            next.etag.clone_from(&etag);
            next.modified.clone_from(&modified);
        }
        let cursor = serde_json::to_string(&next).expect("positions serialize");
        if !ctx.emit(Some(to_post(&ctx.name, &config.channel, entry)), cursor).await {
            return false;
        }
    }
    *position = next;
    true
}
