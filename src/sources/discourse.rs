//! Discourse: a patient forum the provider runs (a diabetes or cancer
//! community), read through its API's latest posts (`GET /posts.json`,
//! newest first). Posts newer than the newest already read are kept; older
//! pages (`before=ID`) are followed while a whole page is new. Post ids
//! grow with time across the whole forum, so one number is the cursor.
//! A private forum takes an API key (`Api-Key`, `Api-Username` headers).
//!
//! Each post's `cooked` HTML is read as text; quotes of other posts
//! (`<aside class="quote">`) stay in the text, as a quoted email's do. A
//! reply names the post it answers (`reply_to_post_number`, else the
//! topic's first post), so a thread's complaints meet in one incident.
//! Deleted, hidden and moderator-action posts are skipped.
//!
//! Cursor: `{"post": ID}`.

use super::{Pacing, SourceContext, SourceResult};
use crate::config::DiscourseConfig;
use crate::post::{Author, Post, Refs};
use crate::retry::{Fetched, get_json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Older pages followed in one poll at most.
const MAX_PAGES: usize = 10;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Position {
    post: u64,
}

#[derive(Debug, Deserialize)]
struct Latest {
    latest_posts: Vec<serde_json::Value>,
}

/// The fields of a post earshot reads.
#[derive(Debug, Deserialize)]
pub struct ForumPost {
    pub id: u64,
    pub username: String,
    #[serde(default)]
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub cooked: String,
    pub post_number: u64,
    /// 1 regular, 2 moderator action, 3 small action, 4 whisper.
    #[serde(default = "regular")]
    pub post_type: u8,
    pub topic_id: u64,
    #[serde(default)]
    pub topic_slug: Option<String>,
    #[serde(default)]
    pub topic_title: Option<String>,
    #[serde(default)]
    pub reply_to_post_number: Option<u64>,
    #[serde(default)]
    pub deleted_at: Option<String>,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub user_deleted: bool,
}

fn regular() -> u8 {
    1
}

/// A forum post as a post of `source` (`None`: deleted, hidden, not a
/// regular post, or empty).
pub fn to_post(source: &str, base: &str, members: Option<u64>, p: &ForumPost) -> Option<Post> {
    if p.post_type != 1 || p.deleted_at.is_some() || p.hidden || p.user_deleted {
        return None;
    }
    let text = super::feed::strip_html(&p.cooked);
    if text.trim().is_empty() {
        return None;
    }
    let native_id = format!("{}/{}", p.topic_id, p.post_number);
    let slug = p.topic_slug.as_deref().unwrap_or("-");
    let answered = match p.reply_to_post_number {
        Some(n) => Some(n),
        None if p.post_number > 1 => Some(1),
        None => None,
    };
    Some(Post {
        id: format!("{source}:{native_id}"),
        source: source.to_owned(),
        channel: "forum".into(),
        native_id,
        author: Author {
            handle: format!("@{}", p.username),
            display_name: p.name.clone().filter(|n| !n.is_empty()),
            audience: members,
        },
        subject: p.topic_title.clone().filter(|_| p.post_number == 1),
        text,
        url: Some(format!("{base}/t/{slug}/{}/{}", p.topic_id, p.post_number)),
        created_at: p.created_at,
        refs: Refs {
            reply_to: answered.map(|n| format!("{}/{n}", p.topic_id)),
            quote_of: None,
            forward_of: None,
        },
        ..Post::default()
    })
}

pub async fn run(config: DiscourseConfig, ctx: SourceContext) -> SourceResult {
    let mut position: Position = match &ctx.resume {
        Some(p) => serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?,
        None => Position::default(),
    };
    let key = match &config.api_key_env {
        Some(var) => Some(ctx.secret(var, "the forum's API key")?),
        None => None,
    };
    let client = crate::retry::client(config.timeout_secs).map_err(|e| ctx.fail(e))?;
    let base = config.url.trim_end_matches('/').to_owned();
    let mut pacing = Pacing::new(config.interval_secs, config.once);
    loop {
        let mut fresh: Vec<ForumPost> = Vec::new();
        let mut before: Option<u64> = None;
        for _ in 0..MAX_PAGES {
            let url = match before {
                Some(b) => format!("{base}/posts.json?before={b}"),
                None => format!("{base}/posts.json"),
            };
            let mut request = client.get(&url);
            if let Some(key) = &key {
                request = request
                    .header("Api-Key", key)
                    .header("Api-Username", config.api_username.as_deref().unwrap_or("system"));
            }
            let (latest, _) = match get_json::<Latest>(&ctx, "discourse", request, |_| None).await {
                Fetched::Got(l, h) => (l, h),
                Fetched::Unauthorized => {
                    return Err(ctx.fail(format!("{base} refused the API key (401)")));
                }
                Fetched::Wait(after) => {
                    pacing.failed(after);
                    break;
                }
            };
            let page = latest.latest_posts.len();
            let new: Vec<ForumPost> = latest
                .latest_posts
                .into_iter()
                .filter_map(|v| ctx.item::<ForumPost>(v, &url))
                .filter(|p| p.id > position.post)
                .collect();
            let whole_page_new = page > 0 && new.len() == page;
            let oldest = new.iter().map(|p| p.id).min();
            fresh.extend(new);
            // The first poll starts from the newest page only.
            match oldest {
                Some(o) if whole_page_new && position.post > 0 => before = Some(o),
                _ => break,
            }
        }
        fresh.sort_by_key(|p| p.id);
        fresh.dedup_by_key(|p| p.id);
        for p in fresh {
            position.post = p.id;
            let cursor = serde_json::to_string(&position).expect("positions serialize");
            if !ctx.emit(to_post(&ctx.name, &base, config.members, &p), cursor).await {
                return Ok(());
            }
        }
        if !pacing.rest(&ctx.stop).await {
            return Ok(());
        }
    }
}
