//! English valence in the manner of VADER (Hutto & Gilbert, 2014): a rated
//! lexicon, boosters and dampeners, negation up to three words back, "but"
//! contrast, ALL-CAPS and punctuation emphasis, emoji through their
//! descriptions, and the same normalization to [-1, 1].
//!
//! Two additions, both only where VADER finds nothing: an elongated word
//! ("sooo goood") is looked up with its repeats collapsed; and the common
//! Indonesian negators, boosters and contrast words count too, because posts
//! mix the languages ("pelayanannya not good banget").

use super::{Hits, TermHit, lexicon_map};
use crate::text::WordMap;
use rustc_hash::FxHashMap;

const B_INCR: f32 = 0.293;
const B_DECR: f32 = -0.293;
const C_INCR: f32 = 0.733;
const N_SCALAR: f32 = -0.74;
const ALPHA: f32 = 15.0;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
    // Indonesian, formal and informal
    "tidak",
    "tdk",
    "tak",
    "gak",
    "ga",
    "gk",
    "nggak",
    "ngga",
    "enggak",
    "engga",
    "bukan",
    "belum",
    "blm",
    "jangan",
    "kurang",
];

const BOOST_UP: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
    // Indonesian
    "sangat",
    "banget",
    "bgt",
    "bngt",
    "sekali",
    "amat",
    "terlalu",
    "paling",
    "benar-benar",
    "bener2",
    "parah",
];

const BOOST_DOWN: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "just enough",
    "kind of",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sort of",
    "sorta",
    "sortof",
    "sort-of",
    // Indonesian
    "agak",
    "sedikit",
    "lumayan",
    "cukup",
];

const SPECIAL_CASES: &[(&str, f32)] = &[
    ("the shit", 3.0),
    ("the bomb", 3.0),
    ("bad ass", 1.5),
    ("badass", 1.5),
    ("bus stop", 0.0),
    ("yeah right", -2.0),
    ("kiss of death", -1.5),
    ("to die for", 3.0),
    ("beating heart", 3.1),
    ("broken heart", -2.9),
];

/// Words after which the sentence turns: before them counts half, after
/// them one and a half.
const CONTRAST: &[&str] = &["but", "tapi", "tetapi", "namun", "padahal", "tp"];

pub struct Vader {
    lexicon: FxHashMap<String, f32>,
    emoji: FxHashMap<char, String>,
    boosters: FxHashMap<&'static str, f32>,
    special: FxHashMap<&'static str, f32>,
    /// Every word any of the lists above knows, with what each says of it:
    /// one lookup per token instead of one per list and per question.
    words: WordMap<Info>,
}

/// What the lexicons say of one exact (lowercase) word.
#[derive(Debug, Clone, Copy, Default)]
struct Info {
    valence: Option<f32>,
    booster: Option<f32>,
    negate: bool,
    contrast: bool,
    /// Starts a special case or a two-word booster.
    special_first: bool,
}

/// Every special case and two-word booster starts with one of these.
const SPECIAL_FIRST: &[&str] = &[
    "the", "bad", "badass", "bus", "yeah", "kiss", "to", "beating", "broken", "just", "kind", "sort",
];

/// One token as VADER sees it, with what the lexicons say of it.
struct Token<'a> {
    /// Borrowed when the token is lowercase already (most are).
    lower: std::borrow::Cow<'a, str>,
    upper: bool,
    /// In the lexicon exactly (VADER's `in lexicon` tests).
    in_lex: bool,
    /// Its valence, found exactly or with repeated letters collapsed.
    valence: Option<f32>,
    collapsed: bool,
    booster: Option<f32>,
    negate: bool,
    contrast: bool,
    special_first: bool,
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// VADER strips punctuation around a word unless that leaves two characters
/// or fewer (so that ":)" and ":D" survive).
fn strip_punc_if_word(token: &str) -> &str {
    let stripped = token.trim_matches(is_punct);
    // Byte length bounds the character count: only short tokens need counting.
    if stripped.len() <= 2 || (stripped.len() <= 8 && stripped.chars().count() <= 2) {
        token
    } else {
        stripped
    }
}

/// Python's `str.isupper`: some cased character, and none lowercase.
fn is_upper(s: &str) -> bool {
    if s.is_ascii() {
        let b = s.as_bytes();
        return b.iter().any(u8::is_ascii_uppercase) && !b.iter().any(u8::is_ascii_lowercase);
    }
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() {
            return false;
        }
        if c.is_uppercase() {
            cased = true;
        }
    }
    cased
}

/// "goooood" → "good", then "god": the two forms to try for an elongated word.
fn collapse_repeats(word: &str, keep: usize) -> Option<String> {
    let b = word.as_bytes();
    if b.len() < 3 || !b.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]) {
        return None;
    }
    let mut out = String::with_capacity(word.len());
    let mut prev = None;
    let mut run = 0;
    let mut changed = false;
    for c in word.chars() {
        if Some(c) == prev {
            run += 1;
        } else {
            run = 1;
            prev = Some(c);
        }
        if run <= keep {
            out.push(c);
        } else {
            changed = true;
        }
    }
    changed.then_some(out)
}

impl Vader {
    pub fn new(lexicon: &str, emoji: &str) -> Vader {
        let lexicon = lexicon_map(lexicon);
        let emoji = emoji
            .lines()
            .filter_map(|l| {
                let (e, desc) = l.split_once('\t')?;
                let mut chars = e.chars();
                let c = chars.next()?;
                chars.next().is_none().then(|| (c, desc.trim().to_owned()))
            })
            .collect();
        let boosters: FxHashMap<&'static str, f32> = BOOST_UP
            .iter()
            .map(|w| (*w, B_INCR))
            .chain(BOOST_DOWN.iter().map(|w| (*w, B_DECR)))
            .collect();
        let mut words: WordMap<Info> = WordMap::default();
        for (w, v) in &lexicon {
            words.get_or_insert_with(w, Info::default).valence = Some(*v);
        }
        for (w, b) in &boosters {
            words.get_or_insert_with(w, Info::default).booster = Some(*b);
        }
        for w in NEGATE {
            words.get_or_insert_with(w, Info::default).negate = true;
        }
        for w in CONTRAST {
            words.get_or_insert_with(w, Info::default).contrast = true;
        }
        for w in SPECIAL_FIRST {
            words.get_or_insert_with(w, Info::default).special_first = true;
        }
        Vader {
            lexicon,
            emoji,
            boosters,
            special: SPECIAL_CASES.iter().copied().collect(),
            words,
        }
    }

    pub fn lexicon(&self) -> &FxHashMap<String, f32> {
        &self.lexicon
    }

    pub fn valence(&self, word: &str) -> Option<f32> {
        self.lexicon.get(word).copied()
    }

    /// `raw` is a white-space token of `text`; `lowered` is all of `text`
    /// in ASCII lower case, when it is ASCII and has upper case.
    fn token<'a>(&self, raw: &'a str, text: &'a str, lowered: Option<&'a str>) -> Token<'a> {
        let orig = strip_punc_if_word(raw);
        let lower = if let Some(lowered) = lowered {
            // Same bytes, same places: borrow instead of allocating per token.
            let at = orig.as_ptr() as usize - text.as_ptr() as usize;
            std::borrow::Cow::Borrowed(&lowered[at..at + orig.len()])
        } else if orig.bytes().any(|b| b.is_ascii_uppercase())
            || (!orig.is_ascii() && orig.chars().any(char::is_uppercase))
        {
            std::borrow::Cow::Owned(orig.to_lowercase())
        } else {
            std::borrow::Cow::Borrowed(orig)
        };
        let info = self.words.get(lower.as_ref()).copied().unwrap_or_default();
        let mut valence = info.valence;
        let mut collapsed = false;
        let mut booster = info.booster;
        if valence.is_none() || booster.is_none() {
            // An elongated word ("goooood") is looked up as "good", then "god".
            for keep in [2, 1] {
                if let Some(c) = collapse_repeats(&lower, keep)
                    && let Some(other) = self.words.get(c.as_str())
                {
                    if valence.is_none() && other.valence.is_some() {
                        valence = other.valence;
                        collapsed = true;
                    }
                    booster = booster.or(other.booster);
                }
            }
        }
        Token {
            upper: is_upper(orig),
            in_lex: info.valence.is_some(),
            valence,
            collapsed,
            booster,
            negate: info.negate || (lower.as_bytes().contains(&b'\'') && lower.contains("n't")),
            contrast: info.contrast,
            special_first: info.special_first,
            lower,
        }
    }

    /// Emoji replaced by their descriptions, as VADER does.
    fn demojize<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if text.is_ascii() || !text.chars().any(|c| self.emoji.contains_key(&c)) {
            return text.into();
        }
        let mut out = String::with_capacity(text.len() + 32);
        let mut prev_space = true;
        for c in text.chars() {
            if let Some(desc) = self.emoji.get(&c) {
                if !prev_space {
                    out.push(' ');
                }
                out.push_str(desc);
                prev_space = false;
            } else {
                out.push(c);
                prev_space = c == ' ';
            }
        }
        out.into()
    }

    /// Compound score in [-1, 1], with the terms that made it.
    pub fn score(&self, text: &str, hits: &mut Hits) -> f32 {
        let text = self.demojize(text);
        let lowered =
            (text.is_ascii() && text.bytes().any(|b| b.is_ascii_uppercase())).then(|| text.to_ascii_lowercase());
        let tokens: Vec<Token> = text
            .split_whitespace()
            .map(|t| self.token(t, &text, lowered.as_deref()))
            .collect();
        if tokens.is_empty() {
            return 0.0;
        }
        let upper = tokens.iter().filter(|t| t.upper).count();
        let cap_diff = upper > 0 && upper < tokens.len();
        let mut sentiments = Vec::with_capacity(tokens.len());
        for i in 0..tokens.len() {
            if tokens[i].booster.is_some()
                || (tokens[i].lower == "kind" && tokens.get(i + 1).is_some_and(|n| n.lower == "of"))
            {
                sentiments.push(0.0);
                continue;
            }
            let v = self.valence_at(&tokens, i, cap_diff, hits);
            sentiments.push(v);
        }
        if let Some(bi) = tokens.iter().position(|t| t.contrast) {
            for (si, s) in sentiments.iter_mut().enumerate() {
                if si < bi {
                    *s *= 0.5;
                } else if si > bi {
                    *s *= 1.5;
                }
            }
        }
        let mut sum: f32 = sentiments.iter().sum();
        let emphasis = punctuation_emphasis(&text);
        if sum > 0.0 {
            sum += emphasis;
        } else if sum < 0.0 {
            sum -= emphasis;
        }
        normalize(sum)
    }

    fn valence_at(&self, tokens: &[Token], i: usize, cap_diff: bool, hits: &mut Hits) -> f32 {
        let lower = tokens[i].lower.as_ref();
        let Some(base) = tokens[i].valence else {
            return 0.0;
        };
        let word = |k: usize| tokens[k].lower.as_ref();
        let in_lex = |k: usize| tokens[k].in_lex;
        let mut valence = base;
        // "no" as a determiner of the next rated word, not a rated word itself.
        if lower == "no" && i + 1 < tokens.len() && in_lex(i + 1) {
            valence = 0.0;
        }
        if (i > 0 && word(i - 1) == "no")
            || (i > 1 && word(i - 2) == "no")
            || (i > 2 && word(i - 3) == "no" && matches!(word(i - 1), "or" | "nor"))
        {
            valence = base * N_SCALAR;
        }
        if cap_diff && tokens[i].upper {
            valence += if valence > 0.0 { C_INCR } else { -C_INCR };
        }
        for start in 0..3 {
            if i > start && !in_lex(i - (start + 1)) {
                let prev = &tokens[i - (start + 1)];
                let mut s = scalar(prev, valence, cap_diff);
                if start == 1 && s != 0.0 {
                    s *= 0.95;
                }
                if start == 2 && s != 0.0 {
                    s *= 0.9;
                }
                valence += s;
                valence = negation_check(valence, tokens, start, i);
                if start == 2 {
                    valence = self.special_check(valence, tokens, i);
                }
            }
        }
        valence = least_check(valence, tokens, i, in_lex);
        if valence != 0.0 {
            hits.add(|| TermHit {
                term: if tokens[i].collapsed {
                    [2, 1]
                        .into_iter()
                        .filter_map(|keep| collapse_repeats(lower, keep))
                        .find(|c| self.lexicon.contains_key(c))
                        .unwrap_or_else(|| lower.to_owned())
                } else {
                    lower.to_owned()
                },
                weight: valence,
                lexicon: "en-vader",
            });
        }
        valence
    }

    fn special_check(&self, mut valence: f32, tokens: &[Token], i: usize) -> f32 {
        let w = |k: usize| tokens[k].lower.as_ref();
        if !(i.saturating_sub(3)..(i + 1).min(tokens.len())).any(|k| tokens[k].special_first) {
            return valence;
        }
        let seqs = [
            format!("{} {}", w(i - 1), w(i)),
            format!("{} {} {}", w(i - 2), w(i - 1), w(i)),
            format!("{} {}", w(i - 2), w(i - 1)),
            format!("{} {} {}", w(i - 3), w(i - 2), w(i - 1)),
            format!("{} {}", w(i - 3), w(i - 2)),
        ];
        if let Some(v) = seqs.iter().find_map(|s| self.special.get(s.as_str())) {
            valence = *v;
        }
        if i + 1 < tokens.len()
            && let Some(v) = self.special.get(format!("{} {}", w(i), w(i + 1)).as_str())
        {
            valence = *v;
        }
        if i + 2 < tokens.len()
            && let Some(v) = self.special.get(format!("{} {} {}", w(i), w(i + 1), w(i + 2)).as_str())
        {
            valence = *v;
        }
        for n_gram in [&seqs[3], &seqs[4], &seqs[2]] {
            if let Some(b) = self.boosters.get(n_gram.as_str()) {
                valence += b;
            }
        }
        valence
    }
}

fn scalar(token: &Token, valence: f32, cap_diff: bool) -> f32 {
    let Some(mut scalar) = token.booster else {
        return 0.0;
    };
    if valence < 0.0 {
        scalar = -scalar;
    }
    if cap_diff && token.upper {
        scalar += if valence > 0.0 { C_INCR } else { -C_INCR };
    }
    scalar
}

fn negation_check(valence: f32, tokens: &[Token], start: usize, i: usize) -> f32 {
    let w = |k: usize| tokens[k].lower.as_ref();
    let negated = |k: usize| tokens[k].negate;
    match start {
        0 if negated(i - 1) => valence * N_SCALAR,
        1 if w(i - 2) == "never" && matches!(w(i - 1), "so" | "this") => valence * 1.25,
        1 if w(i - 2) == "without" && w(i - 1) == "doubt" => valence,
        1 if negated(i - 2) => valence * N_SCALAR,
        2 if (w(i - 3) == "never" && matches!(w(i - 2), "so" | "this")) || matches!(w(i - 1), "so" | "this") => {
            valence * 1.25
        }
        2 if w(i - 3) == "without" && (w(i - 2) == "doubt" || w(i - 1) == "doubt") => valence,
        2 if negated(i - 3) => valence * N_SCALAR,
        _ => valence,
    }
}

fn least_check(valence: f32, tokens: &[Token], i: usize, in_lex: impl Fn(usize) -> bool) -> f32 {
    let w = |k: usize| tokens[k].lower.as_ref();
    if i > 1 && !in_lex(i - 1) && w(i - 1) == "least" {
        if w(i - 2) != "at" && w(i - 2) != "very" {
            return valence * N_SCALAR;
        }
    } else if i > 0 && !in_lex(i - 1) && w(i - 1) == "least" {
        return valence * N_SCALAR;
    }
    valence
}

/// Exclamation marks (up to four) and question marks strengthen the sum.
fn punctuation_emphasis(text: &str) -> f32 {
    let ep = text.bytes().filter(|b| *b == b'!').count().min(4) as f32 * 0.292;
    let qm = match text.bytes().filter(|b| *b == b'?').count() {
        0 | 1 => 0.0,
        n @ 2..=3 => n as f32 * 0.18,
        _ => 0.96,
    };
    ep + qm
}

pub fn normalize(sum: f32) -> f32 {
    (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vader() -> Vader {
        Vader::new(
            include_str!("../../rules/lexicons/en-vader.tsv"),
            include_str!("../../rules/lexicons/emoji-vader.tsv"),
        )
    }

    fn score(text: &str) -> f32 {
        (vader().score(text, &mut Hits::kept()) * 10000.0).round() / 10000.0
    }

    /// Compound scores of VADER 3.3.2's own examples, as its Python
    /// implementation prints them.
    #[test]
    fn matches_the_reference_implementation() {
        assert_eq!(score("VADER is smart, handsome, and funny."), 0.8316);
        assert_eq!(score("VADER is smart, handsome, and funny!"), 0.8439);
        assert_eq!(score("VADER is very smart, handsome, and funny."), 0.8545);
        assert_eq!(score("VADER is VERY SMART, handsome, and FUNNY."), 0.9227);
        assert_eq!(score("VADER is VERY SMART, handsome, and FUNNY!!!"), 0.9342);
        assert_eq!(score("VADER is not smart, handsome, nor funny."), -0.7424);
        assert_eq!(score("The book was good."), 0.4404);
        assert_eq!(score("At least it isn't a horrible book."), 0.431);
        assert_eq!(score("The book was only kind of good."), 0.3832);
        assert_eq!(
            score("The plot was good, but the characters are uncompelling and the dialog is not great."),
            -0.7042
        );
        assert_eq!(score("Today SUX!"), -0.5461);
        assert_eq!(score("Today only kinda sux! But I'll get by, lol"), 0.5249);
        assert_eq!(score("Make sure you :) or :D today!"), 0.8633);
        assert_eq!(score("Not bad at all"), 0.431);
        assert_eq!(score(""), 0.0);
    }

    #[test]
    fn emoji_count_through_their_descriptions() {
        assert!(score("Catch utf-8 emoji such as 💘 and 💋 and 😁") > 0.7);
        assert!(score("ugh 😡") < -0.3);
    }

    #[test]
    fn elongated_words_and_indonesian_modifiers() {
        assert!(score("soooo goooood") > score("so good") - 0.01);
        assert!(score("pelayanannya not good") < 0.0);
        assert!(score("dokternya tidak friendly") < 0.0);
    }
}
