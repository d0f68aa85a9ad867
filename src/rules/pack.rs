//! Reading one rule pack file: TOML → rules, with every problem located.

use super::condition::{self, Expr};
use super::{Matcher, MatcherKind, REGEX_DFA_CACHE, REGEX_SIZE_LIMIT, Rule, RuleTest, Status};
use crate::diag::{Diagnostic, Item, Source};
use crate::model::Severity;
use regex::RegexBuilder;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;
use toml::de::DeTable;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    id: String,
    #[serde(default = "one")]
    version: u32,
    #[serde(default)]
    description: String,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    #[serde(default)]
    title: String,
    #[serde(default = "one")]
    version: u32,
    status: Status,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    languages: Vec<Spanned<String>>,
    #[serde(default)]
    weight: f32,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    requires_provider: bool,
    #[serde(default)]
    falsepositives: Vec<String>,
    #[serde(default)]
    condition: Option<Spanned<String>>,
    #[serde(default, rename = "match")]
    matchers: BTreeMap<String, Spanned<RawMatcher>>,
    #[serde(default)]
    tests: Vec<Spanned<RawTest>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatcher {
    keywords: Option<Vec<String>>,
    regex: Option<Spanned<String>>,
    near: Option<RawNear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNear {
    left: Vec<String>,
    right: Vec<String>,
    within: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    text: String,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    provider: bool,
    fires: bool,
    #[serde(default)]
    hits: Option<Vec<String>>,
}

const LANGUAGES: &[&str] = &["en", "id"];

/// The rules of one pack and the problems found in it.
pub fn parse(text: &str, origin: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
    let mut src = Source::new(text, origin);
    let mut rules = Vec::new();
    let root = match DeTable::parse(text) {
        Ok(root) => root.into_inner(),
        Err(e) => {
            src.error(e.span(), e.message().to_owned(), None);
            return (rules, src.errors);
        }
    };
    let mut pack_id = None;
    let mut items = Vec::new();
    for (key, value) in root {
        match key.get_ref().as_ref() {
            "pack" => {
                if let Some(p) = src.value::<RawPack>(value) {
                    let _ = (p.version, p.description);
                    pack_id = Some(p.id);
                }
            }
            "rules" => items = src.entries(value, "rules"),
            other => src.error(
                Some(key.span()),
                format!("unknown section `{other}`"),
                Some("a rule pack has a [pack] table and [[rules]] tables".into()),
            ),
        }
    }
    let Some(pack_id) = pack_id else {
        src.error(
            Some(0..0),
            "no [pack] table",
            Some("start the file with [pack] and id = \"...\"".into()),
        );
        return (rules, src.errors);
    };
    for item in items {
        if let Some(rule) = rule(&mut src, item, &pack_id) {
            rules.push(rule);
        }
    }
    (rules, src.errors)
}

fn rule(src: &mut Source<'_>, item: Item<'_>, pack: &str) -> Option<Rule> {
    let span = item.span();
    let raw: RawRule = src.value(item)?;
    let at = src.location(span.start);
    let id = raw.id.get_ref().trim().to_owned();
    let id_span = raw.id.span();
    let errors_before = src.errors.len();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        src.error(
            Some(id_span.clone()),
            format!("rule id `{id}` must be letters, digits, `-`, `_` or `.`"),
            None,
        );
    }
    for lang in &raw.languages {
        if !LANGUAGES.contains(&lang.get_ref().as_str()) {
            src.error(
                Some(lang.span()),
                format!("rule `{id}`: unknown language `{}`", lang.get_ref()),
                Some(format!("one of: {}", LANGUAGES.join(", "))),
            );
        }
    }
    if !(-100.0..=100.0).contains(&raw.weight) {
        src.error(
            Some(id_span.clone()),
            format!("rule `{id}`: weight must be between -100 and 100"),
            None,
        );
    }
    let mut matchers = Vec::new();
    for (name, m) in raw.matchers {
        let mspan = m.span();
        if let Some(kind) = matcher(src, &id, &name, m.into_inner(), mspan) {
            matchers.push(Matcher { name, kind });
        }
    }
    let names: Vec<String> = matchers.iter().map(|m| m.name.clone()).collect();
    let condition = match raw.condition {
        Some(c) => {
            // +1: past the opening quote of the string.
            let start = c.span().start + 1;
            match condition::parse(c.get_ref(), &names) {
                Ok(e) => Some(e),
                Err(e) => {
                    src.error(
                        Some(start + e.offset..start + e.offset),
                        format!("rule `{id}`: condition: {}", e.message),
                        None,
                    );
                    None
                }
            }
        }
        None => Some(Expr::Any),
    };
    if names.is_empty() {
        src.error(
            Some(id_span.clone()),
            format!("rule `{id}` has no matchers"),
            Some("add a [rules.match.NAME] table with keywords, regex or near".into()),
        );
    }
    if let Some(c) = &condition
        && !names.is_empty()
        && c.eval(&vec![false; names.len()])
    {
        src.error(
            Some(id_span.clone()),
            format!("rule `{id}`: its condition holds when none of its matchers match, so it would fire on every post"),
            Some("require at least one matcher, e.g. `x and not y`".into()),
        );
    }
    if raw.tests.is_empty() {
        src.error(
            Some(id_span.clone()),
            format!("rule `{id}` has no tests"),
            Some("add [[rules.tests]] with text = \"...\" and fires = true (and one with fires = false)".into()),
        );
    }
    let mut tests = Vec::new();
    for t in raw.tests {
        let tat = src.location(t.span().start);
        let t = t.into_inner();
        for h in t.hits.iter().flatten() {
            if !names.contains(h) {
                src.error_at(
                    tat.clone(),
                    format!("rule `{id}`: test expects hit `{h}`, which is not a matcher of this rule"),
                    None,
                );
            }
        }
        tests.push(RuleTest {
            text: t.text,
            lang: t.lang,
            provider: t.provider,
            fires: t.fires,
            hits: t.hits,
            at: tat,
        });
    }
    if src.errors.len() > errors_before {
        return None;
    }
    Some(Rule {
        id,
        title: raw.title,
        version: raw.version,
        pack: pack.to_owned(),
        status: raw.status,
        categories: raw.categories,
        languages: raw.languages.into_iter().map(Spanned::into_inner).collect(),
        weight: raw.weight,
        severity: raw.severity,
        requires_provider: raw.requires_provider,
        falsepositives: raw.falsepositives,
        matchers,
        condition: condition?,
        tests,
        at,
    })
}

fn matcher(
    src: &mut Source<'_>,
    id: &str,
    name: &str,
    m: RawMatcher,
    span: std::ops::Range<usize>,
) -> Option<MatcherKind> {
    let kinds = usize::from(m.keywords.is_some()) + usize::from(m.regex.is_some()) + usize::from(m.near.is_some());
    if kinds != 1 {
        src.error(
            Some(span),
            format!("rule `{id}`: matcher `{name}` must have exactly one of keywords, regex, near"),
            None,
        );
        return None;
    }
    // Phrases are matched as whole words; one without a letter or digit
    // could never match.
    let wordless: Vec<&String> = m
        .keywords
        .iter()
        .flatten()
        .chain(m.near.iter().flat_map(|n| n.left.iter().chain(&n.right)))
        .filter(|w| !w.trim().is_empty() && crate::text::alnum_words(w).next().is_none())
        .collect();
    if let Some(w) = wordless.first() {
        src.error(
            Some(span),
            format!("rule `{id}`: matcher `{name}`: phrase {w:?} has no letters or digits"),
            Some("keywords and near phrases match whole words; use a regex for punctuation".into()),
        );
        return None;
    }
    if let Some(words) = m.keywords {
        let words: Vec<String> = words
            .into_iter()
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            src.error(
                Some(span),
                format!("rule `{id}`: matcher `{name}` has no keywords"),
                None,
            );
            return None;
        }
        return Some(MatcherKind::Keywords(words));
    }
    if let Some(near) = m.near {
        if near.left.is_empty() || near.right.is_empty() || near.within == 0 || near.within > 50 {
            src.error(
                Some(span),
                format!("rule `{id}`: matcher `{name}`: near needs left and right words and 1 ≤ within ≤ 50"),
                None,
            );
            return None;
        }
        return Some(MatcherKind::Near {
            left: near.left,
            right: near.right,
            within: near.within,
        });
    }
    let pattern = m.regex?;
    let built = RegexBuilder::new(pattern.get_ref())
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_CACHE)
        .build();
    match built {
        Ok(re) if re.is_match("") => {
            src.error(
                Some(pattern.span()),
                format!("rule `{id}`: regex `{name}` matches empty text, so it would match every post"),
                None,
            );
            None
        }
        Ok(re) => Some(MatcherKind::Regex(re)),
        Err(e) => {
            let text = e.to_string();
            let first = text
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .trim_start_matches("error: ")
                .to_owned();
            src.error(
                Some(pattern.span()),
                format!("rule `{id}`: regex `{name}` is invalid: {first}"),
                Some("regexes use Rust regex syntax (no look-around or back-references) on the lowercased text".into()),
            );
            None
        }
    }
}
