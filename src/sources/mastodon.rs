//! Mastodon: hashtag timelines polled over the REST API
//! (`GET /api/v1/timelines/tag/:hashtag`), newer pages followed through the
//! `Link` header's `rel="prev"` (`min_id`), every `interval_secs`.
//!
//! Each status maps to a post: its id, url, `@acct` and follower count,
//! `in_reply_to_id`, its language, its content read as text (the content
//! warning as subject). A boost is a post of the booster whose text is the
//! boosted status and whose `forward_of` names it, so it joins the
//! incident of the original. A 429 waits for `Retry-After`; an exhausted
//! `X-RateLimit-Remaining` waits until `X-RateLimit-Reset`; a 5xx, a timeout
//! or a body that is not a status list backs off; the source keeps going.
//!
//! Cursor: `{"tags": {TAG: newest id}}`; a status's position holds its id.

pub mod stream;

use super::feed::strip_html;
use super::{Pacing, SourceContext, SourceResult};
use crate::config::MastodonConfig;
use crate::post::{Author, Post, Refs};
use crate::retry::{Fetched, get_json};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

const MAX_WAIT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    pub id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub spoiler_text: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub in_reply_to_id: Option<String>,
    pub account: Account,
    #[serde(default)]
    pub reblog: Option<Box<Status>>,
    #[serde(default)]
    pub edited_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub acct: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub followers_count: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub status: Option<Status>,
}

#[derive(Debug, Deserialize)]
struct SearchResults {
    #[serde(default)]
    statuses: Vec<Status>,
}

/// The newest id read of each feed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Position {
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    searches: BTreeMap<String, String>,
    /// The newest mention notification's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mentions: Option<String>,
}

/// One thing followed: a hashtag timeline, a search, the account's mentions.
#[derive(Debug, Clone, PartialEq)]
enum Feed {
    Tag(String),
    Search(String),
    Mentions,
}

impl Position {
    fn last(&self, feed: &Feed) -> Option<&String> {
        match feed {
            Feed::Tag(t) => self.tags.get(t),
            Feed::Search(q) => self.searches.get(q),
            Feed::Mentions => self.mentions.as_ref(),
        }
    }

    fn set(&mut self, feed: &Feed, id: String) {
        match feed {
            Feed::Tag(t) => {
                self.tags.insert(t.clone(), id);
            }
            Feed::Search(q) => {
                self.searches.insert(q.clone(), id);
            }
            Feed::Mentions => self.mentions = Some(id),
        }
    }
}

/// Mastodon ids are integers in strings: longer is newer.
fn newer(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// A status as a post of `source`.
pub fn to_post(source: &str, status: &Status) -> Post {
    let shown = status.reblog.as_deref().unwrap_or(status);
    Post {
        id: format!("{source}:{}", status.id),
        source: source.to_owned(),
        channel: "mastodon".into(),
        native_id: status.id.clone(),
        author: Author {
            handle: format!("@{}", status.account.acct),
            display_name: (!status.account.display_name.is_empty()).then(|| status.account.display_name.clone()),
            audience: status.account.followers_count,
        },
        subject: (!shown.spoiler_text.is_empty()).then(|| shown.spoiler_text.clone()),
        text: strip_html(&shown.content),
        lang: shown.language.clone(),
        url: status.url.clone().or(status.uri.clone()).or(shown.url.clone()),
        created_at: status.created_at,
        refs: Refs {
            reply_to: shown.in_reply_to_id.clone(),
            quote_of: None,
            forward_of: status.reblog.as_ref().map(|r| r.id.clone()),
        },
        ..Post::default()
    }
}

/// The `rel="prev"` URL of a `Link` header: the page of newer statuses.
pub fn prev_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"prev\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

/// How long the rate-limit headers ask to wait before the next request.
fn rate_limit_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if value("x-ratelimit-remaining")?.trim() != "0" {
        return None;
    }
    let reset = chrono::DateTime::parse_from_rfc3339(value("x-ratelimit-reset")?.trim()).ok()?;
    let secs = (reset.to_utc() - chrono::Utc::now()).num_milliseconds().max(0) as u64;
    Some(Duration::from_millis(secs).min(MAX_WAIT))
}

enum Page {
    /// (feed id, status) pairs, oldest first, and the URL of newer ones.
    Got(Vec<(String, Status)>, Option<String>),
    Wait(Duration),
}

/// What followed accounts earshot reads: the instance, its client, a token.
struct Reader<'a> {
    config: &'a MastodonConfig,
    ctx: &'a SourceContext,
    client: reqwest::Client,
    token: Option<String>,
    base: String,
    position: Position,
}

impl Reader<'_> {
    fn feeds(&self) -> Vec<Feed> {
        let tags = self
            .config
            .hashtags
            .iter()
            .map(|t| Feed::Tag(t.trim_start_matches('#').to_owned()));
        let searches = self.config.searches.iter().map(|q| Feed::Search(q.clone()));
        let mentions = self.config.mentions.then_some(Feed::Mentions);
        tags.chain(searches).chain(mentions).collect()
    }

    /// The first page of `feed` newer than what was read.
    fn first_url(&self, feed: &Feed) -> String {
        let (base, limit) = (&self.base, self.config.limit);
        let mut url = match feed {
            Feed::Tag(tag) => format!("{base}/api/v1/timelines/tag/{tag}?limit={limit}"),
            Feed::Search(q) => format!(
                "{base}/api/v2/search?type=statuses&resolve=false&limit={limit}&q={}",
                super::percent_encode(q)
            ),
            Feed::Mentions => format!("{base}/api/v1/notifications?types%5B%5D=mention&limit={limit}"),
        };
        if let Some(min) = self.position.last(feed) {
            url.push_str(&format!("&min_id={min}"));
        }
        url
    }

    async fn page(&self, feed: &Feed, url: &str) -> Page {
        let mut req = self.client.get(url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let (items, headers) = match feed {
            Feed::Tag(_) => match get_json::<Vec<Status>>(self.ctx, "mastodon", req, rate_limit_wait).await {
                Fetched::Got(statuses, h) => (statuses.into_iter().map(|s| (s.id.clone(), s)).collect::<Vec<_>>(), h),
                Fetched::Wait(after) => return Page::Wait(after),
                Fetched::Unauthorized => return Page::Wait(Duration::ZERO),
            },
            Feed::Search(_) => match get_json::<SearchResults>(self.ctx, "mastodon", req, rate_limit_wait).await {
                Fetched::Got(found, h) => (found.statuses.into_iter().map(|s| (s.id.clone(), s)).collect(), h),
                Fetched::Wait(after) => return Page::Wait(after),
                Fetched::Unauthorized => return Page::Wait(Duration::ZERO),
            },
            Feed::Mentions => match get_json::<Vec<Notification>>(self.ctx, "mastodon", req, rate_limit_wait).await {
                Fetched::Got(notes, h) => (
                    notes
                        .into_iter()
                        .filter(|n| n.kind == "mention")
                        .filter_map(|n| Some((n.id, n.status?)))
                        .collect(),
                    h,
                ),
                Fetched::Wait(after) => return Page::Wait(after),
                Fetched::Unauthorized => return Page::Wait(Duration::ZERO),
            },
        };
        let mut items: Vec<(String, Status)> = items;
        // Search answers carry no Link header: one page a poll.
        let next = headers
            .get(reqwest::header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(prev_link);
        items.sort_by(|a, b| (a.0.len(), &a.0).cmp(&(b.0.len(), &b.0)));
        if let Some(p) = rate_limit_wait(&headers) {
            tokio::time::sleep(p).await;
        }
        Page::Got(items, next)
    }

    /// Reads every feed up to now over REST; false once the source stops.
    async fn catch_up(&mut self, pacing: &mut Pacing) -> bool {
        for feed in self.feeds() {
            let mut url = self.first_url(&feed);
            loop {
                match self.page(&feed, &url).await {
                    Page::Wait(after) => {
                        pacing.failed(after);
                        break;
                    }
                    Page::Got(items, next) => {
                        let last = self.position.last(&feed).cloned();
                        let fresh: Vec<(String, Status)> = items
                            .into_iter()
                            .filter(|(id, _)| last.as_ref().is_none_or(|l| newer(id, l)))
                            .collect();
                        if fresh.is_empty() {
                            break;
                        }
                        for (id, status) in fresh {
                            if !self.hand_on(&feed, id, &status).await {
                                return false;
                            }
                        }
                        match next {
                            Some(n) => url = n,
                            None => break,
                        }
                    }
                }
            }
        }
        true
    }

    /// Emits `status`, read as `id` of `feed`, unless it is not newer.
    async fn hand_on(&mut self, feed: &Feed, id: String, status: &Status) -> bool {
        if self.position.last(feed).is_some_and(|l| !newer(&id, l)) {
            return true;
        }
        self.position.set(feed, id);
        let cursor = serde_json::to_string(&self.position).expect("positions serialize");
        self.ctx.emit(Some(to_post(&self.ctx.name, status)), cursor).await
    }
}

pub async fn run(config: MastodonConfig, ctx: SourceContext) -> SourceResult {
    let position: Position = match &ctx.resume {
        Some(p) => serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?,
        None => Position::default(),
    };
    let token = match &config.token_env {
        Some(var) => Some(ctx.secret(var, "the token")?),
        None => None,
    };
    let mut reader = Reader {
        client: crate::retry::client(config.timeout_secs).map_err(|e| ctx.fail(e))?,
        base: config.instance.trim_end_matches('/').to_owned(),
        config: &config,
        ctx: &ctx,
        token,
        position,
    };
    if config.streaming {
        return stream::follow(&mut reader).await;
    }
    let mut pacing = Pacing::new(config.interval_secs, config.once);
    loop {
        if !reader.catch_up(&mut pacing).await || !pacing.rest(&ctx.stop).await {
            return Ok(());
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_ids() {
        let link = "<https://m.example/api/v1/timelines/tag/x?max_id=100>; rel=\"next\", <https://m.example/api/v1/timelines/tag/x?min_id=105>; rel=\"prev\"";
        assert_eq!(
            prev_link(link).as_deref(),
            Some("https://m.example/api/v1/timelines/tag/x?min_id=105")
        );
        assert_eq!(prev_link("<https://m.example/x?max_id=1>; rel=\"next\""), None);
        assert!(newer("110", "99") && newer("111", "110") && !newer("99", "110"));
    }
}
