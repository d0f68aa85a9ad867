//! `earshot score`: the stable scoring contract.
//!
//! Reads JSON lines on stdin, one post each: `{"id", "text", "subject"?,
//! "lang"?, "channel"?, "author"?, "followers"?}` (other fields are
//! ignored); a line that is not JSON is scored as plain text with its line
//! number as id. Writes one JSON line per input line, in order:
//! `{"id", "lang", "provider", "sentiment", "risk", "severity",
//! "categories"}`, plus `"reasons"` with `--explain`. A line it cannot use
//! yields `{"id", "error"}` and the run goes on.

use crate::config::Config;
use crate::model::{Reason, Score, Severity};
use crate::post::{Author, Post};
use crate::scoring::Engine;
use crate::stages::normalize::Normalize;
use crate::stages::{DropReason, Filter};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::{BufRead, Write};

#[derive(Deserialize)]
struct Input<'a> {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(default, borrow)]
    subject: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    lang: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    channel: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    author: Option<Cow<'a, str>>,
    #[serde(default)]
    followers: Option<u64>,
}

impl<'a> Input<'a> {
    /// A line that is not JSON: its text alone.
    fn plain(text: &'a str) -> Self {
        Input {
            id: None,
            text: Cow::Borrowed(text),
            subject: None,
            lang: None,
            channel: None,
            author: None,
            followers: None,
        }
    }
}

#[derive(Serialize)]
struct Output<'a> {
    id: &'a str,
    lang: &'a str,
    provider: Option<&'a str>,
    sentiment: f32,
    risk: f32,
    severity: Severity,
    categories: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    reasons: Option<&'a [Reason]>,
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    id: &'a str,
    error: &'a str,
}

/// What scores one post: the stages a post needs before the engine, none
/// of them dropping it.
pub struct Scorer {
    normalize: Normalize,
    engine: Engine,
}

/// A scored post, as the contract reports it.
pub struct Scored {
    pub post: Post,
    pub score: Score,
}

impl Scorer {
    pub fn new(config: &Config, engine: Engine) -> Scorer {
        Scorer {
            normalize: Normalize::new(&config.pipeline),
            engine,
        }
    }

    pub fn score(&self, post: Post) -> Scored {
        self.score_with(post, true)
    }

    /// As `score`; without reasons when `reasons` is false.
    pub fn score_with(&self, mut post: Post, reasons: bool) -> Scored {
        if let Some(lang) = &post.lang {
            let lang = lang.trim().to_ascii_lowercase();
            post.lang = matches!(lang.as_str(), "en" | "id").then_some(lang);
        }
        let empty = self.normalize.apply(&mut post) == Err(DropReason::Empty);
        let reading = self.engine.read(&mut post, false).unwrap_or_default();
        let score = if empty {
            Score {
                sentiment: 0.0,
                risk: 0.0,
                severity: Severity::None,
                categories: Vec::new(),
                reasons: Vec::new(),
            }
        } else {
            self.engine.score_with(&post, &reading, reasons)
        };
        Scored { post, score }
    }
}

/// A post of text alone, as `earshot score` builds it.
pub fn plain_post(text: &str) -> Post {
    post("1".into(), Input::plain(text))
}

/// The output line for one TEXT argument, numbered `id`.
pub fn text_line(scorer: &Scorer, id: usize, text: &str, out: &mut Vec<u8>) {
    write_scored(
        &scorer.score_with(post(id.to_string(), Input::plain(text)), false),
        false,
        out,
    );
}

fn post(id: String, input: Input<'_>) -> Post {
    Post {
        id: id.clone(),
        source: "score".into(),
        channel: input.channel.map_or_else(|| "unknown".into(), Cow::into_owned),
        native_id: id,
        provider: None,
        author: Author {
            handle: input.author.map_or_else(String::new, Cow::into_owned),
            display_name: None,
            audience: input.followers,
        },
        subject: input.subject.map(Cow::into_owned),
        text: input.text.into_owned(),
        lang: input.lang.map(Cow::into_owned),
        lang_confidence: 0.0,
        url: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
        refs: Default::default(),
        ..Post::default()
    }
}

fn round(x: f32, places: i32) -> f32 {
    let f = 10f32.powi(places);
    (x * f).round() / f
}

/// One output line (without its newline) for one input line.
pub fn line(scorer: &Scorer, input: &[u8], line_no: usize, explain: bool, out: &mut Vec<u8>) {
    let fallback_id = line_no.to_string();
    let text = match std::str::from_utf8(input) {
        Ok(t) => t.trim(),
        Err(e) => {
            let msg = format!("line {line_no} is not UTF-8: {e}");
            serde_json::to_writer(
                &mut *out,
                &ErrorLine {
                    id: &fallback_id,
                    error: &msg,
                },
            )
            .expect("in-memory write");
            return;
        }
    };
    let parsed = if text.starts_with('{') {
        match serde_json::from_str::<Input>(text) {
            Ok(i) => Ok(i),
            Err(e) => {
                // JSON, but not a post: say so, with the id when it has one.
                let id = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("id").map(id_string))
                    .unwrap_or_else(|| fallback_id.clone());
                Err((id, format!("line {line_no}: {e}")))
            }
        }
    } else {
        Ok(Input::plain(text))
    };
    let input = match parsed {
        Ok(i) => i,
        Err((id, msg)) => {
            serde_json::to_writer(&mut *out, &ErrorLine { id: &id, error: &msg }).expect("in-memory write");
            return;
        }
    };
    let id = input.id.as_ref().map_or(fallback_id, id_string);
    write_scored(&scorer.score_with(post(id, input), explain), explain, out);
}

/// The contract's output line for a scored post.
fn write_scored(scored: &Scored, explain: bool, out: &mut Vec<u8>) {
    let p = &scored.post;
    let s = &scored.score;
    let output = Output {
        id: &p.id,
        lang: p.lang.as_deref().unwrap_or("en"),
        provider: p.provider.as_ref().map(|m| m.id.as_str()),
        sentiment: round(s.sentiment, 4),
        risk: round(s.risk, 1),
        severity: s.severity,
        categories: &s.categories,
        reasons: explain.then_some(s.reasons.as_slice()),
    };
    serde_json::to_writer(&mut *out, &output).expect("in-memory write");
}

fn id_string(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The JSON lines loop: stdin to stdout, flushing as it goes.
pub fn run(scorer: &Scorer, explain: bool, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    let mut reader = input;
    let mut buf = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(64 * 1024);
    let mut line_no = 0;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        line(scorer, &buf, line_no, explain, &mut out);
        out.push(b'\n');
        if out.len() >= 60 * 1024 {
            output.write_all(&out)?;
            out.clear();
        }
    }
    output.write_all(&out)?;
    output.flush()
}

/// `earshot score --explain "text"`: a breakdown an operator can read.
pub fn explain(scorer: &Scorer, text: &str) -> String {
    use std::fmt::Write as _;
    let input = Input::plain(text);
    let Scored { post, score } = scorer.score(post("1".into(), input));
    let mut o = String::new();
    let _ = writeln!(o, "{text:?}");
    let provider = post
        .provider
        .as_ref()
        .map_or("none (severity stays none)".to_owned(), |m| {
            format!("{} (named as \"{}\")", m.id, m.matched)
        });
    let _ = writeln!(o, "  provider    {provider}");
    let _ = writeln!(
        o,
        "  language    {} ({:.2})",
        post.lang.as_deref().unwrap_or("unknown, read as en"),
        post.lang_confidence
    );
    let _ = writeln!(o, "  sentiment   {:+.3}", score.sentiment);
    for r in &score.reasons {
        let line = match r.kind.as_str() {
            "sentiment" => format!("    from the {} scorer: {:+.1} risk points", r.id, r.weight),
            "lexicon" => format!("    {:<24} {:+.2}  ({})", r.matched, r.weight, r.id),
            "rule" => format!(
                "  rule        {} v{}  {:+.1}  matched \"{}\"",
                r.id,
                r.version.unwrap_or(1),
                r.weight,
                r.matched
            ),
            "reach" => format!("  reach       {:+.1}  ({})", r.weight, r.matched),
            "floor" => format!("  floor       a rule raises the severity to at least {}", r.id),
            _ => continue,
        };
        let _ = writeln!(o, "{line}");
    }
    let _ = writeln!(o, "  risk        {:.1} → {}", score.risk, score.severity);
    let categories = if score.categories.is_empty() {
        "-".to_owned()
    } else {
        score.categories.join(", ")
    };
    let _ = writeln!(o, "  categories  {categories}");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scorer() -> Scorer {
        let config = Config::parse(crate::config::BUILTIN, "builtin").unwrap();
        let engine = Engine::new(
            std::sync::Arc::new(crate::sentiment::SentimentModel::builtin()),
            crate::rules::Rules::builtin(),
            &config,
        );
        Scorer::new(&config, engine)
    }

    fn run_lines(input: &[u8]) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        run(&scorer(), false, input, &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn one_line_out_per_line_in_with_errors_in_place() {
        let input = b"{\"id\":\"a\",\"text\":\"RS Harapan Sehat salah diagnosa, dokter tidak datang, saya kecewa\"}\nplain text about nothing\n{\"id\":\"c\",\"txt\":\"x\"}\n\xff\xfe\n{\"id\":7,\"text\":\"\"}\n";
        let out = run_lines(input);
        assert_eq!(out.len(), 5);
        assert_eq!(out[0]["id"], "a");
        assert_eq!(out[0]["provider"], "rs-harapan-sehat");
        assert_eq!(out[0]["lang"], "id");
        assert!(
            matches!(out[0]["severity"].as_str(), Some("high" | "critical")),
            "{}",
            out[0]
        );
        assert_eq!(out[1]["id"], "2");
        assert_eq!(out[1]["provider"], serde_json::Value::Null);
        assert_eq!(out[1]["severity"], "none");
        assert_eq!(out[2]["id"], "c");
        assert!(out[2]["error"].as_str().unwrap().contains("missing field `text`"));
        assert!(out[3]["error"].as_str().unwrap().contains("not UTF-8"));
        assert_eq!(out[4]["id"], "7");
        assert_eq!(out[4]["sentiment"], 0.0);
    }

    #[test]
    fn no_provider_still_gets_sentiment() {
        let out = run_lines(b"{\"id\":\"x\",\"text\":\"This airline is the worst, terrible service\"}\n");
        assert!(out[0]["sentiment"].as_f64().unwrap() < -0.5);
        assert_eq!(out[0]["severity"], "none");
        assert!(
            out[0]["categories"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "complaint")
        );
    }

    #[test]
    fn explain_names_rules_and_terms() {
        let text =
            scorer_explain("Harapan Sehat Hospital: we waited 6 hours, nobody came, my father died in the corridor");
        assert!(text.contains("rule        hc-patient-harm v1"), "{text}");
        assert!(text.contains("provider    rs-harapan-sehat"), "{text}");
        assert!(text.contains("→ critical"), "{text}");
    }

    fn scorer_explain(text: &str) -> String {
        explain(&scorer(), text)
    }
}
