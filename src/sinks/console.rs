//! Console: one readable line per alert (or ticket) on standard output,
//! for a person watching the terminal.

use super::{Sink, SinkError};
use crate::model::{Alert, Ticket};
use crate::state::OutboxRow;
use std::io::Write;

pub struct Console<W> {
    out: W,
}

impl Console<std::io::Stdout> {
    pub fn stdout() -> Self {
        Console { out: std::io::stdout() }
    }
}

fn bad(row: &OutboxRow, e: serde_json::Error) -> SinkError {
    SinkError::BadRow {
        key: row.key.clone(),
        message: e.to_string(),
    }
}

/// `[HIGH] provider · risk 72 · categories · @author (channel) "excerpt" url · incident vN`
pub fn line(row: &OutboxRow) -> Result<String, SinkError> {
    let (severity, provider, risk, categories, post, incident, version) = if row.kind == "alert" {
        let a: Alert = serde_json::from_str(&row.payload).map_err(|e| bad(row, e))?;
        (
            a.severity,
            a.provider,
            a.risk,
            a.categories,
            a.post,
            a.incident_id,
            a.version,
        )
    } else {
        let t: Ticket = serde_json::from_str(&row.payload).map_err(|e| bad(row, e))?;
        let post = t.posts.into_iter().next().ok_or_else(|| SinkError::BadRow {
            key: row.key.clone(),
            message: "ticket without posts".into(),
        })?;
        (
            t.severity,
            t.provider,
            t.risk,
            t.categories,
            post,
            t.incident_id,
            t.version,
        )
    };
    let mut excerpt: String = post.excerpt.chars().take(140).collect();
    if post.excerpt.chars().count() > 140 {
        excerpt.push('…');
    }
    let categories = if categories.is_empty() {
        "-".to_owned()
    } else {
        categories.join(", ")
    };
    let url = post.url.map(|u| format!(" {u}")).unwrap_or_default();
    Ok(format!(
        "[{}] {provider} · risk {risk:.0} · {categories} · {} ({}) \"{excerpt}\"{url} · {incident} v{version}",
        severity.as_str().to_uppercase(),
        post.author,
        post.channel,
    ))
}

impl<W: Write + Send + 'static> Sink for Console<W> {
    async fn open(&mut self, _: Option<String>) -> Result<(), SinkError> {
        Ok(())
    }

    async fn deliver(&mut self, rows: &[OutboxRow]) -> Result<Option<String>, SinkError> {
        let mut text = String::new();
        for row in rows {
            text.push_str(&line(row)?);
            text.push('\n');
        }
        self.out.write_all(text.as_bytes())?;
        self.out.flush()?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ALERT_SCHEMA_VERSION, PostSummary, Severity};
    use chrono::Utc;

    #[tokio::test]
    async fn prints_one_readable_line_per_alert() {
        let alert = Alert {
            team: "patient-relations".into(),
            schema_version: ALERT_SCHEMA_VERSION,
            incident_id: "inc-1".into(),
            version: 2,
            severity: Severity::Critical,
            risk: 91.4,
            provider: "rshs".into(),
            categories: vec!["misdiagnosis".into(), "legal_threat".into()],
            summary: "s".into(),
            post: PostSummary {
                sha256: String::new(),
                captured_at: chrono::DateTime::UNIX_EPOCH,
                id: "m:1".into(),
                url: Some("https://example.org/1".into()),
                author: "@nadia".into(),
                channel: "email".into(),
                excerpt: "Dokter salah diagnosa".into(),
                created_at: Utc::now(),
            },
        };
        let row = OutboxRow {
            seq: 1,
            kind: "alert".into(),
            key: "inc-1#2".into(),
            payload: serde_json::to_string(&alert).unwrap(),
        };
        let mut console = Console { out: Vec::new() };
        console.deliver(&[row]).await.unwrap();
        let out = String::from_utf8(console.out).unwrap();
        assert_eq!(
            out,
            "[CRITICAL] rshs · risk 91 · misdiagnosis, legal_threat · @nadia (email) \"Dokter salah diagnosa\" https://example.org/1 · inc-1 v2\n"
        );
    }

    #[tokio::test]
    async fn a_bad_row_is_an_error_not_a_panic() {
        let row = OutboxRow {
            seq: 1,
            kind: "alert".into(),
            key: "k".into(),
            payload: "{".into(),
        };
        let mut console = Console { out: Vec::new() };
        assert!(matches!(console.deliver(&[row]).await, Err(SinkError::BadRow { .. })));
    }
}
