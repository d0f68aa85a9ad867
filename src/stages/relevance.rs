//! Relevance: which configured provider a post is about, by its names,
//! handles and hashtags; posts about none are dropped.

use super::{DropReason, Filter, Verdict};
use crate::config::Provider;
use crate::post::{Post, ProviderMatch};
use crate::text::PhraseSet;

pub struct Relevance {
    /// Each phrase's value: (provider index, the phrase as configured).
    phrases: PhraseSet<(usize, String)>,
    ids: Vec<String>,
}

impl Relevance {
    pub fn new(providers: &[Provider]) -> Self {
        let phrases = providers.iter().enumerate().flat_map(|(i, p)| {
            p.names
                .iter()
                .chain(&p.handles)
                .chain(&p.hashtags)
                .map(move |phrase| (phrase.clone(), (i, phrase.clone())))
        });
        Relevance {
            phrases: PhraseSet::longest(phrases),
            ids: providers.iter().map(|p| p.id.clone()).collect(),
        }
    }

    /// The provider named most often, the first named on a tie.
    pub fn matching(&self, folded: &str) -> Option<ProviderMatch> {
        let mut counts: Vec<(usize, usize, &str)> = Vec::new();
        for (values, _) in self.phrases.find(folded) {
            for (provider, phrase) in values {
                match counts.iter_mut().find(|c| c.0 == *provider) {
                    Some(c) => c.1 += 1,
                    None => counts.push((*provider, 1, phrase)),
                }
            }
        }
        let best = counts.iter().rev().max_by_key(|c| c.1)?;
        Some(ProviderMatch {
            id: self.ids[best.0].clone(),
            matched: best.2.to_owned(),
        })
    }
}

impl Filter for Relevance {
    fn name(&self) -> &'static str {
        "relevance"
    }

    fn apply(&self, post: &mut Post) -> Verdict {
        post.provider = self.matching(&post.norm);
        post.provider.as_ref().map(|_| ()).ok_or(DropReason::NoProvider)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::testing::normalized;

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

    fn about(text: &str) -> Option<String> {
        let mut p = normalized(text);
        Relevance::new(&providers())
            .apply(&mut p)
            .ok()
            .map(|_| p.provider.unwrap().id)
    }

    #[test]
    fn matches_names_handles_and_hashtags_case_insensitively() {
        assert_eq!(about("Antre 5 jam di rs HARAPAN sehat!").as_deref(), Some("rshs"));
        assert_eq!(about("thanks @RSHarapanSehat for the care").as_deref(), Some("rshs"));
        assert_eq!(about("never again #HarapanSehat").as_deref(), Some("rshs"));
        assert_eq!(about("klinik medika utama buka jam berapa?").as_deref(), Some("kmu"));
    }

    #[test]
    fn needs_word_boundaries() {
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
}
