//! Operator rule packs: what makes a post a complaint of some kind, in
//! files operators edit and test (`rules/*.toml`).
//!
//! A rule has a stable id and version, a status, categories, languages, a
//! risk weight (and optionally a severity floor), named matchers (keyword
//! lists, regexes on the lowercased text, "A within N words of B"), a
//! condition over them, notes on false positives, and embedded tests.
//!
//! All packs compile into one matcher: every keyword and proximity phrase of
//! every rule in one word trie, walked over the post's word numbers (looked
//! up once per post, see `text::Vocab`), so the cost of keywords does not
//! grow with their number. Regexes run each with its own literal prefilter.

pub mod condition;
mod pack;
pub mod testing;

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::model::Severity;
use crate::text::{Phrases, Vocab, Word};
use condition::Expr;
use regex::Regex;
use serde::Deserialize;
use std::ops::Range;
use std::path::Path;

/// The default packs, built into the binary.
pub const BUILTIN: &[(&str, &str)] = &[
    ("rules/healthcare.toml", include_str!("../../rules/healthcare.toml")),
    ("rules/service.toml", include_str!("../../rules/service.toml")),
];

/// Regexes are compiled with these limits, so that a pattern cannot take
/// unbounded memory; matching is linear in the text whatever the pattern.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Each regex's lazy DFA cache. Rule regexes with bounded repetitions of
/// Unicode classes (`[^.!?]{0,30}`) have many states; a cache too small to
/// hold them is rebuilt over and over, post after post.
pub const REGEX_DFA_CACHE: usize = 8 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Experimental,
    Stable,
    /// Kept for reference; never evaluated.
    Deprecated,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub version: u32,
    pub pack: String,
    pub status: Status,
    pub categories: Vec<String>,
    pub languages: Vec<String>,
    /// Risk points when it fires; negative for what lowers risk (praise).
    pub weight: f32,
    /// The least severity of a post about a provider when it fires.
    pub severity: Option<Severity>,
    pub requires_provider: bool,
    pub falsepositives: Vec<String>,
    pub matchers: Vec<Matcher>,
    pub condition: Expr,
    pub tests: Vec<RuleTest>,
    pub at: Location,
}

#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub kind: MatcherKind,
}

#[derive(Debug, Clone)]
pub enum MatcherKind {
    Keywords(Vec<String>),
    Regex(Regex),
    Near {
        left: Vec<String>,
        right: Vec<String>,
        within: usize,
    },
}

#[derive(Debug, Clone)]
pub struct RuleTest {
    pub text: String,
    pub lang: Option<String>,
    /// Evaluate as if the post named a provider.
    pub provider: bool,
    pub fires: bool,
    /// The matchers expected to match, when given.
    pub hits: Option<Vec<String>>,
    pub at: Location,
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Keyword,
    Left,
    Right,
}

/// All packs, compiled.
pub struct Rules {
    pub rules: Vec<Rule>,
    /// Where they came from (file names), for messages.
    pub origin: String,
    /// Index of each rule's first matcher in the flat matcher list.
    base: Vec<usize>,
    total: usize,
    /// The words of every phrase. An engine extends a copy of it with its
    /// other tables' words, so the numbers here stay valid there.
    vocab: Vocab,
    phrases: Phrases<(u32, Role)>,
    /// Flat matcher index of each regex matcher, and what its matches must
    /// contain.
    regex_owner: Vec<(usize, Option<Gate>)>,
    /// Flat matcher index → (rule, matcher).
    owner: Vec<(usize, usize)>,
}

/// The literals every match of a regex ends with (as `regex-syntax` finds
/// them), when there are few: a text without any of them cannot match, and
/// finding that out is a memchr, where the regex would scan from every
/// place its prefix could start. ("…[^.!?]*\?" needs a "?".)
#[derive(Debug, Clone)]
struct Gate {
    suffixes: aho_corasick::AhoCorasick,
}

impl Gate {
    fn new(pattern: &str) -> Option<Gate> {
        use regex_syntax::hir::literal::{ExtractKind, Extractor};
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let mut seq = Extractor::new().kind(ExtractKind::Suffix).extract(&hir);
        seq.optimize_for_suffix_by_preference();
        let literals = seq.literals()?;
        if literals.is_empty() || literals.len() > 64 || literals.iter().any(|l| l.as_bytes().is_empty()) {
            return None;
        }
        let suffixes = aho_corasick::AhoCorasick::new(literals.iter().map(|l| l.as_bytes())).ok()?;
        Some(Gate { suffixes })
    }

    fn admits(&self, text: &str) -> bool {
        self.suffixes.is_match(text)
    }
}

/// A rule that fired, with the span each matcher matched.
#[derive(Debug, Clone)]
pub struct Fired {
    pub rule: usize,
    pub spans: Vec<(usize, Range<usize>)>,
}

/// What a post is, for the rules.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Lowercased, white-space-folded subject and text.
    pub folded: &'a str,
    /// Its words, and their numbers in `Rules::vocab` (or an extension of it).
    pub words: &'a [Word],
    pub ids: &'a [u32],
    pub lang: Option<&'a str>,
    pub has_provider: bool,
}

/// A folded text with its words and their numbers, for evaluating rules on
/// text outside the pipeline (rule tests, tools).
pub struct Read {
    pub folded: String,
    pub words: Vec<Word>,
    pub ids: Vec<u32>,
}

impl Read {
    pub fn subject<'a>(&'a self, lang: Option<&'a str>, has_provider: bool) -> Subject<'a> {
        Subject {
            folded: &self.folded,
            words: &self.words,
            ids: &self.ids,
            lang,
            has_provider,
        }
    }
}

impl Rules {
    pub fn builtin() -> Rules {
        Rules::from_sources(BUILTIN.iter().map(|(o, t)| (o.to_string(), t.to_string())).collect())
            .expect("the built-in rule packs pass `earshot rules check`")
    }

    /// Every `*.toml` pack in `dir`, in name order.
    pub fn load_dir(dir: &Path) -> Result<Rules, Diagnostics> {
        let read = |e: std::io::Error| {
            Diagnostics::one(Diagnostic::new(
                None,
                format!("rules {}: {e}", dir.display()),
                Some("point [scoring] rules at a directory of *.toml rule packs".into()),
            ))
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(read)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Diagnostics::one(Diagnostic::new(
                None,
                format!("rules {}: no *.toml rule packs", dir.display()),
                None,
            )));
        }
        let mut sources = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(read)?;
            sources.push((f.display().to_string(), text));
        }
        Rules::from_sources(sources)
    }

    /// Parses, checks and compiles packs given as (file name, text).
    pub fn from_sources(sources: Vec<(String, String)>) -> Result<Rules, Diagnostics> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (origin, text) in &sources {
            let (mut r, mut e) = pack::parse(text, origin);
            rules.append(&mut r);
            errors.append(&mut e);
        }
        let mut seen: Vec<(&str, &Location)> = Vec::new();
        for r in &rules {
            if let Some((_, first)) = seen.iter().find(|(id, _)| *id == r.id) {
                errors.push(Diagnostic::new(
                    Some(r.at.clone()),
                    format!("rule id `{}` is already used at {first}", r.id),
                    Some("rule ids are stable names in tickets: give each rule its own".into()),
                ));
            } else {
                seen.push((&r.id, &r.at));
            }
        }
        if !errors.is_empty() {
            return Err(Diagnostics(errors).sorted());
        }
        let origin = sources.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>().join(", ");
        Ok(Rules::compile(rules, origin))
    }

    fn compile(rules: Vec<Rule>, origin: String) -> Rules {
        let mut base = Vec::with_capacity(rules.len());
        let mut owner = Vec::new();
        let mut phrases = Vec::new();
        let mut regex_owner = Vec::new();
        for (ri, rule) in rules.iter().enumerate() {
            base.push(owner.len());
            for (mi, m) in rule.matchers.iter().enumerate() {
                let flat = owner.len() as u32;
                owner.push((ri, mi));
                match &m.kind {
                    MatcherKind::Keywords(words) => {
                        phrases.extend(words.iter().map(|w| (w.clone(), (flat, Role::Keyword))));
                    }
                    MatcherKind::Near { left, right, .. } => {
                        phrases.extend(left.iter().map(|w| (w.clone(), (flat, Role::Left))));
                        phrases.extend(right.iter().map(|w| (w.clone(), (flat, Role::Right))));
                    }
                    MatcherKind::Regex(re) => regex_owner.push((flat as usize, Gate::new(re.as_str()))),
                }
            }
        }
        let mut vocab = Vocab::default();
        let phrases = Phrases::new(phrases, &mut vocab);
        Rules {
            total: owner.len(),
            rules,
            origin,
            base,
            vocab,
            phrases,
            regex_owner,
            owner,
        }
    }

    /// The words of every rule phrase, numbered.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// `text` folded and split, its words numbered by this rule set.
    pub fn read(&self, text: &str) -> Read {
        let folded = crate::text::fold(text);
        let mut words = Vec::new();
        crate::text::words_of(&folded, &mut words);
        let mut ids = Vec::new();
        self.vocab.lookup(&folded, &words, &mut ids);
        Read { folded, words, ids }
    }

    /// The rules that fire on `subject`, in pack order. `only` restricts the
    /// evaluation to one rule (for its tests).
    pub fn evaluate(&self, subject: Subject<'_>, only: Option<usize>) -> Vec<Fired> {
        let spans = self.spans(subject);
        let mut fired = Vec::new();
        let mut hits: Vec<bool> = Vec::new();
        for (ri, rule) in self.rules.iter().enumerate() {
            if only.is_some_and(|o| o != ri) || rule.status == Status::Deprecated {
                continue;
            }
            let own = &spans[self.base[ri]..self.base[ri] + rule.matchers.len()];
            if own.iter().all(Option::is_none) {
                continue; // a checked condition never holds with no matcher
            }
            if rule.requires_provider && !subject.has_provider {
                continue;
            }
            if !rule.languages.is_empty() && subject.lang.is_some_and(|l| !rule.languages.iter().any(|x| x == l)) {
                continue;
            }
            hits.clear();
            hits.extend(own.iter().map(Option::is_some));
            if rule.condition.eval(&hits) {
                let spans = own
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| s.clone().map(|s| (i, s)))
                    .collect();
                fired.push(Fired { rule: ri, spans });
            }
        }
        fired
    }

    /// The spans each matcher of rule `ri` matches, whether or not it fires.
    pub fn matcher_spans(&self, subject: Subject<'_>, ri: usize) -> Vec<(usize, Range<usize>)> {
        let spans = self.spans(subject);
        spans[self.base[ri]..self.base[ri] + self.rules[ri].matchers.len()]
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.clone().map(|s| (i, s)))
            .collect()
    }

    /// Every matcher's first span in the folded text, by flat matcher index.
    fn spans(&self, subject: Subject<'_>) -> Vec<Option<Range<usize>>> {
        let mut spans: Vec<Option<Range<usize>>> = vec![None; self.total];
        // Proximity sides: (flat matcher, left side?, first word, last word).
        let mut sides: Vec<(usize, bool, usize, usize)> = Vec::new();
        let words = subject.words;
        self.phrases.find(subject.ids, |values, i, j| {
            for (flat, role) in values {
                let flat = *flat as usize;
                match role {
                    Role::Keyword => {
                        spans[flat].get_or_insert(words[i].start as usize..words[j].end as usize);
                    }
                    Role::Left => sides.push((flat, true, i, j)),
                    Role::Right => sides.push((flat, false, i, j)),
                }
            }
        });
        for (flat, gate) in &self.regex_owner {
            if gate.as_ref().is_some_and(|g| !g.admits(subject.folded)) {
                continue;
            }
            let (ri, mi) = self.owner[*flat];
            if let MatcherKind::Regex(re) = &self.rules[ri].matchers[mi].kind {
                spans[*flat] = re.find(subject.folded).map(|m| m.range());
            }
        }
        if !sides.is_empty() {
            self.near(words, &sides, &mut spans);
        }
        spans
    }

    /// Proximity matchers: a left and a right phrase, in either order, with at
    /// most `within` words between them.
    fn near(&self, words: &[Word], sides: &[(usize, bool, usize, usize)], spans: &mut [Option<Range<usize>>]) {
        for &(flat, _, ls, le) in sides.iter().filter(|s| s.1) {
            if spans[flat].is_some() {
                continue;
            }
            let (ri, mi) = self.owner[flat];
            let MatcherKind::Near { within, .. } = self.rules[ri].matchers[mi].kind else {
                continue;
            };
            for &(_, _, rs, re) in sides.iter().filter(|s| s.0 == flat && !s.1) {
                // Words strictly between the two phrases (0 when adjacent or overlapping).
                let gap = if rs > le {
                    rs - le - 1
                } else {
                    ls.saturating_sub(re + 1)
                };
                if gap <= within {
                    let (a, b) = (ls.min(rs), le.max(re));
                    spans[flat] = Some(words[a].start as usize..words[b].end as usize);
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACK: &str = r#"
[pack]
id = "t"

[[rules]]
id = "late-doctor"
status = "stable"
categories = ["doctor_absent"]
weight = 20
condition = "late and not question"

[rules.match.late]
near = { left = ["dokter", "doctor"], right = ["telat", "late"], within = 3 }

[rules.match.question]
regex = '\?\s*$'

[[rules.tests]]
text = "dokter di poli anak telat 2 jam"
fires = true

[[rules.tests]]
text = "apa dokternya telat hari ini?"
fires = false
"#;

    fn rules() -> Rules {
        Rules::from_sources(vec![("t.toml".into(), PACK.into())]).unwrap()
    }

    fn fires(text: &str) -> bool {
        let rules = rules();
        let read = rules.read(text);
        !rules.evaluate(read.subject(Some("id"), true), None).is_empty()
    }

    #[test]
    fn proximity_and_negated_regex() {
        assert!(fires("Dokter di poli anak telat 2 jam"));
        assert!(fires("the doctor was very late"));
        assert!(!fires("dokter gigi di klinik itu baik dan sabar walau sering telat"));
        assert!(!fires("dokter telat lagi?"));
    }

    #[test]
    fn regexes_are_gated_by_the_suffixes_their_matches_need() {
        let gate = Gate::new(r"\b(how|when)\b[^.!?]*\?").expect("a finite suffix set");
        assert!(gate.admits("how long is the wait?"));
        assert!(!gate.admits("how long the wait was."));
        // Optional or open-ended endings give no gate: every text may match.
        assert!(Gate::new(r"wait(ed)?\s*\d*").is_none());
        assert!(Gate::new(r"a.*").is_none());
    }

    #[test]
    fn builtin_packs_compile() {
        let r = Rules::builtin();
        assert!(r.rules.len() >= 14, "{}", r.rules.len());
    }
}
