//! The one `Post` type every connector maps its wire format to, and the
//! envelope that carries a post through the pipeline with its acknowledgement.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// A post, message or comment from any channel, after the connector's edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// Globally unique: `{source}:{native_id}`.
    pub id: String,
    /// The configured source name it came from.
    pub source: String,
    /// The network or medium: `email`, `mastodon`, `reddit`, `forum`, ...
    pub channel: String,
    /// The id the network gave it.
    pub native_id: String,
    /// The provider it is about, set by the relevance stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderMatch>,
    pub author: Author,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub text: String,
    /// ISO 639-1 code, from the input or the language stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// How sure the language stage was, 0–1 (1 when the input said so).
    #[serde(default)]
    pub lang_confidence: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub refs: Refs,
    /// The original a forward or quoting reply carries (the innermost one),
    /// set by the normalize stage: what near-duplicate detection reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<String>,
    /// The senders a forwarded message's headers name, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hops: Vec<crate::email::Hop>,
    /// The source position this post was read at (opaque to all but its
    /// source): where an operator finds it again, and what its `Ack` commits.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cursor: String,
    /// Lowercased, whitespace-folded subject and text, filled by the
    /// normalize stage so later stages do not redo it.
    #[serde(skip)]
    pub norm: String,
    /// The words of `norm`, also filled by the normalize stage.
    #[serde(skip)]
    pub words: Vec<crate::text::Word>,
    /// SHA-256 (hex) of the subject and text as received, and when: set by
    /// the normalize stage before it changes anything.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
    #[serde(default = "now")]
    pub captured_at: DateTime<Utc>,
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

impl Default for Post {
    /// An empty post: what a connector fills in, field by field, leaving
    /// the stages' fields (`norm`, `words`, `quoted`, `hops`, `digest`) to them.
    fn default() -> Self {
        Post {
            id: String::new(),
            source: String::new(),
            channel: String::new(),
            native_id: String::new(),
            provider: None,
            author: Author::default(),
            subject: None,
            text: String::new(),
            lang: None,
            lang_confidence: 0.0,
            url: None,
            created_at: DateTime::UNIX_EPOCH,
            refs: Refs::default(),
            quoted: None,
            hops: Vec::new(),
            cursor: String::new(),
            norm: String::new(),
            words: Vec::new(),
            digest: String::new(),
            captured_at: Utc::now(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Author {
    pub handle: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Followers, subscribers or list members where the network says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<u64>,
}

/// Native ids of the posts this one answers, quotes or forwards.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Refs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_of: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderMatch {
    pub id: String,
    /// The name, handle or hashtag that matched, as configured.
    pub matched: String,
}

/// Where a source stands after a post: what it stores to resume from there.
/// Opaque to everything but the source that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub source: String,
    pub position: String,
}

/// Acknowledgement of one position in a source. The committer stores the
/// cursor in the same transaction as everything derived from the post, then
/// fires `on_durable` (a webhook receiver answers its client only then).
#[derive(Debug)]
pub struct Ack {
    pub cursor: Cursor,
    pub on_durable: Option<oneshot::Sender<()>>,
    /// The posts-topic partition it came from, in a consumer-group member.
    pub partition: Option<i32>,
}

impl Ack {
    /// Each source's newest position among `acks` (in order): what to store.
    pub fn newest_cursors<'a>(acks: impl IntoIterator<Item = &'a Ack>) -> Vec<(String, String)> {
        let mut cursors: Vec<(String, String)> = Vec::new();
        for ack in acks {
            let c = &ack.cursor;
            match cursors.iter_mut().find(|(s, _)| *s == c.source) {
                Some(entry) => entry.1.clone_from(&c.position),
                None => cursors.push((c.source.clone(), c.position.clone())),
            }
        }
        cursors
    }

    /// Tells each ack's waiter (a webhook client, a Kafka offset) that its
    /// post is durable.
    pub fn fire_all(acks: Vec<Ack>) {
        for ack in acks {
            if let Some(durable) = ack.on_durable {
                let _ = durable.send(());
            }
        }
    }

    pub fn new(source: &str, position: String) -> Self {
        Ack {
            cursor: Cursor {
                source: source.to_owned(),
                position,
            },
            on_durable: None,
            partition: None,
        }
    }
}

/// A post on its way through the pipeline with its acknowledgement.
/// `post` is `None` for a position the source passed without a usable post
/// (a malformed line): the cursor must still move past it, in order.
#[derive(Debug)]
pub struct Envelope {
    pub post: Option<Post>,
    pub ack: Ack,
    /// What became of a post read earlier (deleted, edited), to record on
    /// its incident.
    pub change: Option<PostChange>,
    /// A consumer-group member's partitions coming or going, in order with
    /// their posts.
    pub control: Option<crate::group::Control>,
}

impl Envelope {
    pub fn new(post: Option<Post>, ack: Ack) -> Self {
        Envelope {
            post,
            ack,
            change: None,
            control: None,
        }
    }

    /// A control message: no post, no position.
    pub fn control(control: crate::group::Control) -> Self {
        Envelope {
            post: None,
            ack: Ack::new("", String::new()),
            change: None,
            control: Some(control),
        }
    }
}

/// A post the network says was deleted or edited after it was read. Its
/// incident keeps the copy it captured (the evidence); the change goes on
/// the incident's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostChange {
    /// The post's id (`{source}:{native_id}`).
    pub post_id: String,
    pub at: DateTime<Utc>,
    /// `None`: deleted; `Some`: the edited text.
    pub edited: Option<String>,
}
