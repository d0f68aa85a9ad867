//! HTTP: tickets into a CRM's REST API, alerts to a webhook or Slack.
//!
//! Rows go one at a time, in order, each with an `Idempotency-Key` (the
//! ticket id and version), so a retry after a lost answer creates nothing
//! twice. A 2xx or a 409 (the CRM has it already) is delivered. A 429 waits
//! for its `Retry-After`; a 5xx, a 408, a timeout or a refused connection
//! are retried with backoff by the delivery worker. Any other 4xx is the
//! CRM refusing that record for good: it goes to the dead letters with the
//! answer (`earshot outbox dead`, `earshot outbox retry`), and the rows
//! after it go on.
//!
//! Formats: `generic` posts the record as it is; `zendesk` a Zendesk ticket
//! (`external_id` = the ticket id, so versions update one CRM ticket);
//! `fhir` an HL7 FHIR R4 `Task` to `{url}/Task` with `If-None-Exist` on its
//! identifier (conditional create); `slack` an incoming-webhook message with
//! blocks (severity, summary, the top post and its link).

use super::{Sink, SinkError};
use crate::config::{HttpFormat, HttpSinkConfig};
use crate::model::{Alert, Ticket};
use crate::retry::retry_after;
use crate::state::OutboxRow;
use serde_json::{Value, json};
use std::time::Duration;

/// How much of a refusal's body is kept with the dead letter.
const KEEP_BODY: usize = 2000;

pub struct Http {
    config: HttpSinkConfig,
    client: Option<reqwest::Client>,
    token: Option<String>,
}

impl Http {
    pub fn new(config: HttpSinkConfig) -> Self {
        Http {
            config,
            client: None,
            token: None,
        }
    }
}

fn bad(row: &OutboxRow, e: impl std::fmt::Display) -> SinkError {
    SinkError::BadRow {
        key: row.key.clone(),
        message: e.to_string(),
    }
}

fn fhir_priority(priority: &str) -> &'static str {
    match priority {
        "urgent" => "stat",
        "high" => "asap",
        "normal" => "urgent",
        _ => "routine",
    }
}

/// One request to make: where, what, and its extra headers.
pub struct Request {
    pub url: String,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

/// The record a row carries, in the sink's format.
pub fn request(config: &HttpSinkConfig, row: &OutboxRow) -> Result<Request, SinkError> {
    let raw: Value = serde_json::from_str(&row.payload).map_err(|e| bad(row, e))?;
    let url = config.url.clone();
    let (url, body, headers) = match config.format {
        HttpFormat::Generic => (url, raw, Vec::new()),
        HttpFormat::Zendesk => {
            let t: Ticket = serde_json::from_value(raw).map_err(|e| bad(row, e))?;
            let mut tags = t.categories.clone();
            tags.push("earshot".into());
            let posts: String = t
                .posts
                .iter()
                .map(|p| {
                    format!(
                        "- {} on {} ({}): {}{}\n",
                        p.author,
                        p.channel,
                        p.created_at.to_rfc3339(),
                        p.excerpt,
                        p.url.as_ref().map_or(String::new(), |u| format!(" {u}"))
                    )
                })
                .collect();
            let body = json!({"ticket": {
                "external_id": t.ticket_id,
                "subject": t.summary.chars().take(150).collect::<String>(),
                "comment": {"body": format!(
                    "{}\n\nVersion {} · severity {} · risk {:.0} · reach {} · {} posts\nDue {}\n\n{posts}",
                    t.summary, t.version, t.severity, t.risk, t.reach, t.post_ids.len(), t.due_at.to_rfc3339()
                )},
                "priority": t.priority,
                "status": if t.status == "resolved" { "solved" } else { "open" },
                "tags": tags,
                "due_at": t.due_at.to_rfc3339(),
            }});
            (url, body, Vec::new())
        }
        HttpFormat::Fhir => {
            let t: Ticket = serde_json::from_value(raw).map_err(|e| bad(row, e))?;
            let id = format!("{}#{}", t.ticket_id, t.version);
            let body = json!({
                "resourceType": "Task",
                "identifier": [{"system": "urn:earshot:ticket-version", "value": id}],
                "groupIdentifier": {"system": "urn:earshot:incident", "value": t.incident_id},
                "status": if t.status == "resolved" { "completed" } else { "requested" },
                "intent": "order",
                "priority": fhir_priority(&t.priority),
                "description": t.summary,
                "authoredOn": t.first_seen.to_rfc3339(),
                "lastModified": t.last_seen.to_rfc3339(),
                "restriction": {"period": {"end": t.due_at.to_rfc3339()}},
                "note": t.posts.iter().map(|p| json!({"text": format!("{} on {}: {}", p.author, p.channel, p.excerpt)})).collect::<Vec<_>>(),
            });
            let url = format!("{}/Task", config.url.trim_end_matches('/'));
            let headers = vec![
                (
                    "If-None-Exist".into(),
                    format!("identifier=urn:earshot:ticket-version|{id}"),
                ),
                ("Content-Type".into(), "application/fhir+json".into()),
            ];
            (url, body, headers)
        }
        HttpFormat::Slack => {
            let a: Alert = serde_json::from_value(raw).map_err(|e| bad(row, e))?;
            let link = a.post.url.as_ref().map_or(String::new(), |u| format!(" <{u}|open>"));
            let body = json!({
                "text": a.summary,
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": format!("{} · risk {:.0} · {}", a.severity.as_str().to_uppercase(), a.risk, a.provider)}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": a.summary}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}* on {}: {}{link}", a.post.author, a.post.channel, a.post.excerpt)}},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("{} v{} · {}", a.incident_id, a.version, a.categories.join(", "))}]},
                ],
            });
            (url, body, Vec::new())
        }
    };
    Ok(Request { url, body, headers })
}

impl Sink for Http {
    async fn open(&mut self, _: Option<String>) -> Result<(), SinkError> {
        if let Some(var) = &self.config.token_env {
            self.token = Some(std::env::var(var).map_err(|_| SinkError::Transient {
                message: format!("environment variable {var} (the token) is not set"),
                retry_after: None,
            })?);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(self.config.timeout_secs.max(1)))
            .user_agent(concat!("earshot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SinkError::Transient {
                message: format!("HTTP client: {e}"),
                retry_after: None,
            })?;
        self.client = Some(client);
        Ok(())
    }

    async fn deliver(&mut self, rows: &[OutboxRow]) -> Result<Option<String>, SinkError> {
        let client = self.client.as_ref().expect("opened before delivery");
        for (i, row) in rows.iter().enumerate() {
            let Request { url, body, headers } = request(&self.config, row)?;
            let mut req = client.post(&url).header("Idempotency-Key", &row.key).json(&body);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            if let Some(token) = &self.token {
                req = req.bearer_auth(token);
            }
            let response = match req.send().await {
                Ok(r) => r,
                // Nothing after row i reached the CRM: those before did.
                Err(e) => {
                    return Err(partial(
                        i,
                        SinkError::Transient {
                            message: format!("{url}: {}", without_url(e)),
                            retry_after: None,
                        },
                    ));
                }
            };
            let status = response.status();
            if status.is_success() || status == reqwest::StatusCode::CONFLICT {
                continue;
            }
            let after = retry_after(response.headers());
            let text: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(KEEP_BODY)
                .collect();
            let answer = format!("{} {}", status.as_u16(), text.trim());
            let transient = status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || status == reqwest::StatusCode::REQUEST_TIMEOUT
                || status.is_server_error();
            return Err(if transient {
                partial(
                    i,
                    SinkError::Transient {
                        message: format!("{url}: {answer}"),
                        retry_after: after,
                    },
                )
            } else {
                SinkError::Refused {
                    delivered: i,
                    key: row.key.clone(),
                    response: answer,
                }
            });
        }
        Ok(None)
    }
}

/// A failure after `delivered` rows went through: those are kept (the
/// worker marks them delivered) and only the rest are retried.
fn partial(delivered: usize, e: SinkError) -> SinkError {
    if delivered == 0 {
        return e;
    }
    SinkError::Partial {
        delivered,
        cause: Box::new(e),
    }
}

/// reqwest's message without the URL (which may carry a token in its query).
fn without_url(e: reqwest::Error) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("cannot connect: {e}")
    } else {
        e.to_string()
    }
}
