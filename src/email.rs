//! Email: MIME decoding, and seeing through forwards and quotes.
//!
//! A complaint spreads as forwards: each list adds a line or two ("tolong
//! sebarkan", "hati-hati dengan RS ini") above a forwarded block, in the
//! style of whichever mail client the sender used, and quoting nests deeper
//! with every hop. `split` peels that apart: the innermost original (the
//! complaint itself: what near-duplicate detection fingerprints), the
//! comments each hop added (scored with it: a "please share" raises risk),
//! and the hops the forward headers name. Signatures and legal disclaimers
//! are dropped; they are neither complaint nor comment.
//!
//! `parse_mime` decodes a raw message with `mail-parser` (charsets,
//! quoted-printable, base64, multipart, HTML-only bodies, messages forwarded
//! as attachments) into the plain text `split` reads.

use crate::post::{Author, Post, Refs};
use chrono::{DateTime, Utc};
use regex::Regex;
use std::sync::LazyLock;

/// A hop a forwarded message passed through, from its forward headers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hop {
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// A message taken apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// What the senders added, outermost first, one paragraph block each.
    pub comments: Vec<String>,
    /// The innermost forwarded or quoted original, unquoted, when the
    /// message carries one.
    pub original: Option<String>,
    /// The senders the forward headers name, outermost first.
    pub hops: Vec<Hop>,
}

impl Split {
    /// The clean text to score: the comments, then the original.
    pub fn text(&self) -> String {
        let mut parts: Vec<&str> = self.comments.iter().map(String::as_str).collect();
        if let Some(o) = &self.original {
            parts.push(o);
        }
        parts.join("\n\n")
    }
}

/// Lines that open a forwarded or quoted message, in the styles of Gmail,
/// Outlook, Apple Mail, Thunderbird and their Indonesian translations.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            -{2,}\s*(?:forwarded\ message|original\ message|pesan\ terusan|pesan\ yang\ diteruskan|pesan\ asli|pesan\ diteruskan)\s*-{2,}
          | -{2,}\s*(?:forwarded\ message|pesan\ terusan)\b.*
          | begin\ forwarded\ message:?
          | awal\ pesan\ yang\ diteruskan:?
          | _{10,}
          | on\ .{4,200}\ wrote:
          | pada\ .{4,200}\ menulis:
        )\s*$",
    )
    .expect("a valid separator pattern")
});

/// Header lines at the top of a forwarded block.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(from|dari|date|tanggal|sent|dikirim|subject|subjek|perihal|to|kepada|cc|reply-to)\s*:\s*(.*)$",
    )
    .expect("a valid header pattern")
});

/// The start of a signature or a device footer: nothing after it is the
/// sender's message.
static SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(--\s*|sent from my .*|dikirim dari .*|get outlook for .*|diketik dari .*)$")
        .expect("a valid signature pattern")
});

/// Paragraphs that are legal boilerplate, not anybody's words.
static DISCLAIMER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?is)(confidential|intended (solely )?for the (use of the )?(named )?(addressee|recipient)|disclaimer|rahasia.{0,80}(ditujukan|penerima)|ditujukan hanya untuk)",
    )
    .expect("a valid disclaimer pattern")
});

/// Whether `text` may hold a forward or a quote: a cheap test, so that the
/// pipeline parses only those posts.
pub fn may_quote(text: &str) -> bool {
    text.contains('\n')
        && (text.contains("\n>")
            || text.starts_with('>')
            || text.contains("--")
            || text.contains("___")
            || text.contains(':'))
}

/// The quote depth of a line and the line without its quote marks.
fn unquote(line: &str) -> (usize, &str) {
    let mut depth = 0;
    let mut rest = line;
    loop {
        let t = rest.trim_start_matches([' ', '\t']);
        match t.strip_prefix('>') {
            Some(r) => {
                depth += 1;
                rest = r.strip_prefix(' ').unwrap_or(r);
            }
            None => return (depth, if depth == 0 { line } else { rest }),
        }
    }
}

/// One block of a message: the lines between two separators.
struct Block<'a> {
    lines: Vec<&'a str>,
}

impl Block<'_> {
    /// The forward headers at its top (and where its body starts).
    fn headers(&self) -> (Option<Hop>, usize) {
        let mut hop = Hop {
            from: String::new(),
            subject: None,
            date: None,
        };
        let mut i = 0;
        while i < self.lines.len() && self.lines[i].trim().is_empty() {
            i += 1;
        }
        let mut seen = false;
        while let Some(c) = self.lines.get(i).and_then(|l| HEADER.captures(l)) {
            seen = true;
            let value = c[2].trim().to_owned();
            match c[1].to_ascii_lowercase().as_str() {
                "from" | "dari" => hop.from = value,
                "subject" | "subjek" | "perihal" => hop.subject = Some(value),
                "date" | "tanggal" | "sent" | "dikirim" => hop.date = Some(value),
                _ => {}
            }
            i += 1;
        }
        ((seen && !hop.from.is_empty()).then_some(hop), if seen { i } else { 0 })
    }

    /// Its body: headers, signature and disclaimers removed, quote marks
    /// gone, paragraphs kept.
    fn body(&self, from: usize) -> String {
        let mut lines: Vec<&str> = Vec::new();
        for line in &self.lines[from..] {
            if SIGNATURE.is_match(line.trim_end()) {
                break;
            }
            lines.push(line.trim_end());
        }
        let text = lines.join("\n");
        text.split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty() && !DISCLAIMER.is_match(p))
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

/// Takes a message's plain text apart (see the module doc).
pub fn split(text: &str) -> Split {
    let text = text.replace("\r\n", "\n");
    let quoted: Vec<(usize, &str)> = text.lines().map(unquote).collect();
    let separators = quoted.iter().filter(|(_, l)| SEPARATOR.is_match(l)).count();
    if separators == 0 {
        return split_quotes(&quoted);
    }
    let mut blocks: Vec<Block> = vec![Block { lines: Vec::new() }];
    for (_, line) in &quoted {
        if SEPARATOR.is_match(line) {
            blocks.push(Block { lines: Vec::new() });
        } else {
            blocks.last_mut().expect("one block at least").lines.push(line);
        }
    }
    let mut out = Split::default();
    let last = blocks.len() - 1;
    for (i, block) in blocks.iter().enumerate() {
        let (hop, start) = if i == 0 { (None, 0) } else { block.headers() };
        out.hops.extend(hop);
        let body = block.body(start);
        if i == last {
            out.original = (!body.is_empty()).then_some(body);
        } else if !body.is_empty() {
            out.comments.push(body);
        }
    }
    if out.original.is_none() {
        // A separator with nothing under it: the comments are all there is.
        out.original = out.comments.pop();
    }
    out
}

/// A reply that quotes without a separator line: the deepest quoted lines
/// are the original, the unquoted ones the comment.
fn split_quotes(quoted: &[(usize, &str)]) -> Split {
    let deepest = quoted.iter().map(|(d, _)| *d).max().unwrap_or(0);
    let block = |depth: usize| Block {
        lines: quoted.iter().filter(|(d, _)| *d == depth).map(|(_, l)| *l).collect(),
    };
    let comment = block(0).body(0);
    if deepest == 0 {
        return Split {
            comments: Vec::new(),
            original: (!comment.is_empty()).then_some(comment),
            hops: Vec::new(),
        };
    }
    let mut comments: Vec<String> = (0..deepest)
        .map(|d| block(d).body(0))
        .filter(|b| !b.is_empty())
        .collect();
    let original = block(deepest).body(0);
    if original.is_empty() {
        return Split {
            original: comments.pop(),
            comments,
            hops: Vec::new(),
        };
    }
    Split {
        comments,
        original: Some(original),
        hops: Vec::new(),
    }
}

/// A raw RFC 5322 message, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mail {
    pub message_id: Option<String>,
    /// The sender's address (or name, when it has no address).
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub subject: Option<String>,
    /// RFC 3339.
    pub date: Option<String>,
    /// Message ids this one answers or forwards (In-Reply-To, References).
    pub references: Vec<String>,
    /// The plain-text body; a message forwarded as an attachment follows
    /// it as a forwarded block, so that `split` sees it.
    pub text: String,
}

/// One mailing-list message as a post of `source`: its Message-ID is its
/// id (`place`, where the message is, when it has none), In-Reply-To and
/// References link it to the messages it answers, the list's `members` are
/// its audience, and `received` (Unix seconds) stands in for a missing Date.
pub fn to_post(
    source: &str,
    channel: &str,
    members: Option<u64>,
    raw: &[u8],
    place: &str,
    received: i64,
) -> Result<Post, String> {
    let mail = parse_mime(raw).ok_or("not a mail message")?;
    if mail.text.trim().is_empty() && mail.subject.is_none() {
        return Err("a message without text or subject".into());
    }
    let native_id = mail.message_id.clone().unwrap_or_else(|| place.to_owned());
    let created_at = mail
        .date
        .as_deref()
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.to_utc())
        .or_else(|| DateTime::<Utc>::from_timestamp(received, 0))
        .unwrap_or_else(Utc::now);
    Ok(Post {
        id: format!("{source}:{native_id}"),
        source: source.to_owned(),
        channel: channel.to_owned(),
        native_id,
        provider: None,
        author: Author {
            handle: mail.from.unwrap_or_else(|| "unknown".into()),
            display_name: mail.from_name,
            audience: members,
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

/// Decodes a raw message; `None` when it is not a message at all.
pub fn parse_mime(raw: &[u8]) -> Option<Mail> {
    let message = mail_parser::MessageParser::default().parse(raw)?;
    let from = message.from().and_then(|a| a.first());
    let mut text = message.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    for part in message.attachments() {
        if let Some(inner) = part.message() {
            let inner_from = inner
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address().or(a.name()))
                .unwrap_or_default();
            text.push_str("\n\n---------- Forwarded message ---------\n");
            text.push_str(&format!("From: {inner_from}\n"));
            if let Some(s) = inner.subject() {
                text.push_str(&format!("Subject: {s}\n"));
            }
            if let Some(d) = inner.date() {
                text.push_str(&format!("Date: {}\n", d.to_rfc3339()));
            }
            text.push('\n');
            text.push_str(&inner.body_text(0).unwrap_or_default());
        }
    }
    let ids = |v: &mail_parser::HeaderValue| -> Vec<String> {
        match v {
            mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
            mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
            _ => Vec::new(),
        }
    };
    let mut references = ids(message.in_reply_to());
    for r in ids(message.references()) {
        if !references.contains(&r) {
            references.push(r);
        }
    }
    Some(Mail {
        message_id: message.message_id().map(str::to_owned),
        from: from.and_then(|a| a.address().or(a.name())).map(str::to_owned),
        from_name: from.and_then(|a| a.name()).map(str::to_owned),
        subject: message.subject().map(str::to_owned),
        date: message.date().map(|d| d.to_rfc3339()),
        references,
        text,
    })
}

#[cfg(test)]
mod tests;
