//! Configuration: TOML text → spanned document → typed, validated `Config`.
//!
//! Every section and every `[[table]]` entry is deserialized on its own, so
//! one mistake does not hide the next: `earshot config check` reports all of
//! them at once, each at file:line:col with a hint.

use crate::diag::{Item, Source};
use crate::model::Severity;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod sinks;
mod sources;
pub use sinks::*;
pub use sources::*;

/// The embedded default: the same text as `config/earshot.toml`.
pub const BUILTIN: &str = include_str!("../../config/earshot.toml");
pub const BUILTIN_ORIGIN: &str = "<built-in default>";
/// Looked for in the working directory when no `--config` is given.
pub const DEFAULT_PATH: &str = "config/earshot.toml";

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, or `<built-in default>`.
    pub origin: String,
    pub providers: Vec<Provider>,
    pub sources: Vec<SourceConfig>,
    pub sinks: Vec<SinkConfig>,
    pub state: StateConfig,
    pub metrics: MetricsConfig,
    pub pipeline: PipelineConfig,
    pub risk: RiskConfig,
    pub scoring: ScoringConfig,
    pub incidents: IncidentsConfig,
    pub spam: SpamConfig,
    pub tickets: TicketsConfig,
    pub alerts: AlertsConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub id: String,
    pub names: Vec<String>,
    pub handles: Vec<String>,
    pub hashtags: Vec<String>,
    /// Phrases in which a name does not mean this provider ("toko harapan
    /// sehat", "lagu harapan sehat"): a mention inside one does not count.
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    #[serde(default = "default_state_path")]
    pub path: PathBuf,
}

fn default_state_path() -> PathBuf {
    "earshot.db".into()
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            path: default_state_path(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` and `/healthz` here; off when absent.
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Capacity of each channel between stages: a slow stage slows the
    /// sources down instead of filling memory.
    pub channel_capacity: usize,
    /// Most posts written to SQLite in one transaction.
    pub batch_size: usize,
    /// Languages kept (ISO 639-1); others are dropped.
    pub languages: Vec<String>,
    /// Longer texts are cut at a character boundary.
    pub max_text_bytes: usize,
    /// Seconds sinks get to deliver what is committed after a stop signal.
    pub shutdown_grace_secs: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            channel_capacity: 1024,
            batch_size: 256,
            languages: vec!["en".into(), "id".into()],
            max_text_bytes: 64 * 1024,
            shutdown_grace_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringConfig {
    /// A directory of rule packs (`*.toml`). Unset: `./rules` when it holds
    /// packs, else the packs built into the binary.
    pub rules: Option<PathBuf>,
}

/// Where the rule packs come from.
#[derive(Debug, Clone, PartialEq)]
pub enum RulesSource {
    Builtin,
    Dir(PathBuf),
}

impl ScoringConfig {
    pub fn rules_source(&self) -> RulesSource {
        match &self.rules {
            Some(dir) => RulesSource::Dir(dir.clone()),
            None => {
                let local = Path::new("rules");
                let has_packs = std::fs::read_dir(local)
                    .map(|d| {
                        d.filter_map(|e| e.ok())
                            .any(|e| e.path().extension().is_some_and(|x| x == "toml"))
                    })
                    .unwrap_or(false);
                if has_packs {
                    RulesSource::Dir(local.to_path_buf())
                } else {
                    RulesSource::Builtin
                }
            }
        }
    }
}

/// Risk (0–100) at which each severity starts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    pub low: f32,
    pub medium: f32,
    pub high: f32,
    pub critical: f32,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            low: 20.0,
            medium: 40.0,
            high: 60.0,
            critical: 80.0,
        }
    }
}

impl RiskConfig {
    pub fn severity(&self, risk: f32) -> Severity {
        if risk >= self.critical {
            Severity::Critical
        } else if risk >= self.high {
            Severity::High
        } else if risk >= self.medium {
            Severity::Medium
        } else if risk >= self.low {
            Severity::Low
        } else {
            Severity::None
        }
    }
}

/// What opens an incident, and how long a complaint's copies are looked for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    pub min_severity: Severity,
    /// Hours a post's fingerprint stays findable: a copy posted later opens
    /// a new incident.
    pub window_hours: u64,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            min_severity: Severity::Low,
            window_hours: 14 * 24,
        }
    }
}

/// Spam and bots: posts that are only links or hashtags, promotions, the
/// same text again and again from one author.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpamConfig {
    pub enabled: bool,
    /// A post with fewer words than this besides links, hashtags and
    /// mentions, and at least one link or hashtag, is spam.
    pub min_words: usize,
    /// Words and phrases of promotions. A post with a link and one of them,
    /// or with two of them, is spam, unless a complaint rule fired on it.
    pub promo: Vec<String>,
    /// The n-th near-identical post from one author about one provider in
    /// the incident window is spam, and every one after it.
    pub repeat_limit: usize,
}

impl Default for SpamConfig {
    fn default() -> Self {
        SpamConfig {
            enabled: true,
            min_words: 3,
            promo: [
                "diskon",
                "promo",
                "giveaway",
                "gratis ongkir",
                "order sekarang",
                "pesan sekarang",
                "klik",
                "slot",
                "gacor",
                "follow",
                "like dan share",
                "cashback",
                "konsultasi gratis",
                "discount",
                "buy now",
                "free shipping",
                "click here",
                "limited offer",
                "dm for price",
                "wa.me",
            ]
            .map(String::from)
            .to_vec(),
            repeat_limit: 3,
        }
    }
}

/// What gets a CRM ticket, which team it goes to, and by when it needs an
/// answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TicketsConfig {
    pub min_severity: Severity,
    /// The team of a ticket no route claims.
    pub team: String,
    /// The first route whose categories the incident has names its team.
    pub routes: Vec<RouteConfig>,
    /// Hours to answer, by severity, from the post that brought the incident
    /// to it.
    pub due_hours: DueHours,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub team: String,
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DueHours {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
}

impl Default for DueHours {
    fn default() -> Self {
        DueHours {
            critical: 4,
            high: 24,
            medium: 72,
            low: 168,
        }
    }
}

impl DueHours {
    pub fn for_severity(&self, s: Severity) -> u32 {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low | Severity::None => self.low,
        }
    }
}

impl Default for TicketsConfig {
    fn default() -> Self {
        TicketsConfig {
            min_severity: Severity::Medium,
            team: "patient-relations".into(),
            routes: Vec::new(),
            due_hours: DueHours::default(),
        }
    }
}

/// What raises an alert for the patient-relations team, for which team,
/// and when it may go out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    pub min_severity: Severity,
    /// The first route whose categories the incident has names its team
    /// and, when given, its own least severity.
    pub routes: Vec<AlertRoute>,
    /// Most alerts an hour; more wait their turn (none is dropped). 0: no limit.
    pub rate_limit_per_hour: u32,
    /// Hours when alerts below a severity wait until morning.
    pub quiet_hours: Option<QuietHours>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            min_severity: Severity::High,
            routes: Vec::new(),
            rate_limit_per_hour: 0,
            quiet_hours: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRoute {
    pub team: String,
    pub categories: Vec<String>,
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Local hour (0–23) they start.
    pub from: u32,
    /// Local hour (0–23) they end: held alerts go then.
    pub to: u32,
    /// The team's time zone as an offset from UTC, in hours (e.g. 7 for WIB).
    #[serde(default)]
    pub utc_offset_hours: i32,
    /// Alerts at this severity or above go out at any hour.
    #[serde(default = "critical")]
    pub below: Severity,
}

fn critical() -> Severity {
    Severity::Critical
}

pub use crate::diag::{Diagnostic as ConfigError, Diagnostics as ConfigErrors, Location};

impl Config {
    /// `--config FILE`, else `./config/earshot.toml` when present, else the
    /// built-in default.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigErrors> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_PATH).is_file() => PathBuf::from(DEFAULT_PATH),
            None => return Config::parse(BUILTIN, BUILTIN_ORIGIN),
        };
        let origin = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &origin),
            Err(e) => Err(ConfigErrors(vec![ConfigError {
                at: None,
                message: format!("cannot read config {origin}: {e}"),
                hint: Some("pass an existing file with --config, or omit it to use the default".into()),
            }])),
        }
    }

    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        let mut p = Parser {
            src: Source::new(text, origin),
        };
        let config = p.config();
        p.src.finish().map(|()| config)
    }

    /// Checks that need the file system: sources' input paths exist.
    pub fn check_paths(&self) -> Result<(), ConfigErrors> {
        let errors: Vec<ConfigError> = self
            .sources
            .iter()
            .filter_map(|s| match &s.kind {
                SourceKind::Replay(r) if !r.path.exists() => Some(ConfigError {
                    at: Some(s.at.clone()),
                    message: format!("source `{}`: {} does not exist", s.name, r.path.display()),
                    hint: Some("paths are relative to the working directory".into()),
                }),
                SourceKind::Mbox(m) if !m.path.exists() => Some(ConfigError {
                    at: Some(s.at.clone()),
                    message: format!("source `{}`: {} does not exist", s.name, m.path.display()),
                    hint: Some("paths are relative to the working directory".into()),
                }),
                SourceKind::Imap(i) if i.ca_file.as_ref().is_some_and(|f| !f.exists()) => Some(ConfigError {
                    at: Some(s.at.clone()),
                    message: format!(
                        "source `{}`: ca_file {} does not exist",
                        s.name,
                        i.ca_file.as_ref().map(|f| f.display().to_string()).unwrap_or_default()
                    ),
                    hint: Some("paths are relative to the working directory".into()),
                }),
                SourceKind::Replay(_)
                | SourceKind::Imap(_)
                | SourceKind::Discourse(_)
                | SourceKind::Jetstream(_)
                | SourceKind::Hyperkitty(_)
                | SourceKind::Kafka(_)
                | SourceKind::Mbox(_)
                | SourceKind::Feed(_)
                | SourceKind::Mastodon(_)
                | SourceKind::Webhook(_)
                | SourceKind::Reddit(_)
                | SourceKind::Bluesky(_) => None,
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

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

#[cfg(test)]
mod tests;
