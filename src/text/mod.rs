//! Text helpers shared by the stages: folding, the words of a folded text,
//! the vocabulary that numbers them once per post, and phrases of whole
//! words found by those numbers.

use std::ops::Range;

mod phrases;
mod vocab;
pub use phrases::*;
pub use vocab::*;

/// Lowercase and fold every run of white space to one space.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return fold_ascii(text);
    }
    fold_chars(text)
}

fn fold_chars(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `fold`, and the words of the folded text (see `words_of`), in one pass
/// for ASCII text (most posts).
pub fn fold_words(text: &str, words: &mut Vec<Word>) -> String {
    words.clear();
    if !text.is_ascii() {
        let folded = fold_chars(text);
        words_of(&folded, words);
        return folded;
    }
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    // About one word in five bytes: reserve once rather than grow in steps.
    words.reserve(text.len() / 4 + 4);
    let mut space = false;
    let mut token = 0u32;
    let mut start = 0usize;
    let mut in_word = false;
    for &b in text.as_bytes() {
        if ASCII_SPACE[b as usize] {
            space = !out.is_empty();
            if in_word {
                words.push(Word {
                    start: start as u32,
                    end: out.len() as u32,
                    token,
                });
                in_word = false;
            }
            continue;
        }
        if space {
            out.push(b' ');
            token += 1;
            space = false;
        }
        let alnum = ASCII_ALNUM[b as usize];
        if alnum != in_word {
            if alnum {
                start = out.len();
            } else {
                words.push(Word {
                    start: start as u32,
                    end: out.len() as u32,
                    token,
                });
            }
            in_word = alnum;
        }
        out.push(b.to_ascii_lowercase());
    }
    if in_word {
        words.push(Word {
            start: start as u32,
            end: out.len() as u32,
            token,
        });
    }
    String::from_utf8(out).expect("ASCII in, ASCII out")
}

/// `fold` for ASCII text (most posts), a byte at a time.
fn fold_ascii(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut space = false;
    for &b in text.as_bytes() {
        if b.is_ascii_whitespace() || b == 0x0b {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(b' ');
            space = false;
        }
        out.push(b.to_ascii_lowercase());
    }
    String::from_utf8(out).expect("ASCII in, ASCII out")
}

/// The runs of alphanumeric characters in `text`, in order: the words every
/// lexicon lookup reads. ASCII is classified a byte at a time; only other
/// characters are decoded.
pub fn alnum_words(text: &str) -> AlnumWords<'_> {
    AlnumWords { text, pos: 0 }
}

pub struct AlnumWords<'a> {
    text: &'a str,
    pos: usize,
}

impl AlnumWords<'_> {
    /// Whether the character at `pos` is alphanumeric, and its length.
    #[inline(always)]
    fn at(&self, pos: usize) -> (bool, usize) {
        let b = self.text.as_bytes()[pos];
        if b < 0x80 {
            return (b.is_ascii_alphanumeric(), 1);
        }
        let c = self.text[pos..].chars().next().expect("pos is on a char boundary");
        (c.is_alphanumeric(), c.len_utf8())
    }
}

impl<'a> Iterator for AlnumWords<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let len = self.text.len();
        while self.pos < len {
            let (word, n) = self.at(self.pos);
            if word {
                break;
            }
            self.pos += n;
        }
        if self.pos >= len {
            return None;
        }
        let start = self.pos;
        while self.pos < len {
            let (word, n) = self.at(self.pos);
            if !word {
                break;
            }
            self.pos += n;
        }
        Some(&self.text[start..self.pos])
    }
}

/// Cut `text` to at most `max` bytes, on a character boundary.
pub fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// A word of a folded text: a run of letters and digits, its byte range,
/// and the index of the white-space-separated token it is part of. Folding
/// only lowercases and folds white space, so that token is also the word's
/// token in the original text (what the English scorer reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    pub start: u32,
    pub end: u32,
    pub token: u32,
}

impl Word {
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Letters and digits among the bytes (only ASCII ones are).
static ASCII_ALNUM: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 128 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    t
};

/// White space among the bytes, as `char::is_whitespace` has it for ASCII.
static ASCII_SPACE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 128 {
        t[i] = (i as u8).is_ascii_whitespace() || i == 0x0b;
        i += 1;
    }
    t
};

/// The words of a folded text, in order (see `Word`).
pub fn words_of(folded: &str, out: &mut Vec<Word>) {
    out.clear();
    // About one word in five bytes: reserve once rather than grow in steps.
    out.reserve(folded.len() / 4 + 4);
    let bytes = folded.as_bytes();
    let mut token = 0u32;
    let mut start = 0usize;
    let mut in_word = false;
    let mut pos = 0usize;
    while pos < bytes.len() {
        let b = bytes[pos];
        let (alnum, n) = if b < 0x80 {
            (ASCII_ALNUM[b as usize], 1)
        } else {
            let c = folded[pos..].chars().next().expect("pos is on a char boundary");
            (c.is_alphanumeric(), c.len_utf8())
        };
        if alnum != in_word {
            if alnum {
                start = pos;
            } else {
                out.push(Word {
                    start: start as u32,
                    end: pos as u32,
                    token,
                });
            }
            in_word = alnum;
        }
        token += u32::from(b == b' ');
        pos += n;
    }
    if in_word {
        out.push(Word {
            start: start as u32,
            end: pos as u32,
            token,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_lowercases_and_folds_space() {
        assert_eq!(fold("  Rumah\tSakit \n\n HARAPAN  "), "rumah sakit harapan");
        assert_eq!(fold("İstanbul"), "i̇stanbul");
    }

    #[test]
    fn ascii_and_unicode_folds_agree() {
        for t in ["  A\tB\n\x0bc  ", "Dokter TELAT 2 jam!!", "", "   "] {
            assert_eq!(fold_ascii(t), fold_chars(t), "{t:?}");
        }
    }

    #[test]
    fn fold_words_is_fold_then_words_of() {
        for t in [
            "  Dokter,gak\tDATENG2!!  ok ",
            "café—naïve  100% ok",
            "",
            " ... ",
            "a_b c'd\n\ne",
        ] {
            let mut fused = Vec::new();
            let folded = fold_words(t, &mut fused);
            let mut apart = Vec::new();
            words_of(&fold(t), &mut apart);
            assert_eq!((folded, fused), (fold(t), apart), "{t:?}");
        }
    }

    #[test]
    fn alnum_words_split_like_char_classes() {
        for t in [
            "Dokter gak dateng2, so annoying!!",
            "café—naïve 100% ok",
            "",
            "...",
            "a_b c'd",
        ] {
            let expected: Vec<&str> = t
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            assert_eq!(alnum_words(t).collect::<Vec<_>>(), expected, "{t:?}");
        }
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        let mut s = "aé".to_string();
        truncate(&mut s, 2);
        assert_eq!(s, "a");
    }

    fn found<T: Copy>(set: &Phrases<T>, vocab: &Vocab, text: &str, longest: bool) -> Vec<(T, usize, usize)> {
        let folded = fold(text);
        let mut words = Vec::new();
        words_of(&folded, &mut words);
        let mut ids = Vec::new();
        vocab.lookup(&folded, &words, &mut ids);
        let mut out = Vec::new();
        let mut push = |v: &[T], i: usize, j: usize| out.extend(v.iter().map(|v| (*v, i, j)));
        if longest {
            set.find_longest(&ids, &mut push);
        } else {
            set.find(&ids, &mut push);
        }
        out
    }

    #[test]
    fn word_maps_keep_words_of_every_length_apart() {
        let mut m = WordMap::default();
        let words = [
            "",
            "a",
            "abcdefg",
            "abcdefgh",
            "abcdefghijklmno",
            "abcdefghijklmnop",
            "kasihé",
            "a\0",
        ];
        for (i, w) in words.iter().enumerate() {
            m.insert(w, i);
        }
        for (i, w) in words.iter().enumerate() {
            assert_eq!(m.get(w), Some(&i), "{w:?}");
        }
        assert_eq!(m.get("abcdef"), None);
        let mut all = Vec::new();
        m.for_each(|w, v| all.push((w.to_owned(), *v)));
        all.sort_by_key(|(_, v)| *v);
        assert_eq!(all.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>(), words);
    }

    #[test]
    fn words_carry_their_tokens() {
        let mut w = Vec::new();
        words_of("di rs-harapan, (kemarin) ok", &mut w);
        let got: Vec<(&str, u32)> = w
            .iter()
            .map(|w| (&"di rs-harapan, (kemarin) ok"[w.range()], w.token))
            .collect();
        assert_eq!(got, [("di", 0), ("rs", 1), ("harapan", 1), ("kemarin", 2), ("ok", 3)]);
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let mut vocab = Vocab::default();
        let set = Phrases::new(
            [
                ("RS Harapan".to_string(), 1),
                ("@rsh".to_string(), 2),
                ("bill".to_string(), 3),
                ("marah-marah".to_string(), 4),
            ],
            &mut vocab,
        );
        let hits = |t: &str| {
            found(&set, &vocab, t, false)
                .into_iter()
                .map(|h| h.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(hits("di rs harapan kemarin"), vec![1]);
        assert_eq!(hits("rs harapanku"), Vec::<i32>::new());
        assert_eq!(hits("cc @rsh, billing"), vec![2]);
        assert_eq!(hits("the bill."), vec![3]);
        assert_eq!(hits("(@rsh)"), vec![2]);
        assert_eq!(hits("dia marah marah terus"), vec![4]);
        let mut vocab = Vocab::default();
        let nested = Phrases::new([("still".to_string(), 1), ("still waiting".to_string(), 2)], &mut vocab);
        assert_eq!(
            found(&nested, &vocab, "still waiting", false),
            vec![(1, 0, 0), (2, 0, 1)],
            "overlapping phrases are all found"
        );
        assert_eq!(found(&nested, &vocab, "still waiting", true), vec![(2, 0, 1)]);
    }

    #[test]
    fn one_edit_apart() {
        for (a, b) in [
            ("sehat", "sehat"),
            ("sehta", "sehat"),
            ("seht", "sehat"),
            ("sehatt", "sehat"),
            ("sebat", "sehat"),
        ] {
            assert!(within_one_edit(a, b), "{a} {b}");
        }
        for (a, b) in [("shta", "sehat"), ("sehat", "seh"), ("utama", "atamu")] {
            assert!(!within_one_edit(a, b), "{a} {b}");
        }
    }

    #[test]
    fn a_phrase_given_twice_keeps_both_values() {
        let mut vocab = Vocab::default();
        let set = Phrases::new([("Kasar".to_string(), 1), ("kasar".to_string(), 2)], &mut vocab);
        let hits: Vec<_> = found(&set, &vocab, "petugas kasar", false)
            .into_iter()
            .map(|h| h.0)
            .collect();
        assert_eq!(hits, vec![1, 2]);
    }
}
