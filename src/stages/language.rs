//! Language: identify the post's language among the configured ones and
//! drop the rest.
//!
//! whatlang restricted to the allowed languages is fast and good on long
//! text. Short and code-mixed posts ("dokter gak dateng, so annoying") are
//! where trigram statistics waver, so a count of each language's commonest
//! function words settles those, and settles first any post with several of
//! them (most posts, at a fraction of the detector's cost); only a post both
//! are unsure of pays for the detector over all languages, to tell "unsure"
//! from "another language".

use super::DropReason;
use crate::post::Post;
use crate::text::{Vocab, Word};
use whatlang::{Detector, Lang};

/// ISO 639-1 codes earshot accepts in config and input, and their whatlang
/// language.
const CODES: &[(&str, Lang)] = &[
    ("en", Lang::Eng),
    ("id", Lang::Ind),
    ("jv", Lang::Jav),
    ("tl", Lang::Tgl),
    ("nl", Lang::Nld),
    ("fr", Lang::Fra),
    ("de", Lang::Deu),
    ("es", Lang::Spa),
    ("pt", Lang::Por),
    ("it", Lang::Ita),
    ("vi", Lang::Vie),
    ("th", Lang::Tha),
    ("ja", Lang::Jpn),
    ("ko", Lang::Kor),
    ("zh", Lang::Cmn),
    ("ar", Lang::Ara),
    ("hi", Lang::Hin),
    ("ru", Lang::Rus),
    ("tr", Lang::Tur),
];

pub fn whatlang_code(code: &str) -> Option<Lang> {
    CODES.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

fn iso_code(lang: Lang) -> Option<&'static str> {
    CODES.iter().find(|(_, l)| *l == lang).map(|(c, _)| *c)
}

/// Frequent words that are nearly always of one language, including the
/// informal Indonesian spellings of social media.
const HINTS: &[(&str, &[&str])] = &[
    (
        "id",
        &[
            "yang",
            "yg",
            "dan",
            "di",
            "ke",
            "dari",
            "ini",
            "itu",
            "tidak",
            "tdk",
            "gak",
            "ga",
            "nggak",
            "enggak",
            "gk",
            "sudah",
            "udah",
            "udh",
            "sangat",
            "banget",
            "bgt",
            "saya",
            "aku",
            "kami",
            "kita",
            "untuk",
            "utk",
            "dengan",
            "dgn",
            "karena",
            "krn",
            "tapi",
            "ada",
            "juga",
            "sama",
            "jam",
            "mau",
            "bisa",
            "belum",
            "lagi",
            "dokter",
            "dokternya",
            "pelayanan",
            "rumah",
            "sakit",
            "kok",
            "sih",
            "dong",
            "deh",
            "nya",
            "tolong",
            "akan",
            "oleh",
            "pada",
            "atau",
            "hanya",
            "saja",
            "aja",
            "masih",
            "sekali",
            "buat",
            "bikin",
            "tempat",
            "kalau",
            "kalo",
            "lebih",
            "harus",
            "semua",
            "banyak",
            "sampai",
            "sekarang",
            "kenapa",
            "mengapa",
            "bagaimana",
            "apa",
            "siapa",
            "mereka",
            "kamu",
            "enak",
            "murah",
            "mahal",
            "makan",
            "makanan",
            "harga",
            "bagus",
            "jelek",
            "kecewa",
            "puas",
            "ramah",
            "cepat",
            "lambat",
            "baik",
            "buruk",
            "terima",
            "kasih",
            "terlalu",
            "paling",
            "selalu",
            "pernah",
            "namun",
            "padahal",
            "seperti",
            "bukan",
            "jangan",
            "kurang",
            "agak",
            "cukup",
            "lumayan",
            "hari",
            "tahun",
            "orang",
            "anak",
            "ibu",
            "bapak",
            "pak",
            "juga",
            "lalu",
            "setelah",
            "sebelum",
            "saat",
            "waktu",
            "ketika",
            "menjadi",
            "jadi",
            "tersebut",
            "adalah",
            "bahwa",
            "agar",
            "tanpa",
            "tentang",
            "terhadap",
            "sejak",
            "hingga",
            "serta",
            "tuh",
            "nih",
            "emang",
            "gitu",
            "kayak",
            "dapat",
            "telah",
            "sedang",
            "tetap",
            "sendiri",
            "baru",
            "mungkin",
            "sekali",
            "semoga",
            "sangat",
            "benar",
            "salah",
            "sudah",
            "belum",
            "perawat",
            "pasien",
            "antre",
            "antri",
            "menunggu",
        ],
    ),
    (
        "en",
        &[
            "the",
            "and",
            "is",
            "are",
            "was",
            "were",
            "to",
            "of",
            "my",
            "i",
            "you",
            "it",
            "this",
            "that",
            "for",
            "with",
            "not",
            "no",
            "have",
            "has",
            "had",
            "they",
            "we",
            "so",
            "very",
            "but",
            "at",
            "hours",
            "doctor",
            "hospital",
            "staff",
            "waited",
            "please",
            "thank",
            "thanks",
            "a",
            "an",
            "in",
            "on",
            "as",
            "be",
            "by",
            "from",
            "their",
            "your",
            "our",
            "me",
            "he",
            "she",
            "his",
            "her",
            "us",
            "them",
            "what",
            "when",
            "just",
            "about",
            "than",
            "all",
            "get",
            "got",
            "too",
            "much",
            "while",
            "ever",
            "only",
            "after",
            "before",
            "every",
            "once",
            "anything",
            "would",
            "will",
            "can",
            "could",
            "should",
            "been",
            "being",
            "do",
            "does",
            "did",
            "there",
            "here",
            "some",
            "any",
            "more",
            "most",
            "because",
            "if",
            "or",
            "how",
            "who",
            "why",
            "now",
            "which",
            "really",
            "never",
            "even",
            "still",
            "also",
            "like",
            "am",
            "its",
            "let",
            "into",
            "over",
            "nothing",
            "everything",
            "something",
            "anyone",
            "someone",
            "everyone",
            "always",
            "again",
            "through",
            "during",
            "without",
            "those",
            "these",
            "other",
            "where",
            "well",
            "made",
            "make",
            "felt",
            "feel",
            "told",
            "said",
            "went",
            "came",
            "didn",
            "don",
            "doesn",
            "isn",
            "wasn",
            "couldn",
            "wouldn",
            "won",
            "haven",
            "better",
            "helpful",
            "friendly",
            "kind",
            "excellent",
            "great",
            "good",
            "care",
            "service",
            "wait",
            "waiting",
            "time",
            "long",
            "nurse",
            "nurses",
            "treatment",
            "appointment",
            "appointments",
            "people",
            "patient",
            "patients",
            "ward",
            "communication",
            "professional",
            "caring",
            "happy",
            "listened",
            "explained",
        ],
    ),
];

/// Letters are nearly all ASCII: the function-word count can be trusted to
/// tell English from Indonesian (a curly quote or an emoji does not matter;
/// a post in another script does).
fn mostly_latin(text: &str) -> bool {
    if text.is_ascii() {
        return true;
    }
    let (mut ascii, mut other) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        if c.is_ascii() {
            ascii += 1;
        } else {
            other += 1;
        }
    }
    other * 20 <= ascii
}

/// Up to this many words, one function word decides: trigram statistics
/// on so little text are seldom reliable, and an unreliable answer defers
/// to the function word anyway.
const SHORT: usize = 8;

pub struct Language {
    allowed: Vec<&'static str>,
    restricted: Detector,
    /// Word number → 1 + index into `allowed` of the language it hints at;
    /// 0 for none.
    hint_of: Vec<u8>,
}

impl Language {
    pub fn new(codes: &[String], vocab: &mut Vocab) -> Self {
        let langs: Vec<Lang> = codes.iter().filter_map(|c| whatlang_code(c)).collect();
        let allowed = langs.iter().filter_map(|l| iso_code(*l)).collect::<Vec<_>>();
        let mut hint_of = Vec::new();
        for (code, words) in HINTS {
            let Some(i) = allowed.iter().position(|a| a == code) else {
                continue;
            };
            for w in *words {
                let id = vocab.intern(w) as usize;
                if hint_of.len() <= id {
                    hint_of.resize(id + 1, 0);
                }
                hint_of[id] = i as u8 + 1;
            }
        }
        Language {
            allowed,
            restricted: Detector::with_allowlist(langs),
            hint_of,
        }
    }

    /// The allowed language whose function words clearly dominate, if any.
    fn hint(&self, ids: &[u32]) -> Option<(&'static str, usize)> {
        let mut counts = [0usize; CODES.len()];
        for id in ids {
            if let Some(h) = self.hint_of.get(*id as usize)
                && *h > 0
            {
                counts[*h as usize - 1] += 1;
            }
        }
        // The leader (the first allowed on a tie) and the runner-up's count.
        let (mut best, mut first, mut second) = (0, 0, 0);
        for (i, n) in counts[..self.allowed.len()].iter().enumerate() {
            if *n > first {
                (best, first, second) = (i, *n, first);
            } else if *n > second {
                second = *n;
            }
        }
        let alone = self.allowed.len() == 1;
        let short = ids.len() <= SHORT;
        let decided = (first >= 2 && (alone || first > 2 * second)) || (first == 1 && (alone || short && second == 0));
        decided.then(|| (self.allowed[best], first))
    }

    /// The language of a folded text and how sure that is; `drop_others`
    /// asks whether it is another language outright (to drop it), at the
    /// cost of the all-languages detector on uncertain posts.
    fn detect(&self, folded: &str, ids: &[u32], drop_others: bool) -> Result<(Option<&'static str>, f32), DropReason> {
        // Function words settle most posts at a fraction of the detector's
        // cost; a post in another language rarely has several of ours.
        let hint = self.hint(ids);
        if let Some((code, n)) = hint
            && (n >= 2 || ids.len() <= SHORT)
            && mostly_latin(folded)
        {
            return Ok((Some(code), (0.5 + 0.1 * n as f32).min(0.95)));
        }
        let Some(info) = self.restricted.detect(folded) else {
            // No letters at all (emoji, numbers) is not "another language".
            return match whatlang::detect_script(folded) {
                Some(_) => Err(DropReason::Language),
                None => Ok((None, 0.0)),
            };
        };
        // A script only one language writes (kana: Japanese) comes back
        // whatever the allow-list says.
        let detected = iso_code(info.lang()).filter(|c| self.allowed.contains(c));
        if detected.is_none() {
            return Err(DropReason::Language);
        }
        let confidence = info.confidence() as f32;
        if info.is_reliable() {
            return Ok((detected, confidence));
        }
        if let Some((code, n)) = hint {
            return Ok((Some(code), (0.5 + 0.1 * n as f32).min(0.9)));
        }
        if !drop_others {
            return Ok((detected, confidence));
        }
        // Unsure among the allowed ones: is it another language outright?
        match whatlang::detect(folded) {
            Some(any) if any.is_reliable() && iso_code(any.lang()).is_none_or(|c| !self.allowed.contains(&c)) => {
                Err(DropReason::Language)
            }
            _ => Ok((detected, confidence)),
        }
    }

    /// The allowed language of a folded text, if it is one of them (for
    /// tools; `vocab` is the one this was built with).
    pub fn identify(&self, folded: &str, vocab: &Vocab) -> Option<String> {
        let mut words: Vec<Word> = Vec::new();
        crate::text::words_of(folded, &mut words);
        let mut ids = Vec::new();
        vocab.lookup(folded, &words, &mut ids);
        self.detect(folded, &ids, true)
            .ok()
            .and_then(|(l, _)| l.map(str::to_owned))
    }

    /// Sets the post's language: the one it declares when allowed, else the
    /// detected one. With `drop_others`, a post in another language is
    /// refused; without, it gets the likeliest allowed language.
    pub fn decide(&self, post: &mut Post, ids: &[u32], drop_others: bool) -> Result<(), DropReason> {
        if let Some(given) = &post.lang {
            let code = given.trim().to_ascii_lowercase();
            return match self.allowed.iter().find(|a| **a == code) {
                Some(a) => {
                    post.lang = Some((*a).to_owned());
                    post.lang_confidence = 1.0;
                    Ok(())
                }
                None => Err(DropReason::Language),
            };
        }
        let (lang, confidence) = self.detect(&post.norm, ids, drop_others)?;
        post.lang = lang.map(str::to_owned);
        post.lang_confidence = confidence;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::testing::normalized;

    fn stage() -> (Language, Vocab) {
        let mut vocab = Vocab::default();
        (Language::new(&["en".into(), "id".into()], &mut vocab), vocab)
    }

    fn decide(stage: &(Language, Vocab), p: &mut Post) -> Result<(), DropReason> {
        let mut ids = Vec::new();
        stage.1.lookup(&p.norm, &p.words, &mut ids);
        stage.0.decide(p, &ids, true)
    }

    fn detect(text: &str) -> Result<Option<String>, DropReason> {
        let mut p = normalized(text);
        decide(&stage(), &mut p).map(|_| p.lang)
    }

    #[test]
    fn english_and_indonesian() {
        assert_eq!(
            detect("We waited six hours in the emergency room and nobody came to check on my father")
                .unwrap()
                .as_deref(),
            Some("en")
        );
        assert_eq!(
            detect("Kami menunggu enam jam di IGD dan tidak ada dokter yang datang memeriksa ayah saya")
                .unwrap()
                .as_deref(),
            Some("id")
        );
    }

    #[test]
    fn short_code_mixed_posts_use_hints() {
        assert_eq!(
            detect("dokter gak dateng2, so annoying bgt").unwrap().as_deref(),
            Some("id")
        );
        assert_eq!(detect("the nurse was so kind, makasih").unwrap().as_deref(), Some("en"));
    }

    #[test]
    fn other_languages_are_dropped() {
        assert_eq!(
            detect("病院の待ち時間が長すぎて本当に疲れました"),
            Err(DropReason::Language)
        );
        assert_eq!(
            detect("Nous avons attendu pendant des heures aux urgences, personne ne nous a aidés"),
            Err(DropReason::Language)
        );
    }

    #[test]
    fn declared_language_is_trusted_when_allowed() {
        let stage = stage();
        let mut p = normalized("ok");
        p.lang = Some("ID".into());
        decide(&stage, &mut p).unwrap();
        assert_eq!((p.lang.as_deref(), p.lang_confidence), (Some("id"), 1.0));
        p.lang = Some("fr".into());
        assert_eq!(decide(&stage, &mut p), Err(DropReason::Language));
    }

    #[test]
    fn emoji_only_is_kept_without_language() {
        assert_eq!(detect("😡😡 100"), Ok(None));
    }
}
