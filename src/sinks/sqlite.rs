//! SQLite export: tickets and the latest state of each incident, in a file
//! of their own that other tools (BI, a CRM import job) can read while
//! earshot runs. Idempotent on (ticket_id, version).

use super::{Sink, SinkError};
use crate::model::Ticket;
use crate::state::OutboxRow;
use rusqlite::{Connection, params};
use std::path::PathBuf;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    incident_id TEXT NOT NULL,
    provider    TEXT NOT NULL,
    severity    TEXT NOT NULL,
    risk        REAL NOT NULL,
    summary     TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (ticket_id, version)
);
CREATE TABLE IF NOT EXISTS incidents (
    id        TEXT PRIMARY KEY,
    provider  TEXT NOT NULL,
    version   INTEGER NOT NULL,
    status    TEXT NOT NULL,
    severity  TEXT NOT NULL,
    risk      REAL NOT NULL,
    summary   TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
";

pub struct SqliteSink {
    path: PathBuf,
    conn: Option<Connection>,
}

impl SqliteSink {
    pub fn new(path: PathBuf) -> Self {
        SqliteSink { path, conn: None }
    }
}

impl Sink for SqliteSink {
    async fn open(&mut self, _: Option<String>) -> Result<(), SinkError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(SCHEMA)?;
        self.conn = Some(conn);
        Ok(())
    }

    async fn deliver(&mut self, rows: &[OutboxRow]) -> Result<Option<String>, SinkError> {
        let conn = self.conn.as_mut().expect("opened before delivery");
        let tx = conn.transaction()?;
        for row in rows {
            let t: Ticket = serde_json::from_str(&row.payload).map_err(|e| SinkError::BadRow {
                key: row.key.clone(),
                message: e.to_string(),
            })?;
            tx.execute(
                "INSERT OR IGNORE INTO tickets VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    t.ticket_id,
                    t.version,
                    t.incident_id,
                    t.provider,
                    t.severity.as_str(),
                    t.risk,
                    t.summary,
                    t.first_seen.to_rfc3339(),
                    t.last_seen.to_rfc3339(),
                    row.payload
                ],
            )?;
            tx.execute(
                "INSERT INTO incidents VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status,
                   severity = excluded.severity, risk = excluded.risk, summary = excluded.summary,
                   last_seen = excluded.last_seen
                 WHERE excluded.version > incidents.version",
                params![
                    t.incident_id,
                    t.provider,
                    t.version,
                    t.status,
                    t.severity.as_str(),
                    t.risk,
                    t.summary,
                    t.last_seen.to_rfc3339()
                ],
            )?;
        }
        tx.commit()?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Severity, Ticket};

    fn ticket(version: u32, severity: Severity) -> OutboxRow {
        let mut post = crate::stages::testing::post("x");
        post.provider = Some(crate::post::ProviderMatch {
            id: "p".into(),
            matched: "p".into(),
        });
        let score = crate::model::Score {
            sentiment: -0.5,
            risk: 70.0,
            severity,
            categories: vec![],
            reasons: vec![],
        };
        let mut incident = crate::stages::incident::open(&post, &score, &crate::config::RiskConfig::default()).unwrap();
        incident.id = "inc-1".into();
        incident.version = version;
        incident.severity = severity;
        OutboxRow {
            seq: version as i64,
            kind: "ticket".into(),
            key: format!("inc-1#{version}"),
            payload: serde_json::to_string(&Ticket::from_incident(&incident)).unwrap(),
        }
    }

    #[tokio::test]
    async fn writes_tickets_once_and_keeps_the_latest_incident() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export/crm.db");
        let mut sink = SqliteSink::new(path.clone());
        sink.open(None).await.unwrap();
        sink.deliver(&[ticket(1, Severity::High), ticket(2, Severity::Critical)])
            .await
            .unwrap();
        sink.deliver(&[ticket(1, Severity::High)]).await.unwrap(); // a replay
        let conn = Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
            .unwrap();
        let (v, sev): (u32, String) = conn
            .query_row("SELECT version, severity FROM incidents WHERE id = 'inc-1'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, v, sev.as_str()), (2, 2, "critical"));
    }
}
