//! Whatever comes in — invalid UTF-8, empty or huge posts, hostile regexes
//! in rule files, garbage configs — earshot answers and never panics or hangs.

use earshot::config::Config;
use earshot::rules::Rules;
use earshot::score_cmd::{self, Scorer};
use earshot::scoring::Engine;
use proptest::prelude::*;
use std::sync::LazyLock;

static SCORER: LazyLock<Scorer> = LazyLock::new(|| {
    let config = Config::parse(earshot::config::BUILTIN, "builtin").unwrap();
    let engine = Engine::new(
        std::sync::Arc::new(earshot::sentiment::SentimentModel::builtin()),
        Rules::builtin(),
        &config,
    );
    Scorer::new(&config, engine)
});

fn score_bytes(input: &[u8]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    score_cmd::run(&SCORER, true, input, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_bytes_give_one_json_line_per_line(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..8)) {
        let mut input = Vec::new();
        for l in &lines {
            input.extend(l.iter().copied().filter(|b| *b != b'\n'));
            input.push(b'\n');
        }
        let out = score_bytes(&input);
        prop_assert_eq!(out.len(), lines.len());
        for o in out {
            prop_assert!(o.get("error").is_some() || o.get("severity").is_some());
        }
    }

    #[test]
    fn any_text_scores_within_bounds(text in "\\PC{0,400}", followers in any::<u64>()) {
        let line = serde_json::json!({"id": "x", "text": text, "followers": followers}).to_string();
        let out = score_bytes(format!("{line}\n").as_bytes());
        let s = out[0]["sentiment"].as_f64().unwrap();
        let r = out[0]["risk"].as_f64().unwrap();
        prop_assert!((-1.0..=1.0).contains(&s), "{}", out[0]);
        prop_assert!((0.0..=100.0).contains(&r), "{}", out[0]);
    }

    #[test]
    fn any_regex_in_a_rule_file_is_accepted_or_refused_with_a_place(pattern in "\\PC{0,40}") {
        let pack = format!(
            "[pack]\nid = \"p\"\n[[rules]]\nid = \"r\"\nstatus = \"stable\"\n[rules.match.m]\nregex = {}\n[[rules.tests]]\ntext = \"x\"\nfires = false\n",
            toml_string(&pattern)
        );
        match Rules::from_sources(vec![("p.toml".into(), pack)]) {
            Ok(rules) => {
                let read = rules.read(&"a".repeat(10_000));
                let _ = rules.evaluate(read.subject(None, true), None);
            }
            Err(d) => prop_assert!(d.to_string().starts_with("p.toml:"), "{}", d),
        }
    }

    #[test]
    fn any_config_text_is_accepted_or_refused(text in "[\\[\\]a-z_=\" \\n0-9.]{0,200}") {
        let _ = Config::parse(&text, "c.toml");
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn empty_and_one_megabyte_posts() {
    let huge = "rumah sakit ini buruk sekali dokter tidak datang ".repeat(21_000);
    assert!(huge.len() > 1_000_000);
    let input = format!(
        "{}\n{}\n\n{}\n",
        serde_json::json!({"id": "big", "text": huge}),
        serde_json::json!({"id": "empty", "text": ""}),
        serde_json::json!({"id": "space", "text": "   "})
    );
    let out = score_bytes(input.as_bytes());
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["id"], "big");
    assert!(out[0]["sentiment"].as_f64().unwrap() < 0.0);
    assert_eq!(out[1]["severity"], "none");
    assert!(
        out[2]["error"].is_null(),
        "a blank line is plain empty text: {}",
        out[2]
    );
}

#[test]
fn pathological_regexes_compile_within_limits_or_are_refused() {
    for pattern in [
        "(a*)*b",
        "(x+x+)+y",
        "(a|aa)+$",
        "((a+)+)+c",
        "a{1000}{1000}",
        "\\w{500}\\s{500}",
    ] {
        let pack = format!(
            "[pack]\nid = \"p\"\n[[rules]]\nid = \"r\"\nstatus = \"stable\"\n[rules.match.m]\nregex = '{pattern}'\n[[rules.tests]]\ntext = \"x\"\nfires = false\n"
        );
        match Rules::from_sources(vec![("p.toml".into(), pack)]) {
            Ok(rules) => {
                // Linear time: a megabyte of the worst input for backtracking engines.
                let read = rules.read(&"a".repeat(1_000_000));
                let _ = rules.evaluate(read.subject(None, true), None);
            }
            Err(d) => assert!(d.to_string().contains("p.toml:7:9"), "{d}"),
        }
    }
}
