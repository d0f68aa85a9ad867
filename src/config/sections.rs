//! The single sections: `[state]`, `[metrics]`, `[pipeline]`, `[scoring]`,
//! `[risk]`, `[incidents]`, `[spam]`, `[tickets]`, `[alerts]`, with their
//! defaults.

use crate::model::Severity;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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

/// The consumer group that `earshot run --role ingest|process` forms on
/// Kafka: ingest members write posts to `posts_topic`, keyed by provider;
/// process members share its partitions and keep each partition's state
/// in the compacted `state_topic` (the changelog).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    #[serde(default = "default_group_posts_topic")]
    pub posts_topic: String,
    #[serde(default = "default_group_state_topic")]
    pub state_topic: String,
    /// The process members' consumer group.
    #[serde(default = "default_group_id")]
    pub group: String,
    /// Posts read but not yet durable, at most; the member stops reading
    /// until the committer and the changelog catch up.
    #[serde(default = "default_group_in_flight")]
    pub max_in_flight: usize,
    /// How long a member giving up a partition waits for its sinks to
    /// deliver that partition's queued records before handing it over.
    #[serde(default = "default_group_flush_secs")]
    pub flush_secs: u64,
    /// A member silent this long is taken out of the group and its
    /// partitions go to the others (`session.timeout.ms`).
    #[serde(default = "default_group_session_secs")]
    pub session_timeout_secs: u64,
    /// Passed to librdkafka as they are (TLS, SASL, `session.timeout.ms`).
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
    /// The environment variable holding `sasl.password`.
    #[serde(default)]
    pub password_env: Option<String>,
}

fn default_group_posts_topic() -> String {
    "earshot.posts".into()
}

fn default_group_state_topic() -> String {
    "earshot.state".into()
}

fn default_group_id() -> String {
    "earshot-process".into()
}

fn default_group_in_flight() -> usize {
    10_000
}

fn default_group_flush_secs() -> u64 {
    10
}

fn default_group_session_secs() -> u64 {
    10
}
