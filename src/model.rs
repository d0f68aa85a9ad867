//! What the pipeline produces: scores, incidents, and the tickets and alerts
//! that leave earshot. Tickets and alerts carry a `schema_version` because
//! other systems consume them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub const TICKET_SCHEMA_VERSION: u32 = 1;
pub const ALERT_SCHEMA_VERSION: u32 = 1;
pub const INCIDENT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::None,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// CRM priority, after the usual low/normal/high/urgent scale.
    pub fn priority(self) -> &'static str {
        match self {
            Severity::None | Severity::Low => "low",
            Severity::Medium => "normal",
            Severity::High => "high",
            Severity::Critical => "urgent",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown severity `{s}`: use none, low, medium, high or critical"))
    }
}

/// Why a score is what it is: one line an operator can check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// `sentiment`, `lexicon`, `rule`, `reach` or `floor` (a rule's severity floor).
    pub kind: String,
    /// The rule id, the lexicon's name, or the sentiment model.
    pub id: String,
    /// The rule's version, for rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// The words or span that triggered it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub matched: String,
    /// Its contribution: risk points (sentiment, rule, reach) or valence (lexicon).
    pub weight: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// -1 (very negative) to 1 (very positive).
    pub sentiment: f32,
    /// 0 to 100.
    pub risk: f32,
    pub severity: Severity,
    pub categories: Vec<String>,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Open,
    Acknowledged,
    Resolved,
}

/// One complaint and everything that spread it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Incidents are stored as JSON in the state file; this says how to read one.
    #[serde(default = "incident_schema")]
    pub schema_version: u32,
    pub id: String,
    pub provider: String,
    /// Bumped each time a ticket is emitted for it.
    pub version: u32,
    pub status: IncidentStatus,
    pub severity: Severity,
    pub risk: f32,
    pub sentiment: f32,
    pub categories: Vec<String>,
    pub language: Option<String>,
    pub post_ids: Vec<String>,
    pub channels: Vec<String>,
    pub authors: Vec<String>,
    pub reach: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub summary: String,
    /// The member that scored highest: what an alert shows first.
    pub top_post: PostSummary,
    /// The top post's reasons, then the spread's.
    pub reasons: Vec<Reason>,
    /// The highest risk and severity of any member post on its own.
    #[serde(default)]
    pub post_risk: f32,
    #[serde(default = "no_severity")]
    pub post_severity: Severity,
    /// Each author's audience, in the order of `authors`.
    #[serde(default)]
    pub audiences: Vec<u64>,
    /// Posts per hour from the first to the latest.
    #[serde(default)]
    pub velocity: f32,
    /// Risk points the spread adds to `post_risk`.
    #[serde(default)]
    pub spread: f32,
    /// How it travelled: one hop per member post, in order.
    #[serde(default)]
    pub hops: Vec<ChainHop>,
    /// The member posts (the first ones and the latest, at most `MAX_POSTS`).
    #[serde(default)]
    pub posts: Vec<PostSummary>,
}

fn no_severity() -> Severity {
    Severity::None
}

/// One step of an incident's spread: a member post, who passed it on, and
/// what linked it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainHop {
    pub post_id: String,
    pub author: String,
    pub channel: String,
    pub at: DateTime<Utc>,
    /// Whom the forward headers say it came from, for a forward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Why it joined the incident (absent for the first post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

fn incident_schema() -> u32 {
    INCIDENT_SCHEMA_VERSION
}

/// A post as a ticket or alert shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostSummary {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub author: String,
    pub channel: String,
    pub excerpt: String,
    pub created_at: DateTime<Utc>,
    /// SHA-256 (hex) of the text as earshot captured it: evidence that the
    /// excerpt is what was posted, should the post be edited or deleted.
    #[serde(default)]
    pub sha256: String,
    /// When earshot read it.
    #[serde(default = "epoch")]
    pub captured_at: DateTime<Utc>,
}

fn epoch() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// A CRM ticket: one version of an incident. Its JSON form is schema v1,
/// `schemas/ticket-v1.schema.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub schema_version: u32,
    /// Equal to `incident_id`: the CRM's idempotency key. With `version`
    /// it names one ticket version.
    pub ticket_id: String,
    pub incident_id: String,
    pub version: u32,
    pub status: String,
    pub priority: String,
    pub severity: Severity,
    pub risk: f32,
    pub sentiment: f32,
    pub provider: String,
    pub categories: Vec<String>,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub channels: Vec<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub reach: u64,
    pub post_ids: Vec<String>,
    pub authors: Vec<String>,
    /// Posts per hour.
    pub velocity: f32,
    pub hops: Vec<ChainHop>,
    pub posts: Vec<PostSummary>,
    pub reasons: Vec<Reason>,
    /// The team it is routed to.
    pub team: String,
    /// When an answer is due.
    pub due_at: DateTime<Utc>,
}

impl Ticket {
    pub fn from_incident(incident: &Incident) -> Ticket {
        Ticket {
            schema_version: TICKET_SCHEMA_VERSION,
            ticket_id: incident.id.clone(),
            incident_id: incident.id.clone(),
            version: incident.version,
            status: match incident.status {
                IncidentStatus::Resolved => "resolved",
                _ if incident.version == 1 => "open",
                _ => "updated",
            }
            .to_owned(),
            priority: incident.severity.priority().to_owned(),
            severity: incident.severity,
            risk: incident.risk,
            sentiment: incident.sentiment,
            provider: incident.provider.clone(),
            categories: incident.categories.clone(),
            summary: incident.summary.clone(),
            language: incident.language.clone(),
            channels: incident.channels.clone(),
            first_seen: incident.first_seen,
            last_seen: incident.last_seen,
            reach: incident.reach,
            post_ids: incident.post_ids.clone(),
            authors: incident.authors.clone(),
            velocity: incident.velocity,
            hops: incident.hops.clone(),
            posts: if incident.posts.is_empty() {
                vec![incident.top_post.clone()]
            } else {
                incident.posts.clone()
            },
            reasons: incident.reasons.clone(),
            team: String::new(),
            due_at: incident.last_seen,
        }
    }
}

/// A message for the patient-relations team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub schema_version: u32,
    pub incident_id: String,
    pub version: u32,
    pub severity: Severity,
    pub risk: f32,
    pub provider: String,
    pub categories: Vec<String>,
    pub summary: String,
    pub post: PostSummary,
    /// The team it is for ([alerts] routes, else [tickets] team).
    #[serde(default)]
    pub team: String,
}

impl Alert {
    pub fn from_incident(incident: &Incident) -> Alert {
        Alert {
            schema_version: ALERT_SCHEMA_VERSION,
            incident_id: incident.id.clone(),
            version: incident.version,
            severity: incident.severity,
            risk: incident.risk,
            provider: incident.provider.clone(),
            categories: incident.categories.clone(),
            summary: incident.summary.clone(),
            post: incident.top_post.clone(),
            team: String::new(),
        }
    }
}
