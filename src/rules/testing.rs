//! `earshot rules test`: every rule's embedded tests, expected against got.

use super::{Rules, Status, Subject};
use crate::diag::Location;
use std::fmt;

#[derive(Debug, Clone)]
pub struct Failure {
    pub at: Location,
    pub rule: String,
    pub test: usize,
    pub text: String,
    pub expected: String,
    pub got: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "FAIL {} rule `{}` test {}", self.at, self.rule, self.test)?;
        writeln!(f, "  text:     {:?}", self.text)?;
        writeln!(f, "  expected: {}", self.expected)?;
        write!(f, "  got:      {}", self.got)
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub rules: usize,
    pub passed: usize,
    pub failures: Vec<Failure>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in &self.failures {
            writeln!(f, "{failure}")?;
        }
        write!(
            f,
            "{} rules, {} tests: {} passed, {} failed",
            self.rules,
            self.passed + self.failures.len(),
            self.passed,
            self.failures.len()
        )
    }
}

fn describe(fires: bool, hits: &[String]) -> String {
    let verb = if fires { "fires" } else { "does not fire" };
    if hits.is_empty() {
        format!("{verb} (matched: none)")
    } else {
        format!("{verb} (matched: {})", hits.join(", "))
    }
}

pub fn run(rules: &Rules) -> Report {
    let mut report = Report {
        rules: rules.rules.len(),
        ..Default::default()
    };
    for (ri, rule) in rules.rules.iter().enumerate() {
        if rule.status == Status::Deprecated {
            continue;
        }
        for (ti, test) in rule.tests.iter().enumerate() {
            let read = rules.read(&test.text);
            let subject = read.subject(test.lang.as_deref(), test.provider);
            let fired = rules.evaluate(subject, Some(ri));
            let got_fires = !fired.is_empty();
            // Which matchers matched, whether or not the rule fired.
            let mut matched: Vec<String> = matched_names(rules, ri, subject);
            matched.sort();
            let mut expected_hits = test.hits.clone();
            if let Some(h) = &mut expected_hits {
                h.sort();
            }
            let ok = got_fires == test.fires && expected_hits.as_ref().is_none_or(|h| *h == matched);
            if ok {
                report.passed += 1;
            } else {
                report.failures.push(Failure {
                    at: test.at.clone(),
                    rule: rule.id.clone(),
                    test: ti + 1,
                    text: test.text.clone(),
                    expected: match &expected_hits {
                        Some(h) => describe(test.fires, h),
                        None => if test.fires { "fires" } else { "does not fire" }.to_owned(),
                    },
                    got: describe(got_fires, &matched),
                });
            }
        }
    }
    report
}

/// The names of the rule's matchers that match, as its condition sees them.
fn matched_names(rules: &Rules, ri: usize, subject: Subject<'_>) -> Vec<String> {
    let rule = &rules.rules[ri];
    // Evaluate with a condition-free view: which matchers have spans.
    let spans = rules.matcher_spans(subject, ri);
    spans
        .into_iter()
        .map(|(mi, _)| rule.matchers[mi].name.clone())
        .collect()
}
