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
use crate::post::{Ack, Envelope};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Position {
    file: String,
    message: u64,
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
                    Ok(m) => crate::email::to_post(
                        &ctx.name,
                        &config.channel,
                        config.members,
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
                let post = ctx.accept(post, || place, &position);
                let envelope = Envelope::new(post, Ack::new(&ctx.name, position));
                if ctx.out.blocking_send(envelope).is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    });
    handle.await.map_err(|e| ctx.fail(format!("reader: {e}")))?
}
