//! `[[sinks]]`: one struct per sink type, with its defaults.

use super::Location;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub name: String,
    pub at: Location,
    pub kind: SinkKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SinkKind {
    Console(ConsoleConfig),
    Jsonl(JsonlConfig),
    Sqlite(SqliteSinkConfig),
    Http(HttpSinkConfig),
    Kafka(KafkaSinkConfig),
}

/// A Kafka topic (any Kafka-protocol broker: Apache Kafka, Redpanda, tansu).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    #[serde(default = "default_ticket_topic")]
    pub topic: String,
    #[serde(default = "tickets")]
    pub records: Records,
    /// Passed to librdkafka as they are (TLS, SASL, tuning), e.g.
    /// `{ "security.protocol" = "sasl_ssl", "sasl.mechanism" = "PLAIN" }`.
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
    /// The environment variable holding `sasl.password` (never the password
    /// itself in a config file).
    #[serde(default)]
    pub password_env: Option<String>,
    /// Seconds a record may wait for the broker's acknowledgement
    /// (`message.timeout.ms`) before the batch is retried.
    #[serde(default = "default_kafka_timeout")]
    pub timeout_secs: u64,
    /// For alerts: only those of these teams ([alerts] routes); all when empty.
    #[serde(default)]
    pub teams: Vec<String>,
}

fn default_ticket_topic() -> String {
    "crm.tickets".into()
}

fn default_kafka_timeout() -> u64 {
    30
}

/// A CRM's or a chat's HTTP endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSinkConfig {
    /// Where to POST (a FHIR server's base URL: `Task` is appended).
    pub url: String,
    /// `generic` (the record as JSON, with an Idempotency-Key), `zendesk`
    /// (a Zendesk ticket with `external_id`), `fhir` (an HL7 FHIR R4 Task,
    /// conditional create), `slack` (an incoming-webhook message, alerts).
    #[serde(default)]
    pub format: HttpFormat,
    #[serde(default = "tickets")]
    pub records: Records,
    /// The environment variable that holds a bearer token (never the token
    /// itself in a config file).
    #[serde(default)]
    pub token_env: Option<String>,
    /// Seconds a request may take.
    #[serde(default = "default_http_timeout")]
    pub timeout_secs: u64,
    /// For alerts: only those of these teams ([alerts] routes); all when empty.
    #[serde(default)]
    pub teams: Vec<String>,
}

fn default_http_timeout() -> u64 {
    10
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpFormat {
    #[default]
    Generic,
    Zendesk,
    Fhir,
    Slack,
}

/// What a sink receives from the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Records {
    Tickets,
    Alerts,
}

impl Records {
    pub fn as_str(self) -> &'static str {
        match self {
            Records::Tickets => "ticket",
            Records::Alerts => "alert",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    #[serde(default = "alerts")]
    pub records: Records,
    /// For alerts: only those of these teams ([alerts] routes); all when empty.
    #[serde(default)]
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlConfig {
    pub path: PathBuf,
    #[serde(default = "tickets")]
    pub records: Records,
    /// For alerts: only those of these teams ([alerts] routes); all when empty.
    #[serde(default)]
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteSinkConfig {
    /// A SQLite file other tools read (BI, CRM import); not the state file.
    pub path: PathBuf,
}

fn alerts() -> Records {
    Records::Alerts
}
fn tickets() -> Records {
    Records::Tickets
}
