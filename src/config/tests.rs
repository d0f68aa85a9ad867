use super::*;
use crate::model::Severity;

fn errors(text: &str) -> Vec<String> {
    Config::parse(text, "t.toml")
        .expect_err("config should be refused")
        .0
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn builtin_default_is_valid() {
    let c = Config::parse(BUILTIN, BUILTIN_ORIGIN).unwrap();
    assert!(!c.providers.is_empty());
    assert!(!c.sources.is_empty());
}

#[test]
fn providers_only_takes_defaults() {
    let c = Config::parse("[[providers]]\nid = \"x\"\nnames = [\"X Hospital\"]\n", "t.toml").unwrap();
    assert_eq!(c.providers[0].names, vec!["X Hospital"]);
    assert!(c.sources.is_empty());
    assert_eq!(c.sinks.len(), 1, "console sink by default");
    assert_eq!(c.alerts.min_severity, Severity::High);
    assert_eq!(c.state.path, PathBuf::from("earshot.db"));
}

#[test]
fn reports_every_error_with_its_location() {
    let text = "\
[[providers]]
id = \"a\"
nams = [\"A\"]

[[sources]]
type = \"replay\"
pth = \"x\"

[[sinks]]
type = \"kafkaa\"

[metrics]
listen = \"not an address\"

[bogus]
";
    let errs = errors(text);
    assert_eq!(errs.len(), 5, "{errs:#?}");
    assert!(
        errs[0].starts_with("t.toml:3:1: error: unknown field `nams`"),
        "{}",
        errs[0]
    );
    assert!(
        errs[1].starts_with("t.toml:7:1: error: unknown field `pth`"),
        "{}",
        errs[1]
    );
    assert!(
        errs[2].starts_with("t.toml:10:8: error: unknown sink type `kafkaa`"),
        "{}",
        errs[2]
    );
    assert!(errs[2].contains("hint: one of: console, jsonl, sqlite"));
    assert!(errs[3].starts_with("t.toml:13:10:"), "{}", errs[3]);
    assert!(
        errs[4].starts_with("t.toml:15:2: error: unknown section `bogus`"),
        "{}",
        errs[4]
    );
}

#[test]
fn syntax_error_has_location() {
    let errs = errors("[[providers]]\nid = \"a\nnames = []\n");
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("t.toml:2:"), "{}", errs[0]);
}

#[test]
fn semantic_errors_are_all_reported() {
    let text = "\
[[providers]]
id = \"a\"
names = [\"\"]

[[providers]]
id = \"a\"
names = [\"A\"]

[[sinks]]
type = \"console\"
[[sinks]]
type = \"console\"

[risk]
low = 50
medium = 10

[alerts]
min_severity = \"severe\"
";
    let errs = errors(text);
    let all = errs.join("\n");
    assert!(all.contains("t.toml:3:10: error: empty name in provider `a`"), "{all}");
    assert!(all.contains("provider id `a` is used twice"), "{all}");
    assert!(
        all.contains("t.toml:11:1: error: two sinks are named `console`"),
        "{all}"
    );
    assert!(all.contains("thresholds must rise"), "{all}");
    assert!(all.contains("t.toml:19:16: error: unknown variant `severe`"), "{all}");
    assert_eq!(errs.len(), 5, "{all}");
}

#[test]
fn missing_replay_path_is_reported_by_check_paths() {
    let c = Config::parse(
        "[[sources]]\ntype = \"replay\"\nname = \"r\"\npath = \"/nonexistent/x\"\n",
        "t.toml",
    )
    .unwrap();
    let e = c.check_paths().unwrap_err().to_string();
    assert!(
        e.starts_with("t.toml:1:1: error: source `r`: /nonexistent/x does not exist"),
        "{e}"
    );
}

#[test]
fn risk_thresholds_map_to_severity() {
    let r = RiskConfig::default();
    assert_eq!(r.severity(0.0), Severity::None);
    assert_eq!(r.severity(20.0), Severity::Low);
    assert_eq!(r.severity(59.9), Severity::Medium);
    assert_eq!(r.severity(60.0), Severity::High);
    assert_eq!(r.severity(100.0), Severity::Critical);
}

#[test]
fn an_imap_source_takes_defaults_and_refuses_unknown_tls() {
    let c = Config::parse(
        "[[sources]]\ntype = \"imap\"\nname = \"lists\"\nhost = \"mail.example\"\nusername = \"pr\"\npassword_env = \"P\"\n",
        "t.toml",
    )
    .unwrap();
    let SourceKind::Imap(i) = &c.sources[0].kind else {
        panic!("{:?}", c.sources[0].kind)
    };
    assert_eq!(
        (i.tls, i.port, i.mailbox.as_str(), i.idle),
        (ImapTls::Implicit, None, "INBOX", true)
    );
    let e =
        errors("[[sources]]\ntype = \"imap\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\ntls = \"ssl\"\n");
    assert!(
        e[0].starts_with("t.toml:6:7: error:") && e[0].contains("unknown variant `ssl`"),
        "{e:?}"
    );
    let c = Config::parse(
        "[[sources]]\ntype = \"imap\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\nca_file = \"/nonexistent/ca.pem\"\n",
        "t.toml",
    )
    .unwrap();
    let e = c.check_paths().unwrap_err().to_string();
    assert!(e.contains("ca_file /nonexistent/ca.pem does not exist"), "{e}");
}

#[test]
fn sources_whose_options_contradict_are_refused_at_their_table() {
    let e = errors(
        "[[sources]]\ntype = \"mastodon\"\nname = \"m\"\ninstance = \"https://m.example\"\nmentions = true\n\n\
         [[sources]]\ntype = \"reddit\"\nname = \"r\"\nsubreddits = [\"r/x\"]\nclient_id_env = \"ID\"\n\n\
         [[sources]]\ntype = \"jetstream\"\nname = \"j\"\nkeywords = []\nurl = \"https://x\"\n",
    );
    assert_eq!(e.len(), 4, "{e:?}");
    assert!(
        e[0].starts_with("t.toml:1:1: error: source `m`: searches and mentions need an access token"),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("t.toml:7:1: error: source `r`: client_id_env and client_secret_env go together"),
        "{e:?}"
    );
    assert!(
        e[2].contains("source `j`: keywords: none given") && e[3].contains("not a ws:// or wss://"),
        "{e:?}"
    );
}

#[test]
fn a_webhook_mapping_names_post_fields_by_json_pointer() {
    let e = errors(
        "[[sources]]\ntype = \"webhook\"\nname = \"w\"\nlisten = \"127.0.0.1:8088\"\n\n[sources.mapping]\nid = \"/ref\"\nbody = \"/msg\"\nauthor = \"from.email\"\n",
    );
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(e.iter().any(|m| m.contains("`body` is not a post field")), "{e:?}");
    assert!(
        e.iter().any(|m| m.contains("`from.email` is not a JSON pointer")),
        "{e:?}"
    );
    assert!(e.iter().any(|m| m.contains("`id` and `text` are required")), "{e:?}");
}

#[test]
fn a_jetstream_ca_file_that_is_not_there_is_reported() {
    let c = Config::parse(
        "[[sources]]\ntype = \"jetstream\"\nname = \"js\"\nkeywords = [\"x\"]\nca_file = \"/nonexistent/ca.pem\"\n",
        "t.toml",
    )
    .unwrap();
    let e = c.check_paths().unwrap_err().to_string();
    assert!(
        e.contains("source `js`: ca_file /nonexistent/ca.pem does not exist"),
        "{e}"
    );
}
