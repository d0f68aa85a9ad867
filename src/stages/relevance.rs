//! Relevance: which configured provider a post is about, by its names,
//! handles and hashtags matched as whole words; and where it names them, so
//! that the sentiment scorers can read past the names.

use crate::config::Provider;
use crate::post::ProviderMatch;
use crate::text::{Phrases, Vocab, Word};

pub struct Relevance {
    /// Each phrase's value: (provider index, the phrase as configured).
    phrases: Phrases<(usize, String)>,
    ids: Vec<String>,
}

/// What relevance found in one post.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Mentions {
    pub provider: Option<ProviderMatch>,
    /// The white-space tokens that name any provider, ascending.
    pub tokens: Vec<u32>,
}

impl Relevance {
    pub fn new(providers: &[Provider], vocab: &mut Vocab) -> Self {
        let phrases = providers.iter().enumerate().flat_map(|(i, p)| {
            p.names
                .iter()
                .chain(&p.handles)
                .chain(&p.hashtags)
                .map(move |phrase| (phrase.clone(), (i, phrase.clone())))
        });
        Relevance {
            phrases: Phrases::new(phrases, vocab),
            ids: providers.iter().map(|p| p.id.clone()).collect(),
        }
    }

    /// The provider named most often (the first named on a tie), and every
    /// token that names one.
    pub fn find(&self, words: &[Word], ids: &[u32]) -> Mentions {
        let mut counts: Vec<(usize, usize, &str)> = Vec::new();
        let mut tokens: Vec<u32> = Vec::new();
        self.phrases.find_longest(ids, |values, i, j| {
            tokens.extend(words[i].token..=words[j].token);
            for (provider, phrase) in values {
                match counts.iter_mut().find(|c| c.0 == *provider) {
                    Some(c) => c.1 += 1,
                    None => counts.push((*provider, 1, phrase)),
                }
            }
        });
        tokens.dedup();
        let provider = counts.iter().rev().max_by_key(|c| c.1).map(|best| ProviderMatch {
            id: self.ids[best.0].clone(),
            matched: best.2.to_owned(),
        });
        Mentions { provider, tokens }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{fold, words_of};

    fn providers() -> Vec<Provider> {
        vec![
            Provider {
                id: "rshs".into(),
                names: vec!["RS Harapan Sehat".into(), "Harapan Sehat Hospital".into()],
                handles: vec!["@rsharapansehat".into()],
                hashtags: vec!["#harapansehat".into()],
            },
            Provider {
                id: "kmu".into(),
                names: vec!["Klinik Medika Utama".into()],
                handles: vec![],
                hashtags: vec![],
            },
        ]
    }

    fn mentions(text: &str) -> Mentions {
        let mut vocab = Vocab::default();
        let relevance = Relevance::new(&providers(), &mut vocab);
        let folded = fold(text);
        let mut words = Vec::new();
        words_of(&folded, &mut words);
        let mut ids = Vec::new();
        vocab.lookup(&folded, &words, &mut ids);
        relevance.find(&words, &ids)
    }

    fn about(text: &str) -> Option<String> {
        mentions(text).provider.map(|p| p.id)
    }

    #[test]
    fn matches_names_handles_and_hashtags_case_insensitively() {
        assert_eq!(about("Antre 5 jam di rs HARAPAN sehat!").as_deref(), Some("rshs"));
        assert_eq!(about("thanks @RSHarapanSehat for the care").as_deref(), Some("rshs"));
        assert_eq!(about("never again #HarapanSehat").as_deref(), Some("rshs"));
        assert_eq!(about("klinik medika utama buka jam berapa?").as_deref(), Some("kmu"));
    }

    #[test]
    fn needs_whole_words() {
        assert_eq!(about("toko harapan sehat bandung diskon"), None);
        assert_eq!(about("#harapansehatselalu semoga"), None);
    }

    #[test]
    fn most_named_provider_wins() {
        assert_eq!(
            about("pindah dari Klinik Medika Utama ke RS Harapan Sehat, RS Harapan Sehat jauh lebih baik").as_deref(),
            Some("rshs")
        );
    }

    #[test]
    fn reports_the_tokens_that_name_a_provider() {
        let m = mentions("Dokter di RS Harapan Sehat, telat. @rsharapansehat");
        assert_eq!(m.tokens, vec![2, 3, 4, 6]);
    }
}
