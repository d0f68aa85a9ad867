//! Replay: posts as JSON lines from a file or a directory of `*.jsonl`
//! files (read in name order). Finite: done at the end of the input.
//!
//! Cursor: `{"file": NAME, "offset": BYTES}`, the end of the last line whose
//! effects are durable. A restart seeks there, so nothing is read twice and
//! nothing skipped.

use super::{SourceContext, SourceResult};
use crate::config::ReplayConfig;
use crate::post::{Ack, Author, Envelope, Post, Refs};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncSeekExt, BufReader};

/// One input line: the `earshot score` input format plus what a replayed
/// stream carries besides.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub id: serde_json::Value,
    /// Required unless `mime` is given.
    #[serde(default)]
    pub text: String,
    /// A raw RFC 5322 message (an email as a list archive or a mail client
    /// exports it): decoded, it gives the text, and whatever of subject,
    /// author, time and channel the line leaves out.
    #[serde(default)]
    pub mime: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub author_name: Option<String>,
    #[serde(default)]
    pub followers: Option<u64>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default)]
    pub quote_of: Option<String>,
    #[serde(default)]
    pub forward_of: Option<String>,
}

/// The same line read leniently (see `ReplayConfig::lenient`): only the
/// fields earshot knows, each optional but the text.
#[derive(Debug, Deserialize)]
struct LenientLine {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    mime: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    followers: Option<u64>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    reply_to: Option<String>,
    #[serde(default)]
    quote_of: Option<String>,
    #[serde(default)]
    forward_of: Option<String>,
}

/// How lines become posts.
#[derive(Debug, Clone)]
pub struct Reader {
    pub lenient: bool,
    /// The time given to the last post (lenient lines without one follow it).
    last: Option<DateTime<Utc>>,
}

impl Reader {
    pub fn new(lenient: bool) -> Self {
        Reader { lenient, last: None }
    }

    /// One line into a post of `source`; `place` (the line number, say)
    /// is the id of a lenient line that has none.
    pub fn parse(&mut self, source: &str, default_channel: &str, line: &str, place: &str) -> Result<Post, String> {
        if !self.lenient {
            return parse_line(source, default_channel, line);
        }
        let l: LenientLine = if line.starts_with('{') {
            serde_json::from_str(line).map_err(|e| e.to_string())?
        } else {
            LenientLine {
                id: None,
                text: line.to_owned(),
                mime: None,
                subject: None,
                lang: None,
                channel: None,
                author: None,
                author_name: None,
                followers: None,
                url: None,
                created_at: None,
                reply_to: None,
                quote_of: None,
                forward_of: None,
            }
        };
        let created_at = l.created_at.unwrap_or_else(|| {
            // Input order is time order: a minute after the line before.
            self.last
                .map_or(DateTime::UNIX_EPOCH, |t| t + chrono::Duration::minutes(1))
        });
        self.last = Some(created_at);
        let strict = Line {
            id: match l.id {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => serde_json::Value::String(s),
                Some(serde_json::Value::Number(n)) => serde_json::Value::Number(n),
                _ => serde_json::Value::String(place.to_owned()),
            },
            text: l.text,
            mime: l.mime,
            subject: l.subject,
            lang: l.lang,
            channel: l.channel,
            author: l.author,
            author_name: l.author_name,
            followers: l.followers,
            url: l.url,
            created_at: Some(created_at),
            reply_to: l.reply_to,
            quote_of: l.quote_of,
            forward_of: l.forward_of,
        };
        line_to_post(source, default_channel, strict)
    }
}

/// Parses one line into a post of `source`; the error says what is wrong.
pub fn parse_line(source: &str, default_channel: &str, line: &str) -> Result<Post, String> {
    let l: Line = serde_json::from_str(line).map_err(|e| e.to_string())?;
    line_to_post(source, default_channel, l)
}

pub fn line_to_post(source: &str, default_channel: &str, mut l: Line) -> Result<Post, String> {
    if let Some(raw) = l.mime.take() {
        let mail = crate::email::parse_mime(raw.as_bytes()).ok_or("`mime` is not a mail message")?;
        if l.text.is_empty() {
            l.text = mail.text;
        }
        l.subject = l.subject.or(mail.subject);
        l.author = l.author.or(mail.from);
        l.author_name = l.author_name.or(mail.from_name);
        l.channel = l.channel.or(Some("email".into()));
        l.reply_to = l.reply_to.or(mail.references.into_iter().next());
        if l.created_at.is_none() {
            l.created_at = mail
                .date
                .and_then(|d| DateTime::parse_from_rfc3339(&d).ok())
                .map(|d| d.to_utc());
        }
    }
    if l.text.trim().is_empty() && l.subject.is_none() {
        return Err("missing field `text` (or `mime`)".into());
    }
    let native_id = match l.id {
        serde_json::Value::String(s) if !s.trim().is_empty() => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err("`id` must be a non-empty string".into()),
    };
    Ok(Post {
        id: format!("{source}:{native_id}"),
        source: source.to_owned(),
        channel: l.channel.unwrap_or_else(|| default_channel.to_owned()),
        native_id,
        provider: None,
        author: Author {
            handle: l.author.unwrap_or_else(|| "unknown".into()),
            display_name: l.author_name,
            audience: l.followers,
        },
        subject: l.subject,
        text: l.text,
        lang: l.lang,
        lang_confidence: 0.0,
        url: l.url,
        created_at: l.created_at.unwrap_or_else(Utc::now),
        refs: Refs {
            reply_to: l.reply_to,
            quote_of: l.quote_of,
            forward_of: l.forward_of,
        },
        ..Post::default()
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Position {
    file: String,
    offset: u64,
}

/// The files to read, with the names their cursor uses: `path` itself, or
/// the files of that directory whose extension is `ext`, in name order.
pub fn files(path: &Path, ext: &str) -> std::io::Result<Vec<(String, PathBuf)>> {
    if path.is_dir() {
        let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
            .collect();
        files.sort();
        Ok(files)
    } else {
        std::fs::metadata(path)?;
        let name = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        Ok(vec![(name, path.to_path_buf())])
    }
}

pub async fn run(config: ReplayConfig, ctx: SourceContext) -> SourceResult {
    let files = files(&config.path, "jsonl").map_err(|e| ctx.fail(format!("{}: {e}", config.path.display())))?;
    let resume: Option<Position> = match &ctx.resume {
        Some(p) => Some(serde_json::from_str(p).map_err(|e| ctx.fail(format!("stored cursor `{p}`: {e}")))?),
        None => None,
    };
    let mut pace = (config.rate > 0.0).then(|| {
        let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / config.rate));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    let mut lines = Reader::new(config.lenient);

    for (name, path) in files {
        let start = match &resume {
            Some(r) if name < r.file => continue,
            Some(r) if name == r.file => r.offset,
            _ => 0,
        };
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| ctx.fail(format!("{}: {e}", path.display())))?;
        let mut reader = BufReader::new(file);
        let mut line_no = 1 + count_newlines(&path, start).map_err(|e| ctx.fail(format!("{}: {e}", path.display())))?;
        reader
            .seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| ctx.fail(format!("{}: {e}", path.display())))?;
        let mut offset = start;
        let mut buf = Vec::new();
        loop {
            if ctx.stop.is_cancelled() {
                return Ok(());
            }
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .await
                .map_err(|e| ctx.fail(format!("{}:{line_no}: {e}", path.display())))?;
            if n == 0 {
                break;
            }
            offset += n as u64;
            let here = line_no;
            line_no += 1;
            let text = String::from_utf8_lossy(&buf);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let post = match std::str::from_utf8(&buf) {
                Err(e) => Err(format!("not UTF-8: {e}")),
                Ok(_) => lines.parse(&ctx.name, &config.channel, text, &here.to_string()),
            };
            let position = serde_json::to_string(&Position {
                file: name.clone(),
                offset,
            })
            .expect("positions serialize");
            let post = ctx.accept(post, || format!("{}:{here}", path.display()), &position);
            let envelope = Envelope::new(post, Ack::new(&ctx.name, position));
            if let Some(pace) = &mut pace {
                tokio::select! {
                    _ = pace.tick() => {}
                    _ = ctx.stop.cancelled() => return Ok(()),
                }
            }
            tokio::select! {
                sent = ctx.out.send(envelope) => if sent.is_err() { return Ok(()) },
                _ = ctx.stop.cancelled() => return Ok(()),
            }
        }
    }
    Ok(())
}

/// Lines before `offset`, so that errors after a resume name the right line.
fn count_newlines(path: &Path, offset: u64) -> std::io::Result<usize> {
    use std::io::Read;
    if offset == 0 {
        return Ok(0);
    }
    let mut file = std::fs::File::open(path)?.take(offset);
    let mut buf = vec![0u8; 64 * 1024];
    let mut count = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(count);
        }
        count += buf[..n].iter().filter(|b| **b == b'\n').count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;

    #[test]
    fn parses_the_line_format() {
        let p = parse_line(
            "demo",
            "replay",
            r#"{"id":"m1","text":"hi","channel":"email","author":"@a","followers":10,"created_at":"2026-03-01T10:00:00Z","forward_of":"m0"}"#,
        )
        .unwrap();
        assert_eq!(
            (p.id.as_str(), p.channel.as_str(), p.author.audience),
            ("demo:m1", "email", Some(10))
        );
        assert_eq!(p.refs.forward_of.as_deref(), Some("m0"));
        assert_eq!(parse_line("d", "r", r#"{"id":7,"text":"x"}"#).unwrap().native_id, "7");
        assert!(parse_line("d", "r", r#"{"id":"","text":"x"}"#).is_err());
        assert!(
            parse_line("d", "r", r#"{"text":"x"}"#)
                .unwrap_err()
                .contains("missing field `id`")
        );
        assert!(
            parse_line("d", "r", r#"{"id":"1","text":"x","txet":1}"#)
                .unwrap_err()
                .contains("unknown field")
        );
    }

    #[test]
    fn a_line_may_carry_a_raw_mime_message() {
        let raw = "From: Nadia <nadia@mail.example>\r\nSubject: Keluhan\r\nDate: Mon, 2 Mar 2026 19:00:00 +0700\r\nIn-Reply-To: <m0@mail.example>\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nDokter tidak datang, saya kecewa =E2=80=94 sekali.\r\n";
        let line = serde_json::json!({"id": "m1", "mime": raw}).to_string();
        let p = parse_line("list", "replay", &line).unwrap();
        assert_eq!(p.text.trim(), "Dokter tidak datang, saya kecewa — sekali.");
        assert_eq!(
            (p.subject.as_deref(), p.author.handle.as_str()),
            (Some("Keluhan"), "nadia@mail.example")
        );
        assert_eq!(p.channel, "email");
        assert_eq!(p.created_at.to_rfc3339(), "2026-03-02T12:00:00+00:00");
        assert_eq!(p.refs.reply_to.as_deref(), Some("m0@mail.example"));
        let bad = serde_json::json!({"id": "m2", "mime": ""}).to_string();
        assert!(parse_line("list", "replay", &bad).unwrap_err().contains("mime"));
    }

    #[test]
    fn lenient_lines_are_read_as_score_reads_them() {
        let mut r = Reader::new(true);
        let a = r
            .parse(
                "s",
                "replay",
                r#"{"id":"a","text":"x","extra":1,"created_at":"2026-03-01T10:00:00Z"}"#,
                "1",
            )
            .unwrap();
        let b = r.parse("s", "replay", r#"{"text":"y"}"#, "2").unwrap();
        let c = r.parse("s", "replay", "plain text", "3").unwrap();
        assert_eq!((a.id.as_str(), b.id.as_str(), c.id.as_str()), ("s:a", "s:2", "s:3"));
        assert_eq!(c.text, "plain text");
        assert_eq!((b.created_at - a.created_at).num_minutes(), 1);
        assert_eq!((c.created_at - a.created_at).num_minutes(), 2);
        assert!(
            r.parse("s", "replay", r#"{"id":"z"}"#, "4")
                .unwrap_err()
                .contains("text")
        );
        let mut strict = Reader::new(false);
        assert!(strict.parse("s", "replay", r#"{"text":"y"}"#, "2").is_err());
    }

    async fn read_all(path: &Path, resume: Option<String>) -> Vec<(Option<String>, String)> {
        let (tx, mut rx) = mpsc::channel(100);
        let ctx = SourceContext::new("r", tx, CancellationToken::new(), Metrics::new(), resume);
        let cfg = ReplayConfig {
            path: path.to_path_buf(),
            rate: 0.0,
            channel: "replay".into(),
            lenient: false,
        };
        run(cfg, ctx).await.unwrap();
        let mut out = Vec::new();
        while let Some(e) = rx.recv().await {
            if let Some(p) = &e.post {
                assert_eq!(
                    p.cursor, e.ack.cursor.position,
                    "a post knows the position it came from"
                );
            }
            out.push((e.post.map(|p| p.native_id), e.ack.cursor.position));
        }
        out
    }

    #[tokio::test]
    async fn reads_a_directory_in_order_skips_malformed_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.jsonl"), "{\"id\":\"3\",\"text\":\"c\"}\n").unwrap();
        std::fs::write(
            dir.path().join("a.jsonl"),
            "{\"id\":\"1\",\"text\":\"a\"}\n\nnot json\n{\"id\":\"2\",\"text\":\"b\"}",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let all = read_all(dir.path(), None).await;
        let ids: Vec<_> = all.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(ids, [Some("1".into()), None, Some("2".into()), Some("3".into())]);
        // Resume after the malformed line: only what follows it.
        let again = read_all(dir.path(), Some(all[1].1.clone())).await;
        let ids: Vec<_> = again.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(ids, [Some("2".into()), Some("3".into())]);
        // Resume at the very end: nothing.
        assert!(read_all(dir.path(), Some(all[3].1.clone())).await.is_empty());
    }
}
