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
}

#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub acct: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub followers_count: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Position {
    #[serde(default)]
    tags: BTreeMap<String, String>,
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
    /// Statuses, oldest first, and the URL of newer ones.
    Got(Vec<Status>, Option<String>),
    Wait(Duration),
}

async fn get(ctx: &SourceContext, client: &reqwest::Client, url: &str, token: Option<&str>) -> Page {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let (mut statuses, headers) = match get_json::<Vec<Status>>(ctx, "mastodon", req, rate_limit_wait).await {
        Fetched::Got(statuses, headers) => (statuses, headers),
        Fetched::Wait(after) => return Page::Wait(after),
        Fetched::Unauthorized => return Page::Wait(Duration::ZERO),
    };
    let next = headers
        .get(reqwest::header::LINK)
        .and_then(|v| v.to_str().ok())
        .and_then(prev_link);
    statuses.sort_by(|a, b| (a.id.len(), &a.id).cmp(&(b.id.len(), &b.id)));
    if let Some(p) = rate_limit_wait(&headers) {
        tokio::time::sleep(p).await;
    }
    Page::Got(statuses, next)
}

pub async fn run(config: MastodonConfig, ctx: SourceContext) -> SourceResult {
    let mut position: Position = match &ctx.resume {
        Some(p) => serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?,
        None => Position::default(),
    };
    let token = match &config.token_env {
        Some(var) => Some(ctx.secret(var, "the token")?),
        None => None,
    };
    let client = crate::retry::client(config.timeout_secs).map_err(|e| ctx.fail(e))?;
    let base = config.instance.trim_end_matches('/').to_owned();
    let mut pacing = Pacing::new(config.interval_secs, config.once);
    loop {
        for tag in &config.hashtags {
            let tag = tag.trim_start_matches('#').to_owned();
            let mut url = format!("{base}/api/v1/timelines/tag/{tag}?limit={}", config.limit);
            if let Some(min) = position.tags.get(&tag) {
                url.push_str(&format!("&min_id={min}"));
            }
            loop {
                match get(&ctx, &client, &url, token.as_deref()).await {
                    Page::Wait(after) => {
                        pacing.failed(after);
                        break;
                    }
                    Page::Got(statuses, next) => {
                        let fresh: Vec<Status> = statuses
                            .into_iter()
                            .filter(|s| position.tags.get(&tag).is_none_or(|last| newer(&s.id, last)))
                            .collect();
                        if fresh.is_empty() {
                            break;
                        }
                        for status in fresh {
                            position.tags.insert(tag.clone(), status.id.clone());
                            let cursor = serde_json::to_string(&position).expect("positions serialize");
                            if !ctx.emit(Some(to_post(&ctx.name, &status)), cursor).await {
                                return Ok(());
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
        if !pacing.rest(&ctx.stop).await {
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
