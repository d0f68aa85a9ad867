//! Relevance: which configured provider a post is about, by its names,
//! handles and hashtags matched as whole words, case-insensitive, Unicode-
//! aware; and where it names them, so that the sentiment scorers can read
//! past the names.
//!
//! Names match in the ways people write them: "RS" and "Rumah Sakit" for
//! each other, with or without dots ("R.S.", "RSHS" and "R.S.H.S."), and
//! with one letter wrong in any word of five letters or more after the
//! first ("RS Harapan Sehta"). A provider's `exclude` phrases say where its
//! name means something else ("toko harapan sehat"): a mention inside one
//! does not count.

use crate::config::Provider;
use crate::post::ProviderMatch;
use crate::text::{Phrases, Vocab, Word, alnum_words, fold};

pub struct Relevance {
    /// Each phrase's value: (provider index, the phrase as configured).
    phrases: Phrases<(usize, String)>,
    /// Each exclude phrase's provider index.
    exclude: Phrases<usize>,
    ids: Vec<String>,
}

/// The ways a configured name is written: as configured; "RS" for "Rumah
/// Sakit" and back; an acronym in capitals spelled with dots ("R.S.").
pub fn variants(name: &str) -> Vec<String> {
    let original: Vec<&str> = alnum_words(name).collect();
    let folded = fold(name);
    let words: Vec<&str> = alnum_words(&folded).collect();
    let mut out: Vec<Vec<String>> = vec![words.iter().map(|w| w.to_string()).collect()];
    let rest = |n: usize| words[n..].iter().map(|w| w.to_string()).collect::<Vec<_>>();
    if words.len() > 1 && words[0] == "rs" {
        out.push([vec!["rumah".into(), "sakit".into()], rest(1)].concat());
    }
    if words.len() > 2 && words[0] == "rumah" && words[1] == "sakit" {
        out.push([vec!["rs".into()], rest(2)].concat());
    }
    let dotted: Vec<Vec<String>> = out
        .iter()
        .filter_map(|v| {
            let mut changed = false;
            let spelled: Vec<String> = v
                .iter()
                .flat_map(|w| {
                    let acronym = (2..=4).contains(&w.len())
                        && original
                            .iter()
                            .any(|o| o.eq_ignore_ascii_case(w) && o.chars().all(|c| c.is_ascii_uppercase()));
                    if acronym {
                        changed = true;
                        w.chars().map(|c| c.to_string()).collect::<Vec<_>>()
                    } else {
                        vec![w.clone()]
                    }
                })
                .collect();
            changed.then_some(spelled)
        })
        .collect();
    out.extend(dotted);
    let mut out: Vec<String> = out.into_iter().map(|v| v.join(" ")).collect();
    out.dedup();
    out
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
            let names = p
                .names
                .iter()
                .flat_map(move |n| variants(n).into_iter().map(move |v| (v, (i, n.clone()))));
            let tags = p
                .handles
                .iter()
                .chain(&p.hashtags)
                .map(move |phrase| (phrase.clone(), (i, phrase.clone())));
            names.chain(tags)
        });
        let phrases = Phrases::new(phrases, vocab);
        let exclude = providers
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.exclude.iter().map(move |e| (e.clone(), i)));
        Relevance {
            phrases,
            exclude: Phrases::new(exclude, vocab),
            ids: providers.iter().map(|p| p.id.clone()).collect(),
        }
    }

    /// The provider named most often (the first named on a tie), and every
    /// token that names one.
    pub fn find(&self, folded: &str, words: &[Word], ids: &[u32]) -> Mentions {
        let mut counts: Vec<(usize, usize, &str)> = Vec::new();
        let mut tokens: Vec<u32> = Vec::new();
        let mut excluded: Vec<(usize, usize, usize)> = Vec::new();
        self.exclude.find(ids, |values, i, j| {
            excluded.extend(values.iter().map(|p| (*p, i, j)));
        });
        let word = |j: usize| words.get(j).map(|w| &folded[w.range()]);
        self.phrases.find_longest_fuzzy(ids, word, |values, i, j| {
            tokens.extend(words[i].token..=words[j].token);
            for (provider, phrase) in values {
                if excluded.iter().any(|(p, a, b)| p == provider && *a <= j && i <= *b) {
                    continue;
                }
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
                exclude: vec![],
            },
            Provider {
                id: "kmu".into(),
                names: vec!["Klinik Medika Utama".into()],
                handles: vec![],
                hashtags: vec![],
                exclude: vec![],
            },
            Provider {
                id: "shop".into(),
                names: vec!["Harapan Sehat".into()],
                handles: vec![],
                hashtags: vec![],
                exclude: vec![
                    "toko harapan sehat".into(),
                    "lagu harapan sehat".into(),
                    "ada harapan sehat".into(),
                ],
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
        relevance.find(&folded, &words, &ids)
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
        assert_eq!(about("#harapansehatselalu semoga"), None);
        assert_eq!(about("rs harapan sehatan"), None);
    }

    #[test]
    fn written_as_people_write_it() {
        for text in [
            "Antre lama di Rumah Sakit Harapan Sehat",
            "antre lama di R.S. Harapan Sehat",
            "antre lama di RS. Harapan Sehat",
            "antre lama di RS Harapan Sehta",
            "antre lama di RS Harpan Sehat",
        ] {
            assert_eq!(about(text).as_deref(), Some("rshs"), "{text}");
        }
        assert_eq!(about("Klinik Medika Utma buka?").as_deref(), Some("kmu"));
        assert_eq!(variants("RSHS Jakarta"), ["rshs jakarta", "r s h s jakarta"]);
        assert_eq!(
            variants("Rumah Sakit Harapan Sehat"),
            ["rumah sakit harapan sehat", "rs harapan sehat"]
        );
    }

    #[test]
    fn excluded_contexts_do_not_count() {
        assert_eq!(about("Toko Harapan Sehat di Bandung lagi promo madu"), None);
        assert_eq!(about("Lagu 'Harapan Sehat' dari band indie Bogor enak didengar"), None);
        assert_eq!(about("Semoga selalu ada harapan sehat untuk kita"), None);
        assert_eq!(about("Harapan Sehat buka sampai jam 9").as_deref(), Some("shop"));
        // Another provider's exclusions do not hide this one.
        assert_eq!(about("toko di depan RS Harapan Sehat tutup").as_deref(), Some("rshs"));
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
