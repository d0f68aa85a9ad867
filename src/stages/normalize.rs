//! Normalize: clean the text a connector handed over and fold it once for
//! every later matcher.

use super::{DropReason, Filter, Verdict};
use crate::config::PipelineConfig;
use crate::post::Post;
use crate::text;

pub struct Normalize {
    max_text_bytes: usize,
}

impl Normalize {
    pub fn new(config: &PipelineConfig) -> Self {
        Normalize {
            max_text_bytes: config.max_text_bytes,
        }
    }
}

fn clean(s: &mut String) {
    let control = if s.is_ascii() {
        s.bytes().any(|b| b.is_ascii_control() && b != b'\n' && b != b'\t')
    } else {
        s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    };
    if control {
        *s = s
            .chars()
            .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
            .collect();
    }
    let trimmed = s.trim();
    if trimmed.len() != s.len() {
        *s = trimmed.to_owned();
    }
}

/// A forward or quoting reply: keep its clean text (comments, then the
/// original), the original on its own, and the hops it names.
fn unwrap_quotes(post: &mut Post) {
    let split = crate::email::split(&post.text);
    if split.comments.is_empty() && split.hops.is_empty() {
        // No forward, no quote: only an email's signature or disclaimer goes.
        if post.channel == "email"
            && let Some(original) = split.original
        {
            post.text = original;
        }
        return;
    }
    post.text = split.text();
    post.quoted = split.original;
    post.hops = split.hops;
}

impl Filter for Normalize {
    fn name(&self) -> &'static str {
        "normalize"
    }

    fn apply(&self, post: &mut Post) -> Verdict {
        text::truncate(&mut post.text, self.max_text_bytes);
        clean(&mut post.text);
        if let Some(subject) = &mut post.subject {
            clean(subject);
        }
        post.subject = post.subject.take().filter(|s| !s.is_empty());
        if crate::email::may_quote(&post.text) {
            unwrap_quotes(post);
        }
        if post.text.is_empty() && post.subject.is_none() {
            return Err(DropReason::Empty);
        }
        post.norm = match &post.subject {
            Some(subject) => text::fold_words(&format!("{subject}\n{}", post.text), &mut post.words),
            None => text::fold_words(&post.text, &mut post.words),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::testing::post;

    fn normalize() -> Normalize {
        Normalize::new(&PipelineConfig {
            max_text_bytes: 400,
            ..Default::default()
        })
    }

    #[test]
    fn folds_subject_and_text_and_strips_controls() {
        let mut p = post("  Dokter\u{0}  TELAT\r\n lagi ");
        p.subject = Some(" Keluhan ".into());
        normalize().apply(&mut p).unwrap();
        assert_eq!(p.text, "Dokter  TELAT\n lagi");
        assert_eq!(p.subject.as_deref(), Some("Keluhan"));
        assert_eq!(p.norm, "keluhan dokter telat lagi");
    }

    #[test]
    fn forwards_keep_comment_original_and_hops() {
        let mut p = post(
            "Tolong sebarkan!\n\n---------- Forwarded message ---------\nFrom: Nadia <nadia@mail.example>\nSubject: Keluhan\n\n> Dokter tidak datang.\n\n-- \nNadia",
        );
        p.channel = "email".into();
        normalize().apply(&mut p).unwrap();
        assert_eq!(p.text, "Tolong sebarkan!\n\nDokter tidak datang.");
        assert_eq!(p.quoted.as_deref(), Some("Dokter tidak datang."));
        assert_eq!(p.hops[0].from, "Nadia <nadia@mail.example>");
    }

    #[test]
    fn drops_empty_posts() {
        let mut p = post(" \n\t ");
        p.subject = Some("  ".into());
        assert_eq!(normalize().apply(&mut p), Err(DropReason::Empty));
    }

    #[test]
    fn cuts_long_texts() {
        let mut p = post(&"é".repeat(1000));
        normalize().apply(&mut p).unwrap();
        assert_eq!(p.text.chars().count(), 200);
    }
}
