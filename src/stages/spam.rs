//! Spam and bots, as far as one post shows them: posts that are only
//! links, hashtags and mentions, and promotions (a link and a promotional
//! phrase, or two such phrases) that no complaint rule fired on. The same
//! text posted again and again by one author needs the window's memory:
//! the committer counts those with the near-duplicate index.

use crate::config::SpamConfig;
use crate::model::Score;
use crate::post::Post;
use crate::text::{Phrases, Vocab};

pub struct Spam {
    enabled: bool,
    min_words: usize,
    vocab: Vocab,
    promo: Phrases<()>,
}

/// Categories that are not a complaint of some kind.
fn generic(c: &str) -> bool {
    matches!(c, "complaint" | "question" | "praise" | "suggestion")
}

fn is_link(token: &str) -> bool {
    token.contains("://") || token.starts_with("www.") || token.contains(".ly/") || token.starts_with("wa.me/")
}

impl Spam {
    pub fn new(config: &SpamConfig) -> Spam {
        let mut vocab = Vocab::default();
        let promo = Phrases::new(config.promo.iter().map(|p| (p.clone(), ())), &mut vocab);
        Spam {
            enabled: config.enabled,
            min_words: config.min_words,
            vocab,
            promo,
        }
    }

    /// Whether a scored post is spam.
    pub fn is_spam(&self, post: &Post, score: &Score) -> bool {
        if !self.enabled {
            return false;
        }
        let (mut links, mut tags, mut words) = (0, 0, 0);
        for token in post.norm.split(' ') {
            if is_link(token) {
                links += 1;
            } else if token.starts_with('#') || token.starts_with('@') {
                tags += 1;
            } else if token.chars().any(char::is_alphanumeric) {
                words += 1;
            }
        }
        if words < self.min_words && links + tags > 0 {
            return true;
        }
        if score.categories.iter().any(|c| !generic(c)) {
            return false;
        }
        let mut ids = Vec::new();
        self.vocab.lookup(&post.norm, &post.words, &mut ids);
        let mut promo = 0;
        self.promo.find_longest(&ids, |_, _, _| promo += 1);
        (links > 0 && promo > 0) || promo >= 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;
    use crate::stages::testing::normalized;

    fn spam(text: &str, categories: &[&str]) -> bool {
        let score = Score {
            sentiment: 0.0,
            risk: 0.0,
            severity: Severity::None,
            categories: categories.iter().map(|c| c.to_string()).collect(),
            reasons: vec![],
        };
        Spam::new(&SpamConfig::default()).is_spam(&normalized(text), &score)
    }

    #[test]
    fn links_and_hashtags_alone() {
        assert!(spam(
            "#rsharapansehat #rsharapansehat #harapansehat http://cheap-meds.example",
            &[]
        ));
        assert!(spam("http://bit.ly/xyz http://bit.ly/abc #rsharapansehat", &[]));
        assert!(!spam("Antre 5 jam #rsharapansehat", &[]));
    }

    #[test]
    fn promotions_unless_a_complaint() {
        assert!(spam(
            "DISKON 70%!!! Obat herbal asli. Order sekarang di bit.ly/herbal-murah #harapansehat",
            &[]
        ));
        assert!(spam(
            "GIVEAWAY pulsa 100rb! Follow, like, tag 3 teman. #harapansehat #giveaway",
            &[]
        ));
        assert!(spam(
            "Butuh pengacara? Konsultasi gratis! http://law.example #harapansehat",
            &["question"]
        ));
        assert!(!spam(
            "RS Harapan Sehat menolak pasien, padahal promo BPJS katanya. Videonya: https://video.example/1",
            &["refused_care", "complaint"]
        ));
        assert!(!spam("Terima kasih RS Harapan Sehat, perawatnya ramah", &["praise"]));
    }
}
