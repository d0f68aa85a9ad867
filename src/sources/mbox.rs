//! Mbox: a mailing list's archive, one file or a directory of `*.mbox` files
//! read in name order. Each message is decoded with mail-parser (see
//! `email::parse_mime`) into a post of channel `email`: its Message-ID is
//! its id, In-Reply-To and References link it to the messages it answers,
//! and the list's `members` are its audience. Forwards and quotes are taken
//! apart by the normalize stage like any email. Finite.
//!
//! Cursor: `{"file": NAME, "message": N}`, the number of messages of that
//! file whose effects are durable: a restart skips them.

use super::{SourceContext, SourceResult};
use crate::config::MboxConfig;
use crate::post::{Ack, Author, Envelope, Post, Refs};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Position {
    file: String,
    message: u64,
}

/// One archived message as a post of `source`.
pub fn to_post(source: &str, config: &MboxConfig, raw: &[u8], place: &str, archived: i64) -> Result<Post, String> {
    let mail = crate::email::parse_mime(raw).ok_or("not a mail message")?;
    if mail.text.trim().is_empty() && mail.subject.is_none() {
        return Err("a message without text or subject".into());
    }
    let native_id = mail.message_id.clone().unwrap_or_else(|| place.to_owned());
    let created_at = mail
        .date
        .as_deref()
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.to_utc())
        .or_else(|| DateTime::<Utc>::from_timestamp(archived, 0))
        .unwrap_or_else(Utc::now);
    Ok(Post {
        id: format!("{source}:{native_id}"),
        source: source.to_owned(),
        channel: config.channel.clone(),
        native_id,
        provider: None,
        author: Author {
            handle: mail.from.unwrap_or_else(|| "unknown".into()),
            display_name: mail.from_name,
            audience: config.members,
        },
        subject: mail.subject,
        text: mail.text,
        lang: None,
        lang_confidence: 0.0,
        url: None,
        created_at,
        refs: Refs {
            reply_to: mail.references.into_iter().next(),
            quote_of: None,
            forward_of: None,
        },
        ..Post::default()
    })
}

pub async fn run(config: MboxConfig, ctx: SourceContext) -> SourceResult {
    let files =
        super::replay::files(&config.path, "mbox").map_err(|e| ctx.fail(format!("{}: {e}", config.path.display())))?;
    let resume: Option<Position> = match &ctx.resume {
        Some(p) => Some(serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?),
        None => None,
    };
    // Reading and decoding are blocking work: off the async threads.
    let worker_ctx = ctx.clone();
    let handle = tokio::task::spawn_blocking(move || -> SourceResult {
        let ctx = worker_ctx;
        let received = ctx.metrics.received.with_label_values(&[&ctx.name]);
        let malformed = ctx.metrics.dropped.with_label_values(&["malformed"]);
        for (name, path) in files {
            let skip = match &resume {
                Some(r) if name < r.file => continue,
                Some(r) if name == r.file => r.message,
                _ => 0,
            };
            let file = std::fs::File::open(&path).map_err(|e| ctx.fail(format!("{}: {e}", path.display())))?;
            let messages = mail_parser::mailbox::mbox::MessageIterator::new(std::io::BufReader::new(file));
            for (i, message) in messages.enumerate() {
                let n = i as u64 + 1;
                if n <= skip {
                    continue;
                }
                if ctx.stop.is_cancelled() {
                    return Ok(());
                }
                let place = format!("{}#{n}", path.display());
                let post = match message {
                    Ok(m) => to_post(
                        &ctx.name,
                        &config,
                        m.contents(),
                        &format!("{name}#{n}"),
                        m.internal_date() as i64,
                    ),
                    Err(e) => Err(e.to_string()),
                };
                let position = serde_json::to_string(&Position {
                    file: name.clone(),
                    message: n,
                })
                .expect("positions serialize");
                let post = match post {
                    Ok(mut p) => {
                        received.inc();
                        p.cursor.clone_from(&position);
                        Some(p)
                    }
                    Err(e) => {
                        malformed.inc();
                        tracing::warn!(source = %ctx.name, at = %place, error = %e, "malformed message skipped");
                        None
                    }
                };
                let envelope = Envelope {
                    post,
                    ack: Ack::new(&ctx.name, position),
                };
                if ctx.out.blocking_send(envelope).is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    });
    handle.await.map_err(|e| ctx.fail(format!("reader: {e}")))?
}
