//! Tokens for the Indonesian model: lowercase words with informal spellings
//! mapped to their standard form, elongations collapsed ("bagusss" →
//! "bagus") and reduplication marks dropped ("anak2" → "anak").

/// Informal spelling → standard form, as written on Indonesian social media.
const SLANG: &[(&str, &str)] = &[
    ("gak", "tidak"),
    ("ga", "tidak"),
    ("gk", "tidak"),
    ("nggak", "tidak"),
    ("ngga", "tidak"),
    ("enggak", "tidak"),
    ("engga", "tidak"),
    ("tdk", "tidak"),
    ("tak", "tidak"),
    ("ndak", "tidak"),
    ("kagak", "tidak"),
    ("bgt", "banget"),
    ("bngt", "banget"),
    ("bener", "benar"),
    ("yg", "yang"),
    ("dgn", "dengan"),
    ("dg", "dengan"),
    ("udh", "sudah"),
    ("udah", "sudah"),
    ("sdh", "sudah"),
    ("dah", "sudah"),
    ("blm", "belum"),
    ("krn", "karena"),
    ("karna", "karena"),
    ("jg", "juga"),
    ("sy", "saya"),
    ("aja", "saja"),
    ("emg", "memang"),
    ("emang", "memang"),
    ("org", "orang"),
    ("tp", "tapi"),
    ("tpi", "tapi"),
    ("trs", "terus"),
    ("skrg", "sekarang"),
    ("utk", "untuk"),
    ("dr", "dari"),
    ("lg", "lagi"),
    ("kalo", "kalau"),
    ("klo", "kalau"),
    ("gimana", "bagaimana"),
    ("gmn", "bagaimana"),
    ("bgs", "bagus"),
    ("mkn", "makan"),
    ("bs", "bisa"),
    ("bisa2", "bisa"),
    ("sm", "sama"),
    ("dpt", "dapat"),
    ("dapet", "dapat"),
    ("pengen", "ingin"),
    ("pgn", "ingin"),
    ("pingin", "ingin"),
    ("gue", "saya"),
    ("gw", "saya"),
    ("aku", "saya"),
    ("lo", "kamu"),
    ("lu", "kamu"),
    ("tau", "tahu"),
    ("tdr", "tidur"),
    ("bkn", "bukan"),
    ("jd", "jadi"),
    ("jdi", "jadi"),
    ("cmn", "cuma"),
    ("cm", "cuma"),
    ("doang", "saja"),
    ("mantep", "mantap"),
    ("mantul", "mantap"),
    ("rekomen", "rekomendasi"),
    ("recommended", "rekomendasi"),
    ("ramahh", "ramah"),
    ("nyesel", "menyesal"),
    ("kecewaa", "kecewa"),
    ("telat", "terlambat"),
    ("lama2", "lama"),
    ("pelayananya", "pelayanannya"),
];

static STANDARD: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, &'static str>> =
    std::sync::LazyLock::new(|| SLANG.iter().copied().collect());

pub fn standard(word: &str) -> &str {
    STANDARD.get(word).copied().unwrap_or(word)
}

/// Collapse runs of three or more of one letter to one.
fn collapse(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let chars: Vec<char> = word.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let run = j - i;
        let keep = if run >= 3 && chars[i].is_alphabetic() { 1 } else { run };
        out.extend(std::iter::repeat_n(chars[i], keep));
        i = j;
    }
    out
}

/// The informal spellings and their standard forms.
pub fn slang() -> &'static [(&'static str, &'static str)] {
    SLANG
}

/// Whether `each_spelling` passes this word as it is.
pub fn plain(raw: &str) -> bool {
    !raw.bytes().any(|b| b.is_ascii_uppercase()) && plain_lowercase(raw)
}

/// `plain`, for a word known to have no upper case.
pub fn plain_lowercase(raw: &str) -> bool {
    let b = raw.as_bytes();
    let reduplicated = b.len() > 1 && b[b.len() - 1] == b'2';
    let elongated = b.len() > 3 && b.windows(3).any(|t| t[0] == t[1] && t[1] == t[2]);
    raw.is_ascii() && !reduplicated && !elongated
}

/// Calls `f` with each word of `text`, normalized, in order.
pub fn each_word(text: &str, mut f: impl FnMut(&str)) {
    each_spelling(text, |w| f(standard(w)));
}

/// As `each_word`, but informal spellings are left as written (for callers
/// whose tables map them already). Words that need no change are passed as
/// they are; the others are built in one reused buffer, so the common case
/// allocates nothing.
pub fn each_spelling(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    for raw in crate::text::alnum_words(text) {
        let b = raw.as_bytes();
        if plain(raw) {
            f(raw);
            continue;
        }
        buf.clear();
        if b.iter().any(u8::is_ascii_uppercase) || !raw.is_ascii() {
            buf.extend(raw.chars().flat_map(char::to_lowercase));
        } else {
            buf.push_str(raw);
        }
        if buf.len() > 1 && buf.ends_with('2') && buf[..buf.len() - 1].chars().all(char::is_alphabetic) {
            buf.pop();
        }
        if buf.chars().count() > 3 && buf.as_bytes().windows(3).any(|t| t[0] == t[1] && t[1] == t[2]) {
            buf = collapse(&buf);
        }
        f(&buf);
    }
}

/// Words of `text`, normalized, in order.
pub fn words(text: &str, out: &mut Vec<String>) {
    out.clear();
    each_word(text, |w| out.push(w.to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_informal_indonesian() {
        let mut w = Vec::new();
        words("Pelayanannya GAK ramahhh bgt, anak2 nunggu lamaaa!!", &mut w);
        assert_eq!(
            w,
            ["pelayanannya", "tidak", "ramah", "banget", "anak", "nunggu", "lama"]
        );
        words("", &mut w);
        assert!(w.is_empty());
    }
}
