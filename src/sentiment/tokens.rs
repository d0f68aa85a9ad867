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

/// Words of `text`, normalized, in order.
pub fn words(text: &str, out: &mut Vec<String>) {
    out.clear();
    for raw in text.split(|c: char| !c.is_alphanumeric()) {
        if raw.is_empty() {
            continue;
        }
        let mut w = if raw.bytes().any(|b| b.is_ascii_uppercase()) || !raw.is_ascii() {
            raw.to_lowercase()
        } else {
            raw.to_owned()
        };
        if w.len() > 1 && w.ends_with('2') && w[..w.len() - 1].chars().all(char::is_alphabetic) {
            w.pop();
        }
        if w.chars().count() > 3 && w.as_bytes().windows(3).any(|t| t[0] == t[1] && t[1] == t[2]) {
            w = collapse(&w);
        }
        let s = standard(&w);
        if s != w {
            w = s.to_owned();
        }
        out.push(w);
    }
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
