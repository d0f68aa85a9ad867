//! `[[sources]]`: one struct per connector type, with its defaults.

use super::Location;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub at: Location,
    pub kind: SourceKind,
}

/// What a webhook `mapping` may name: the line format's fields, and
/// `items`, where the array of pushed items is.
pub const MAPPED_FIELDS: &[&str] = &[
    "items",
    "id",
    "text",
    "subject",
    "lang",
    "channel",
    "author",
    "author_name",
    "followers",
    "url",
    "created_at",
    "reply_to",
    "quote_of",
    "forward_of",
];

/// Checks a source's options against each other; each problem as a sentence.
impl SourceKind {
    /// The files the source reads, each with how to name it before its
    /// path in an error (`""`: the input itself).
    pub fn files(&self) -> Vec<(&'static str, &std::path::Path)> {
        match self {
            SourceKind::Replay(r) => vec![("", &r.path)],
            SourceKind::Mbox(m) => vec![("", &m.path)],
            SourceKind::Imap(ImapConfig { ca_file: Some(f), .. })
            | SourceKind::Jetstream(JetstreamConfig { ca_file: Some(f), .. }) => vec![("ca_file ", f)],
            _ => Vec::new(),
        }
    }

    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut require = |ok: bool, problem: &str| {
            if !ok {
                out.push(problem.to_owned());
            }
        };
        match self {
            SourceKind::Mastodon(m) => {
                require(
                    !m.hashtags.is_empty() || !m.searches.is_empty() || m.mentions,
                    "nothing to follow: give hashtags, searches or mentions = true",
                );
                require(
                    m.token_env.is_some() || (m.searches.is_empty() && !m.mentions),
                    "searches and mentions need an access token (token_env)",
                );
            }
            SourceKind::Reddit(r) => {
                require(
                    !r.subreddits.is_empty() || !r.searches.is_empty(),
                    "nothing to follow: give subreddits or searches",
                );
                require(
                    r.client_id_env.is_some() == r.client_secret_env.is_some(),
                    "client_id_env and client_secret_env go together",
                );
            }
            SourceKind::Bluesky(b) => require(
                b.identifier_env.is_some() == b.password_env.is_some(),
                "identifier_env and password_env go together",
            ),
            SourceKind::Jetstream(j) => {
                require(
                    !j.keywords.is_empty(),
                    "keywords: none given; the firehose is every post on Bluesky",
                );
                require(
                    j.url.starts_with("ws://") || j.url.starts_with("wss://"),
                    "url: not a ws:// or wss:// address",
                );
            }
            SourceKind::Hyperkitty(h) => require(!h.lists.is_empty(), "lists: none given"),
            SourceKind::Webhook(w) => {
                if let Some(mapping) = &w.mapping {
                    for (field, pointer) in mapping {
                        if !MAPPED_FIELDS.contains(&field.as_str()) {
                            out.push(format!(
                                "mapping: `{field}` is not a post field (one of: {})",
                                MAPPED_FIELDS.join(", ")
                            ));
                        }
                        if !pointer.starts_with('/') {
                            out.push(format!("mapping.{field}: `{pointer}` is not a JSON pointer (\"/a/b\")"));
                        }
                    }
                    if !mapping.contains_key("id") || !mapping.contains_key("text") {
                        out.push("mapping: `id` and `text` are required".into());
                    }
                }
            }
            _ => {}
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    Replay(ReplayConfig),
    Kafka(KafkaSourceConfig),
    Mbox(MboxConfig),
    Feed(FeedConfig),
    Mastodon(MastodonConfig),
    Webhook(WebhookConfig),
    Reddit(RedditConfig),
    Bluesky(BlueskyConfig),
    Imap(ImapConfig),
    Discourse(DiscourseConfig),
    Jetstream(JetstreamConfig),
    Hyperkitty(HyperkittyConfig),
}

/// Mailman 3 list archives through HyperKitty's REST API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HyperkittyConfig {
    /// The Mailman web site's base URL (HyperKitty under `/hyperkitty`).
    pub url: String,
    /// The lists' addresses, e.g. `pasien@lists.rs.example`.
    pub lists: Vec<String>,
    /// The lists' members, when known: every message's audience.
    #[serde(default)]
    pub members: Option<u64>,
    #[serde(default = "default_poll_interval")]
    pub interval_secs: u64,
    #[serde(default)]
    pub once: bool,
    #[serde(default = "default_request_timeout")]
    pub timeout_secs: u64,
}

/// Bluesky's firehose through Jetstream (a WebSocket of JSON events),
/// filtered here by keywords.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JetstreamConfig {
    /// The subscribe endpoint (`ws://` or `wss://`).
    #[serde(default = "default_jetstream_url")]
    pub url: String,
    /// Names, handles, hashtags: a post containing any (case folded) is kept.
    pub keywords: Vec<String>,
    /// Seconds replayed on reconnect, so no event falls in the gap.
    #[serde(default = "default_rewind")]
    pub rewind_secs: u64,
    /// PEM certificates trusted besides the public roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds without a frame before the connection is taken as dead.
    #[serde(default = "default_jetstream_idle")]
    pub idle_secs: u64,
    /// Where a kept post's author is looked up (`app.bsky.actor.getProfile`:
    /// handle, name, followers); empty: authors stay DIDs.
    #[serde(default = "default_bluesky_service")]
    pub appview: String,
}

fn default_jetstream_url() -> String {
    "wss://jetstream2.us-east.bsky.network/subscribe".into()
}

fn default_rewind() -> u64 {
    5
}

fn default_jetstream_idle() -> u64 {
    60
}

/// A Discourse forum's latest posts (`/posts.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscourseConfig {
    /// The forum's base URL.
    pub url: String,
    /// The environment variable holding an API key (a private forum).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The user the API key acts as (default `system`).
    #[serde(default)]
    pub api_username: Option<String>,
    /// The forum's members, when known: every post's audience.
    #[serde(default)]
    pub members: Option<u64>,
    #[serde(default = "default_poll_interval")]
    pub interval_secs: u64,
    #[serde(default)]
    pub once: bool,
    #[serde(default = "default_request_timeout")]
    pub timeout_secs: u64,
}

/// A mailing list's mailbox on an IMAP server, read-only (EXAMINE and
/// BODY.PEEK: no flag ever changes), followed with IDLE where the server
/// offers it, polled otherwise.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    /// Default: 993 with `tls = "implicit"`, 143 otherwise.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: ImapTls,
    /// PEM certificates trusted besides the public roots (a hospital's own
    /// CA, a self-signed server).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    pub username: String,
    /// The environment variable holding the password.
    pub password_env: String,
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    #[serde(default = "default_email_channel")]
    pub channel: String,
    /// The list's members, when known: the audience of every message.
    #[serde(default)]
    pub members: Option<u64>,
    /// Reading a mailbox from its start (the first run, a renumbered
    /// mailbox), only messages that arrived in the last `since_days` days;
    /// 0 reads the whole mailbox.
    #[serde(default = "default_since_days")]
    pub since_days: u32,
    /// Wait for new mail with IDLE when the server offers it.
    #[serde(default = "yes")]
    pub idle: bool,
    /// Seconds between polls without IDLE, and between IDLE renewals
    /// (servers drop an IDLE after 30 minutes).
    #[serde(default = "default_imap_interval")]
    pub interval_secs: u64,
    #[serde(default)]
    pub once: bool,
    #[serde(default = "default_request_timeout")]
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImapTls {
    /// TLS from the first byte (IMAPS, port 993).
    #[default]
    Implicit,
    /// Plain connection upgraded with STARTTLS before login.
    Starttls,
    /// No TLS: only for a server on the same host.
    None,
}

fn default_since_days() -> u32 {
    30
}

fn default_mailbox() -> String {
    "INBOX".into()
}

fn default_imap_interval() -> u64 {
    300
}

/// Bluesky post search (`app.bsky.feed.searchPosts`), newest first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskyConfig {
    /// Search queries: names, handles, hashtags.
    pub queries: Vec<String>,
    /// Where the XRPC calls go: the public AppView, or the account's PDS
    /// when signed in.
    #[serde(default = "default_bluesky_service")]
    pub service: String,
    /// The environment variables holding a handle and an app password;
    /// both or neither.
    #[serde(default)]
    pub identifier_env: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default = "default_poll_interval")]
    pub interval_secs: u64,
    #[serde(default = "default_reddit_limit")]
    pub limit: u32,
    #[serde(default)]
    pub once: bool,
    #[serde(default = "default_request_timeout")]
    pub timeout_secs: u64,
}

fn default_bluesky_service() -> String {
    "https://public.api.bsky.app".into()
}

/// Subreddits' new posts and comments, polled over Reddit's OAuth API as
/// an application (client credentials).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedditConfig {
    #[serde(default)]
    pub subreddits: Vec<String>,
    /// Site-wide searches (`/search`, newest first, posts).
    #[serde(default)]
    pub searches: Vec<String>,
    /// The environment variables holding the app's client id and secret;
    /// both or neither (without: the public JSON listings, at Reddit's
    /// lower rate limit).
    #[serde(default)]
    pub client_id_env: Option<String>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Read comments too, not only new posts.
    #[serde(default = "yes")]
    pub comments: bool,
    /// Default: `https://oauth.reddit.com` signed in, else `https://www.reddit.com`.
    #[serde(default)]
    pub api: Option<String>,
    #[serde(default = "default_reddit_token_url")]
    pub token_url: String,
    #[serde(default = "default_poll_interval")]
    pub interval_secs: u64,
    /// Items a page (Reddit's most is 100).
    #[serde(default = "default_reddit_limit")]
    pub limit: u32,
    #[serde(default)]
    pub once: bool,
    #[serde(default = "default_request_timeout")]
    pub timeout_secs: u64,
}

fn yes() -> bool {
    true
}

fn default_reddit_token_url() -> String {
    "https://www.reddit.com/api/v1/access_token".into()
}

fn default_poll_interval() -> u64 {
    120
}

fn default_reddit_limit() -> u32 {
    100
}

/// An HTTP endpoint other systems push posts to. It answers 2xx only once
/// what it received is durable.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub listen: SocketAddr,
    /// Generic posts: one JSON object (the replay line format) or an array.
    #[serde(default = "default_webhook_path")]
    pub path: String,
    /// The environment variable holding the bearer token generic pushes
    /// must carry; none: no token asked.
    #[serde(default)]
    pub token_env: Option<String>,
    /// The Meta (Facebook page) webhook, when set.
    #[serde(default)]
    pub meta: Option<MetaWebhookConfig>,
    /// Generic pushes in the pusher's own JSON: each line-format field
    /// (`id`, `text`, `author`, `created_at`…) read at a JSON pointer of
    /// the pushed item (`/form/message`); `items`: where the array of
    /// items is in the body. None: the body is in the line format.
    #[serde(default)]
    pub mapping: Option<std::collections::BTreeMap<String, String>>,
    /// Larger bodies are refused with 413.
    #[serde(default = "default_webhook_body")]
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaWebhookConfig {
    #[serde(default = "default_meta_path")]
    pub path: String,
    /// The environment variable holding the app secret that signs pushes
    /// (X-Hub-Signature-256).
    pub app_secret_env: String,
    /// The environment variable holding the verify token of the GET handshake.
    pub verify_token_env: String,
}

fn default_webhook_path() -> String {
    "/hooks/posts".into()
}

fn default_meta_path() -> String {
    "/hooks/meta".into()
}

fn default_webhook_body() -> usize {
    1 << 20
}

/// Mastodon hashtag timelines, polled over the REST API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonConfig {
    /// The instance's base URL, e.g. `https://mastodon.social`.
    pub instance: String,
    /// Hashtags to follow (with or without `#`).
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// Full-text searches (`/api/v2/search`, statuses; needs a token).
    #[serde(default)]
    pub searches: Vec<String>,
    /// The account's mentions (notifications of type `mention`; needs a token).
    #[serde(default)]
    pub mentions: bool,
    /// Follow the streaming API (server-sent events) rather than polling;
    /// REST catches up on every (re)connect.
    #[serde(default)]
    pub streaming: bool,
    /// Where the streaming API is, when not on the instance's own address.
    #[serde(default)]
    pub streaming_url: Option<String>,
    /// The environment variable holding an access token, if the instance
    /// needs one.
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default = "default_mastodon_interval")]
    pub interval_secs: u64,
    /// Statuses a page (the API allows up to 40).
    #[serde(default = "default_mastodon_limit")]
    pub limit: u32,
    /// Poll until every hashtag answered once, then finish (for tests).
    #[serde(default)]
    pub once: bool,
    #[serde(default = "default_request_timeout")]
    pub timeout_secs: u64,
}

fn default_mastodon_interval() -> u64 {
    60
}

fn default_mastodon_limit() -> u32 {
    40
}

/// An RSS or Atom feed (a news site's readers' letters, an alert service),
/// polled with ETag and If-Modified-Since; entries de-duplicated by their id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    pub url: String,
    /// Seconds between polls.
    #[serde(default = "default_feed_interval")]
    pub interval_secs: u64,
    #[serde(default = "default_feed_channel")]
    pub channel: String,
    /// Poll until one answer arrives, then finish (for replays and tests).
    #[serde(default)]
    pub once: bool,
    /// Seconds a request may take.
    #[serde(default = "default_request_timeout")]
    pub timeout_secs: u64,
}

fn default_feed_interval() -> u64 {
    300
}

fn default_feed_channel() -> String {
    "news".into()
}

fn default_request_timeout() -> u64 {
    20
}

/// A mailing list's archive: an mbox file, or every `*.mbox` file of a
/// directory in name order. Finite.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MboxConfig {
    pub path: PathBuf,
    #[serde(default = "default_email_channel")]
    pub channel: String,
    /// The list's members, when known: the audience of every message.
    #[serde(default)]
    pub members: Option<u64>,
}

fn default_email_channel() -> String {
    "email".into()
}

/// Posts from a Kafka topic that other systems produce to, one JSON object
/// a message in the replay line format (read leniently), as one member of
/// a consumer group. Offsets are stored only once a post's effects are
/// durable, so a crash replays and the replay is harmless.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    #[serde(default = "default_posts_topic")]
    pub topic: String,
    /// The consumer group: processes with one group share the partitions.
    #[serde(default = "default_group")]
    pub group: String,
    /// Channel for posts that name none.
    #[serde(default = "default_kafka_channel")]
    pub channel: String,
    /// Passed to librdkafka as they are (TLS, SASL, tuning).
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
    /// The environment variable holding `sasl.password`.
    #[serde(default)]
    pub password_env: Option<String>,
}

fn default_posts_topic() -> String {
    "earshot.posts".into()
}

fn default_group() -> String {
    "earshot".into()
}

fn default_kafka_channel() -> String {
    "kafka".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    /// A JSON lines file, or a directory of `*.jsonl` files read in name order.
    pub path: PathBuf,
    /// Posts per second; 0 reads as fast as the pipeline takes them.
    #[serde(default)]
    pub rate: f64,
    /// Channel for posts whose line names none.
    #[serde(default = "default_replay_channel")]
    pub channel: String,
    /// Read lines as `earshot score` does: unknown fields ignored, a line
    /// that is not JSON taken as plain text, a missing id replaced by the
    /// line number, a missing time one minute after the line before (input
    /// order is time order). Off: a line with an unknown field or no id is
    /// malformed, and a missing time is the time of reading.
    #[serde(default)]
    pub lenient: bool,
}

fn default_replay_channel() -> String {
    "replay".into()
}
