//! Reddit: subreddits' new posts (`/r/SUB/new`) and comments
//! (`/r/SUB/comments`), polled over the OAuth API every `interval_secs`.
//!
//! The app signs in with client credentials (`POST token_url`, HTTP basic
//! auth, `grant_type=client_credentials`) and signs in again when the token
//! expires or a 401 says so. Listings come newest first; what is newer than
//! the newest item already read is kept, and older pages are followed
//! (`after`) while a whole page is new. Ids are base-36 and grow with time,
//! so they order items even when one is deleted (a `before` cursor would
//! stall on it). `X-Ratelimit-Remaining`/`Reset` and 429 `Retry-After` are
//! honoured; errors back off with jitter and the source keeps going.
//!
//! Each item maps to a post whose id is its fullname (`t3_…` posts,
//! `t1_…` comments): a comment replies to its `parent_id`, a crosspost
//! forwards its `crosspost_parent`, so they join the original's incident.
//!
//! Cursor: `{"feeds": {"SUB/new": ID, "SUB/comments": ID}}`.

use super::{Pacing, SourceContext, SourceResult};
use crate::config::RedditConfig;
use crate::post::{Author, Post, Refs};
use crate::retry::{Fetched, get_json};
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const MAX_WAIT: Duration = Duration::from_secs(900);
/// Older pages followed in one poll at most.
const MAX_PAGES: usize = 5;

#[derive(Debug, Deserialize)]
pub struct Listing {
    pub data: ListingData,
}

#[derive(Debug, Deserialize)]
pub struct ListingData {
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub children: Vec<Thing>,
}

#[derive(Debug, Deserialize)]
pub struct Thing {
    pub kind: String,
    /// Read item by item, so one odd item is skipped, not the page.
    pub data: serde_json::Value,
}

/// The fields of a post (`t3`) or a comment (`t1`) earshot reads.
#[derive(Debug, Deserialize)]
pub struct Item {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub author: Option<String>,
    pub created_utc: f64,
    #[serde(default)]
    pub permalink: Option<String>,
    #[serde(default)]
    pub subreddit: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub selftext: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub link_title: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub crosspost_parent: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Position {
    #[serde(default)]
    feeds: BTreeMap<String, String>,
}

/// Base-36 ids: longer is newer, then by digits.
fn newer(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// An item as a post of `source`; `None` for what has no text to read
/// (a link post without a title, a removed comment).
pub fn to_post(source: &str, item: &Item) -> Option<Post> {
    let comment = item.name.starts_with("t1_");
    let text = if comment {
        item.body
            .clone()
            .filter(|b| !matches!(b.as_str(), "" | "[removed]" | "[deleted]"))?
    } else {
        match item.selftext.as_deref() {
            Some(s) if !s.is_empty() && s != "[removed]" && s != "[deleted]" => s.to_owned(),
            _ => item.title.clone().filter(|t| !t.is_empty())?,
        }
    };
    let subject = if comment {
        item.link_title.clone()
    } else {
        item.title.clone()
    };
    Some(Post {
        id: format!("{source}:{}", item.name),
        source: source.to_owned(),
        channel: "reddit".into(),
        native_id: item.name.clone(),
        author: Author {
            handle: format!("u/{}", item.author.as_deref().unwrap_or("[deleted]")),
            display_name: None,
            audience: None,
        },
        subject: subject.filter(|s| s != &text),
        text,
        url: item
            .permalink
            .as_ref()
            .map(|p| format!("https://www.reddit.com{p}"))
            .or(item.url.clone()),
        created_at: DateTime::from_timestamp(item.created_utc as i64, 0).unwrap_or_default(),
        refs: Refs {
            reply_to: item.parent_id.clone().filter(|_| comment),
            quote_of: None,
            forward_of: item.crosspost_parent.clone(),
        },
        ..Post::default()
    })
}

/// Reddit sends `X-Ratelimit-Remaining` as a float and `-Reset` in seconds.
fn rate_limit_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let remaining: f64 = value("x-ratelimit-remaining")?.trim().parse().ok()?;
    if remaining >= 1.0 {
        return None;
    }
    let reset: u64 = value("x-ratelimit-reset")?.trim().parse().ok()?;
    Some(Duration::from_secs(reset).min(MAX_WAIT))
}

struct Session {
    client: reqwest::Client,
    /// The app's client id and secret; none: the public listings.
    app: Option<(String, String)>,
    token_url: String,
    token: Option<(String, Instant)>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Session {
    /// A valid token (`Some(None)` without an app: public listings),
    /// signing in when there is none or it ran out; `None` when signing in
    /// failed.
    async fn token(&mut self, ctx: &SourceContext) -> Option<Option<String>> {
        let Some((id, secret)) = &self.app else {
            return Some(None);
        };
        if let Some((t, until)) = &self.token
            && Instant::now() < *until
        {
            return Some(Some(t.clone()));
        }
        let request = self
            .client
            .post(&self.token_url)
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")]);
        match get_json::<TokenAnswer>(ctx, "reddit sign-in", request, rate_limit_wait).await {
            Fetched::Got(answer, _) => {
                // Renewed a minute early, so a request never carries a token
                // that expires on the way.
                let life = Duration::from_secs(answer.expires_in.unwrap_or(3600).saturating_sub(60).max(1));
                self.token = Some((answer.access_token.clone(), Instant::now() + life));
                Some(Some(answer.access_token))
            }
            Fetched::Wait(_) | Fetched::Unauthorized => None,
        }
    }
}

/// A listing followed: its key in the cursor, its path, its query.
struct Feed {
    key: String,
    path: String,
    query: String,
}

fn feeds(config: &RedditConfig) -> Vec<Feed> {
    let kinds: &[&str] = if config.comments {
        &["new", "comments"]
    } else {
        &["new"]
    };
    let mut feeds = Vec::new();
    for sub in &config.subreddits {
        let sub = sub.trim_start_matches("r/");
        for kind in kinds {
            feeds.push(Feed {
                key: format!("{sub}/{kind}"),
                path: format!("/r/{sub}/{kind}"),
                query: String::new(),
            });
        }
    }
    for q in &config.searches {
        let q = super::percent_encode(q);
        feeds.push(Feed {
            key: format!("search:{q}"),
            path: "/search".into(),
            query: format!("&q={q}&sort=new&type=link"),
        });
    }
    feeds
}

pub async fn run(config: RedditConfig, ctx: SourceContext) -> SourceResult {
    let mut position: Position = match &ctx.resume {
        Some(p) => serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?,
        None => Position::default(),
    };
    let app = match (&config.client_id_env, &config.client_secret_env) {
        (Some(id), Some(secret)) => Some((
            ctx.secret(id, "the app's client id")?,
            ctx.secret(secret, "the app's client secret")?,
        )),
        (None, None) => None,
        _ => return Err(ctx.fail("client_id_env and client_secret_env go together")),
    };
    // Signed in, the OAuth host; otherwise the public site's `.json` listings.
    let (default_api, suffix) = match app {
        Some(_) => ("https://oauth.reddit.com", ""),
        None => ("https://www.reddit.com", ".json"),
    };
    let api = config
        .api
        .as_deref()
        .unwrap_or(default_api)
        .trim_end_matches('/')
        .to_owned();
    let mut session = Session {
        client: crate::retry::client(config.timeout_secs).map_err(|e| ctx.fail(e))?,
        app,
        token_url: config.token_url.clone(),
        token: None,
    };
    let mut pacing = Pacing::new(config.interval_secs, config.once);
    loop {
        'feeds: for Feed { key: feed, path, query } in feeds(&config) {
            let last = position.feeds.get(&feed).cloned();
            let mut fresh: Vec<Item> = Vec::new();
            let mut after: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let Some(token) = session.token(&ctx).await else {
                    pacing.failed(Duration::ZERO);
                    break 'feeds;
                };
                let mut url = format!("{api}{path}{suffix}?limit={}&raw_json=1{query}", config.limit);
                if let Some(a) = &after {
                    url.push_str(&format!("&after={a}"));
                }
                let mut request = session.client.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let (listing, headers) = match get_json::<Listing>(&ctx, "reddit", request, rate_limit_wait).await {
                    Fetched::Got(l, h) => (l, h),
                    Fetched::Unauthorized => {
                        // A revoked or expired token: sign in afresh.
                        session.token = None;
                        pacing.failed(Duration::ZERO);
                        break 'feeds;
                    }
                    Fetched::Wait(after) => {
                        pacing.failed(after);
                        break 'feeds;
                    }
                };
                let page = listing.data.children.len();
                let new: Vec<Item> = listing
                    .data
                    .children
                    .into_iter()
                    .filter(|t| t.kind == "t1" || t.kind == "t3")
                    .filter_map(|t| ctx.item::<Item>(t.data, &feed))
                    .filter(|i| last.as_deref().is_none_or(|l| newer(&i.id, l)))
                    .collect();
                let whole_page_new = new.len() == page && page > 0;
                fresh.extend(new);
                if let Some(p) = rate_limit_wait(&headers) {
                    tokio::time::sleep(p).await;
                }
                // The first poll starts from the newest page only.
                match listing.data.after {
                    Some(a) if whole_page_new && last.is_some() => after = Some(a),
                    _ => break,
                }
            }
            fresh.sort_by(|a, b| (a.id.len(), &a.id).cmp(&(b.id.len(), &b.id)));
            fresh.dedup_by(|a, b| a.id == b.id);
            for item in fresh {
                position.feeds.insert(feed.clone(), item.id.clone());
                let cursor = serde_json::to_string(&position).expect("positions serialize");
                if !ctx.emit(to_post(&ctx.name, &item), cursor).await {
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

    #[test]
    fn ids_order_by_length_then_digits() {
        assert!(newer("1h2k3z", "1h2k3y") && newer("10000a", "zzzzz") && !newer("a1", "a2"));
    }

    #[test]
    fn comments_reply_and_crossposts_forward() {
        let comment: Item = serde_json::from_value(serde_json::json!({
            "id": "k9x", "name": "t1_k9x", "author": "sari", "created_utc": 1764489600.0,
            "permalink": "/r/indonesia/comments/abc/x/k9x/", "body": "Sama, rekam medis ditolak.",
            "link_title": "RS Harapan Sehat", "parent_id": "t3_abc"
        }))
        .unwrap();
        let p = to_post("rd", &comment).unwrap();
        assert_eq!(p.id, "rd:t1_k9x");
        assert_eq!(p.refs.reply_to.as_deref(), Some("t3_abc"));
        assert_eq!(
            p.url.as_deref(),
            Some("https://www.reddit.com/r/indonesia/comments/abc/x/k9x/")
        );
        let removed: Item = serde_json::from_value(serde_json::json!({
            "id": "k9y", "name": "t1_k9y", "created_utc": 1.0, "body": "[removed]"
        }))
        .unwrap();
        assert!(to_post("rd", &removed).is_none());
        let cross: Item = serde_json::from_value(serde_json::json!({
            "id": "abd", "name": "t3_abd", "created_utc": 1.0, "title": "Look at this",
            "selftext": "", "crosspost_parent": "t3_abc"
        }))
        .unwrap();
        let p = to_post("rd", &cross).unwrap();
        assert_eq!(p.refs.forward_of.as_deref(), Some("t3_abc"));
        assert_eq!(p.text, "Look at this");
        assert_eq!(p.subject, None);
    }
}
