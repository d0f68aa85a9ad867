//! Mailman 3 list archives through HyperKitty's REST API: for each list,
//! `GET /hyperkitty/api/list/LIST/emails/` (newest archived first, paged
//! with `next`), then each new message's detail for its text (`content`).
//! Messages are posts of channel `email`: forwards and quotes inside are
//! taken apart like any email's; a reply names its parent, so a thread's
//! complaints meet in one incident; the list's `members` are the audience.
//!
//! The listing has no "since" filter, so what was read is remembered by
//! `message_id_hash` (the newest few hundred of each list); pages are
//! followed while a whole page is new. The first poll reads the newest page.
//! A private list's archive needs a signed-in member: not read here.
//!
//! Cursor: `{"lists": {LIST: [hash, …]}}`, newest last.

use super::{Pacing, SourceContext, SourceResult};
use crate::config::HyperkittyConfig;
use crate::post::{Author, Post, Refs};
use crate::retry::{Fetched, get_json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Older pages followed in one poll at most.
const MAX_PAGES: usize = 10;
/// Hashes remembered per list: more than a busy list archives between polls.
const REMEMBERED: usize = 500;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Position {
    #[serde(default)]
    lists: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    next: Option<String>,
    results: Vec<serde_json::Value>,
}

/// A listed message (the short form).
#[derive(Debug, Deserialize)]
struct Listed {
    url: String,
    message_id_hash: String,
}

/// A message's detail.
#[derive(Debug, Deserialize)]
pub struct Email {
    pub message_id: String,
    pub message_id_hash: String,
    #[serde(default)]
    pub sender: Option<Sender>,
    #[serde(default)]
    pub sender_name: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    pub date: DateTime<Utc>,
    /// The parent message's detail URL (ends in its hash).
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub content: String,
}

#[derive(Debug, Deserialize)]
pub struct Sender {
    /// Obfuscated by the archive: `name (a) example.org`.
    #[serde(default)]
    pub address: Option<String>,
}

/// The hash a message detail URL ends in.
fn hash_of(url: &str) -> Option<String> {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
}

/// An archived message as a post of `source`.
pub fn to_post(source: &str, list: &str, members: Option<u64>, base: &str, email: &Email) -> Option<Post> {
    if email.content.trim().is_empty() && email.subject.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return None;
    }
    let address = email
        .sender
        .as_ref()
        .and_then(|s| s.address.as_deref())
        .map(|a| a.replace(" (a) ", "@"));
    Some(Post {
        id: format!("{source}:{}", email.message_id_hash),
        source: source.to_owned(),
        channel: "email".into(),
        native_id: email.message_id_hash.clone(),
        author: Author {
            handle: address
                .or_else(|| email.sender_name.clone())
                .unwrap_or_else(|| "unknown".into()),
            display_name: email.sender_name.clone().filter(|n| !n.is_empty()),
            audience: members,
        },
        subject: email.subject.clone().filter(|s| !s.is_empty()),
        text: email.content.clone(),
        url: Some(format!(
            "{base}/hyperkitty/list/{list}/message/{}/",
            email.message_id_hash
        )),
        created_at: email.date,
        refs: Refs {
            reply_to: email.parent.as_deref().and_then(hash_of),
            quote_of: None,
            forward_of: None,
        },
        ..Post::default()
    })
}

pub async fn run(config: HyperkittyConfig, ctx: SourceContext) -> SourceResult {
    let mut position: Position = match &ctx.resume {
        Some(p) => serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?,
        None => Position::default(),
    };
    let client = crate::retry::client(config.timeout_secs).map_err(|e| ctx.fail(e))?;
    let base = config.url.trim_end_matches('/').to_owned();
    let mut pacing = Pacing::new(config.interval_secs, config.once);
    loop {
        for list in &config.lists {
            let seen = position.lists.get(list).cloned().unwrap_or_default();
            let first_poll = !position.lists.contains_key(list);
            let mut fresh: Vec<Listed> = Vec::new();
            let mut url = format!("{base}/hyperkitty/api/list/{}/emails/", super::percent_encode(list));
            for _ in 0..MAX_PAGES {
                let page = match get_json::<Page>(&ctx, "hyperkitty", client.get(&url), |_| None).await {
                    Fetched::Got(p, _) => p,
                    Fetched::Wait(after) => {
                        pacing.failed(after);
                        break;
                    }
                    Fetched::Unauthorized => {
                        return Err(ctx.fail(format!("{url}: 401; a private list's archive is not read")));
                    }
                };
                let listed = page.results.len();
                let new: Vec<Listed> = page
                    .results
                    .into_iter()
                    .filter_map(|v| ctx.item::<Listed>(v, &url))
                    .filter(|l| !seen.contains(&l.message_id_hash))
                    .collect();
                let whole_page_new = listed > 0 && new.len() == listed;
                fresh.extend(new);
                match page.next {
                    Some(next) if whole_page_new && !first_poll => url = next,
                    _ => break,
                }
            }
            // Oldest archived first.
            fresh.reverse();
            let mut remembered = seen;
            for listed in fresh {
                let email = match get_json::<Email>(&ctx, "hyperkitty", client.get(&listed.url), |_| None).await {
                    Fetched::Got(e, _) => Some(e),
                    Fetched::Wait(after) => {
                        // The rest waits for the next poll: the cursor stops before it.
                        pacing.failed(after);
                        break;
                    }
                    Fetched::Unauthorized => None,
                };
                remembered.push(listed.message_id_hash.clone());
                if remembered.len() > REMEMBERED {
                    remembered.drain(..remembered.len() - REMEMBERED);
                }
                position.lists.insert(list.clone(), remembered.clone());
                let post = email.and_then(|e| to_post(&ctx.name, list, config.members, &base, &e));
                let cursor = serde_json::to_string(&position).expect("positions serialize");
                if !ctx.emit(post, cursor).await {
                    return Ok(());
                }
            }
            position.lists.entry(list.clone()).or_insert(remembered);
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
    fn a_reply_names_its_parent_and_the_address_is_restored() {
        let email: Email = serde_json::from_value(serde_json::json!({
            "url": "https://lists.example/hyperkitty/api/list/pasien@lists.example/email/ABC/",
            "mailinglist": "https://lists.example/hyperkitty/api/list/pasien@lists.example/",
            "message_id": "r1@mail.example", "message_id_hash": "ABC",
            "thread": "https://lists.example/hyperkitty/api/list/pasien@lists.example/thread/T1/",
            "sender": {"address": "sari (a) mail.example", "mailman_id": "7f", "emails": null},
            "sender_name": "Sari", "subject": "Re: antrean", "date": "2026-05-04T08:00:00Z",
            "parent": "https://lists.example/hyperkitty/api/list/pasien@lists.example/email/PARENT/",
            "children": [], "votes": {"likes": 0, "dislikes": 0, "status": null}, "content": "Sama."
        }))
        .unwrap();
        let p = to_post("hk", "pasien@lists.example", Some(40), "https://lists.example", &email).unwrap();
        assert_eq!(p.author.handle, "sari@mail.example");
        assert_eq!(p.refs.reply_to.as_deref(), Some("PARENT"));
        assert_eq!(p.author.audience, Some(40));
    }
}
