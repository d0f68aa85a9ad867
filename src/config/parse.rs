//! The located parser: each section and `[[table]]` entry deserialized on
//! its own from the spanned document, every problem reported with its
//! place.

use super::*;
use crate::diag::{Item, Source};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

const SECTIONS: &[&str] = &[
    "providers",
    "sources",
    "sinks",
    "state",
    "metrics",
    "pipeline",
    "risk",
    "scoring",
    "incidents",
    "spam",
    "tickets",
    "alerts",
    "group",
];
const SOURCE_TYPES: &[&str] = &[
    "replay",
    "kafka",
    "mbox",
    "imap",
    "discourse",
    "jetstream",
    "hyperkitty",
    "feed",
    "mastodon",
    "webhook",
    "reddit",
    "bluesky",
];
const SINK_TYPES: &[&str] = &["console", "jsonl", "sqlite", "http", "kafka"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    id: Spanned<String>,
    #[serde(default)]
    names: Vec<Spanned<String>>,
    #[serde(default)]
    handles: Vec<Spanned<String>>,
    #[serde(default)]
    hashtags: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
}

/// `text` (from `origin`) as a `Config`, or every problem found in it.
pub(super) fn parse(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
    let mut p = Parser {
        src: Source::new(text, origin),
    };
    let config = p.config();
    p.src.finish().map(|()| config)
}

struct Parser<'a> {
    src: Source<'a>,
}

impl<'a> Parser<'a> {
    fn location(&self, offset: usize) -> Location {
        self.src.location(offset)
    }

    fn error(&mut self, span: Option<Range<usize>>, message: String, hint: Option<String>) {
        self.src.error(span, message, hint);
    }

    fn config(&mut self) -> Config {
        let mut config = Config {
            origin: self.src.origin.to_owned(),
            providers: Vec::new(),
            sources: Vec::new(),
            sinks: Vec::new(),
            state: StateConfig::default(),
            metrics: MetricsConfig::default(),
            pipeline: PipelineConfig::default(),
            risk: RiskConfig::default(),
            scoring: ScoringConfig::default(),
            incidents: IncidentsConfig::default(),
            spam: SpamConfig::default(),
            tickets: TicketsConfig::default(),
            alerts: AlertsConfig::default(),
            group: None,
        };
        let root = match DeTable::parse(self.src.text) {
            Ok(root) => root.into_inner(),
            Err(e) => {
                self.error(e.span(), e.message().to_owned(), None);
                return config;
            }
        };
        let mut sinks_given = false;
        for (key, value) in root {
            let span = key.span();
            match key.get_ref().as_ref() {
                "providers" => {
                    for item in self.entries(value, "providers") {
                        if let Some(p) = self.provider(item) {
                            config.providers.push(p);
                        }
                    }
                }
                "sources" => {
                    for item in self.entries(value, "sources") {
                        let span = item.span();
                        if let Some((name, at, kind)) = self.tagged(item, "source", SOURCE_TYPES) {
                            let kind = match kind.0.as_str() {
                                "replay" => self.section(kind.1).map(SourceKind::Replay),
                                "kafka" => self.section(kind.1).map(SourceKind::Kafka),
                                "mbox" => self.section(kind.1).map(SourceKind::Mbox),
                                "feed" => self.section(kind.1).map(SourceKind::Feed),
                                "mastodon" => self.section(kind.1).map(SourceKind::Mastodon),
                                "webhook" => self.section(kind.1).map(SourceKind::Webhook),
                                "reddit" => self.section(kind.1).map(SourceKind::Reddit),
                                "bluesky" => self.section(kind.1).map(SourceKind::Bluesky),
                                "imap" => self.section(kind.1).map(SourceKind::Imap),
                                "discourse" => self.section(kind.1).map(SourceKind::Discourse),
                                "jetstream" => self.section(kind.1).map(SourceKind::Jetstream),
                                "hyperkitty" => self.section(kind.1).map(SourceKind::Hyperkitty),
                                _ => None,
                            };
                            if let Some(kind) = kind {
                                for problem in kind.problems() {
                                    self.error(Some(span.clone()), format!("source `{name}`: {problem}"), None);
                                }
                                config.sources.push(SourceConfig { name, at, kind });
                            }
                        }
                    }
                }
                "sinks" => {
                    sinks_given = true;
                    for item in self.entries(value, "sinks") {
                        if let Some((name, at, kind)) = self.tagged(item, "sink", SINK_TYPES) {
                            let kind = match kind.0.as_str() {
                                "console" => self.section(kind.1).map(SinkKind::Console),
                                "jsonl" => self.section(kind.1).map(SinkKind::Jsonl),
                                "sqlite" => self.section(kind.1).map(SinkKind::Sqlite),
                                "http" => self.section(kind.1).map(SinkKind::Http),
                                "kafka" => self.section(kind.1).map(SinkKind::Kafka),
                                _ => None,
                            };
                            if let Some(kind) = kind {
                                config.sinks.push(SinkConfig { name, at, kind });
                            }
                        }
                    }
                }
                "state" => set(&mut config.state, self.section(value)),
                "metrics" => set(&mut config.metrics, self.section(value)),
                "pipeline" => set(&mut config.pipeline, self.section(value)),
                "risk" => set(&mut config.risk, self.section(value)),
                "scoring" => set(&mut config.scoring, self.section(value)),
                "incidents" => set(&mut config.incidents, self.section(value)),
                "spam" => set(&mut config.spam, self.section(value)),
                "tickets" => set(&mut config.tickets, self.section(value)),
                "alerts" => set(&mut config.alerts, self.section(value)),
                "group" => config.group = self.section(value),
                other => self.error(
                    Some(span),
                    format!("unknown section `{other}`"),
                    Some(format!("known sections: {}", SECTIONS.join(", "))),
                ),
            }
        }
        if !sinks_given {
            config.sinks.push(SinkConfig {
                name: "console".into(),
                at: self.location(0),
                kind: SinkKind::Console(ConsoleConfig {
                    records: Records::Alerts,
                    teams: Vec::new(),
                }),
            });
        }
        self.validate(&config);
        config
    }

    fn entries<'i>(&mut self, value: Item<'i>, name: &str) -> Vec<Item<'i>> {
        self.src.entries(value, name)
    }

    fn section<T: DeserializeOwned>(&mut self, value: Item<'_>) -> Option<T> {
        self.src.value(value)
    }

    fn provider(&mut self, item: Item<'_>) -> Option<Provider> {
        let raw: RawProvider = self.section(item)?;
        let id = raw.id.get_ref().trim().to_owned();
        if id.is_empty() {
            self.error(Some(raw.id.span()), "provider id is empty".into(), None);
        }
        if raw.names.is_empty() && raw.handles.is_empty() && raw.hashtags.is_empty() {
            self.error(
                Some(raw.id.span()),
                format!("provider `{id}` has no names, handles or hashtags"),
                Some("add at least `names = [\"...\"]`: posts are matched to providers by them".into()),
            );
        }
        let mut strings = |list: Vec<Spanned<String>>, what: &str| -> Vec<String> {
            list.into_iter()
                .filter_map(|s| {
                    let v = s.get_ref().trim().to_owned();
                    if v.is_empty() {
                        self.error(Some(s.span()), format!("empty {what} in provider `{id}`"), None);
                        None
                    } else {
                        Some(v)
                    }
                })
                .collect()
        };
        let names = strings(raw.names, "name");
        let handles = strings(raw.handles, "handle");
        let hashtags = strings(raw.hashtags, "hashtag");
        let exclude = strings(raw.exclude, "exclude phrase");
        for (what, list) in [
            ("name", &names),
            ("handle", &handles),
            ("hashtag", &hashtags),
            ("exclude phrase", &exclude),
        ] {
            if let Some(bad) = list.iter().find(|v| crate::text::alnum_words(v).next().is_none()) {
                self.error(
                    Some(raw.id.span()),
                    format!("provider `{id}`: {what} {bad:?} has no letters or digits"),
                    Some("names, handles and hashtags are matched as whole words".into()),
                );
            }
        }
        Some(Provider {
            id,
            names,
            handles,
            hashtags,
            exclude,
        })
    }

    /// Splits a `[[sources]]`/`[[sinks]]` table into its name, place, `type`
    /// and the remaining fields, which the type's own struct deserializes.
    #[allow(clippy::type_complexity)]
    fn tagged<'i>(
        &mut self,
        item: Item<'i>,
        what: &str,
        types: &[&str],
    ) -> Option<(String, Location, (String, Item<'i>))> {
        let span = item.span();
        let at = self.location(span.start);
        let DeValue::Table(mut table) = item.into_inner() else {
            self.error(Some(span), format!("a {what} must be a table"), None);
            return None;
        };
        let take = |table: &mut DeTable<'i>, key: &str| {
            let k = table.keys().find(|k| k.get_ref() == key)?.clone();
            table.remove(&k)
        };
        let name = match take(&mut table, "name") {
            Some(v) => match v.get_ref().as_str() {
                Some(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                _ => {
                    self.error(Some(v.span()), format!("{what} name must be a non-empty string"), None);
                    return None;
                }
            },
            None => None,
        };
        let Some(kind) = take(&mut table, "type") else {
            self.error(
                Some(span),
                format!("{what} has no `type`"),
                Some(format!("add `type = \"...\"`, one of: {}", types.join(", "))),
            );
            return None;
        };
        let kind_name = match kind.get_ref().as_str() {
            Some(k) if types.contains(&k) => k.to_owned(),
            other => {
                self.error(
                    Some(kind.span()),
                    format!("unknown {what} type `{}`", other.unwrap_or("?")),
                    Some(format!("one of: {}", types.join(", "))),
                );
                return None;
            }
        };
        let name = name.unwrap_or_else(|| kind_name.clone());
        Some((name, at, (kind_name, Spanned::new(span, DeValue::Table(table)))))
    }

    fn validate(&mut self, config: &Config) {
        let mut seen = std::collections::HashMap::new();
        for p in &config.providers {
            if seen.insert(p.id.clone(), ()).is_some() {
                self.src.errors.push(ConfigError {
                    at: None,
                    message: format!("provider id `{}` is used twice", p.id),
                    hint: Some("provider ids name incidents and tickets: keep them unique".into()),
                });
            }
        }
        for (what, names) in [
            (
                "source",
                config.sources.iter().map(|s| (&s.name, &s.at)).collect::<Vec<_>>(),
            ),
            ("sink", config.sinks.iter().map(|s| (&s.name, &s.at)).collect()),
        ] {
            let mut seen = std::collections::HashSet::new();
            for (name, at) in names {
                if !seen.insert(name) {
                    self.src.errors.push(ConfigError {
                        at: Some(at.clone()),
                        message: format!("two {what}s are named `{name}`"),
                        hint: Some(format!(
                            "give each {what} its own `name = \"...\"`: it keys the {} in the state file",
                            if what == "source" { "cursor" } else { "outbox" }
                        )),
                    });
                }
            }
        }
        let r = &config.risk;
        if !(0.0 <= r.low && r.low <= r.medium && r.medium <= r.high && r.high <= r.critical && r.critical <= 100.0) {
            self.src.errors.push(ConfigError {
                at: None,
                message: "[risk] thresholds must rise: 0 ≤ low ≤ medium ≤ high ≤ critical ≤ 100".into(),
                hint: None,
            });
        }
        let p = &config.pipeline;
        if p.channel_capacity == 0 || p.batch_size == 0 || p.max_text_bytes == 0 {
            self.src.errors.push(ConfigError {
                at: None,
                message: "[pipeline] channel_capacity, batch_size and max_text_bytes must be above 0".into(),
                hint: None,
            });
        }
        for lang in &p.languages {
            if crate::stages::language::whatlang_code(lang).is_none() {
                self.src.errors.push(ConfigError {
                    at: None,
                    message: format!("[pipeline] languages: unknown language code `{lang}`"),
                    hint: Some("use ISO 639-1 codes such as \"en\" and \"id\"".into()),
                });
            }
        }
        for s in &config.sources {
            let SourceKind::Replay(r) = &s.kind else { continue };
            if !(r.rate >= 0.0 && r.rate.is_finite()) {
                self.src.errors.push(ConfigError {
                    at: Some(s.at.clone()),
                    message: format!("source `{}`: rate must be 0 or a positive number", s.name),
                    hint: None,
                });
            }
        }
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}
