//! Cursors, incidents and tickets: what the committer writes in one
//! transaction per batch.

use super::{Result, State, StateError, now};
use crate::dedup::Fingerprint;
use crate::model::{Incident, IncidentStatus, Ticket};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

/// One line of an incident's audit trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub at: String,
    pub action: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub version: u32,
    pub severity: String,
    pub status: String,
}

pub fn status_str(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Open => "open",
        IncidentStatus::Acknowledged => "acknowledged",
        IncidentStatus::Resolved => "resolved",
    }
}

/// A fingerprint as stored.
#[derive(Debug, Clone)]
pub struct StoredFingerprint {
    pub provider: String,
    pub author: String,
    pub fingerprint: Fingerprint,
    pub at: i64,
    pub incident: Option<String>,
}

/// One open transaction of the committer.
pub struct Writer<'s> {
    pub(super) tx: Transaction<'s>,
    pub(super) state_path: &'s std::path::Path,
}

impl State {
    pub fn cursor(&self, source: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT position FROM cursors WHERE source = ?1", [source], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The provider the ingest role sent `post_id` under, if it did.
    pub fn route(&self, post_id: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT provider FROM routes WHERE post_id = ?1", [post_id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn writer(&mut self) -> Result<Writer<'_>> {
        // IMMEDIATE: take the write lock up front. A deferred transaction
        // that reads, then writes after another connection committed, fails
        // at once with SQLITE_BUSY, whatever the busy timeout.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| StateError::Sqlite {
                path: self.path.clone(),
                source,
            })?;
        Ok(Writer {
            tx,
            state_path: &self.path,
        })
    }

    /// Fingerprints of posts at or after `since` (Unix seconds), oldest
    /// first, with their provider, author and incident: what rebuilds the
    /// near-duplicate index.
    pub fn fingerprints_since(&self, since: i64) -> Result<Vec<StoredFingerprint>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM fingerprints WHERE at >= ?1 ORDER BY at, rowid",
                super::group::FINGERPRINT_COLUMNS
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_map([since], |r| super::group::fingerprint_row(r).map(|f| f.stored()))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// The time of the latest fingerprint (Unix seconds), if any.
    pub fn latest_fingerprint(&self) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT max(at) FROM fingerprints", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Every incident (the latest state of each), for the index's categories.
    pub fn incidents(&self) -> Result<Vec<Incident>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, body FROM incidents ORDER BY first_seen, id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(id, body)| serde_json::from_str(&body).map_err(|e| self.corrupt(format!("incident {id}"), e)))
            .collect()
    }

    /// Incidents, latest activity first, with the given status (any when `None`).
    pub fn incidents_by_status(&self, status: Option<IncidentStatus>, limit: usize) -> Result<Vec<Incident>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, body FROM incidents WHERE ?1 IS NULL OR status = ?1
                 ORDER BY last_seen DESC, id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![status.map(status_str), limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(id, body)| serde_json::from_str(&body).map_err(|e| self.corrupt(format!("incident {id}"), e)))
            .collect()
    }

    /// An incident's audit trail, oldest first.
    pub fn audit_trail(&self, incident: &str) -> Result<Vec<AuditEntry>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT at, action, by, comment, version, severity, status FROM audit
                 WHERE incident_id = ?1 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([incident], |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                action: r.get(1)?,
                by: r.get(2)?,
                comment: r.get(3)?,
                version: r.get(4)?,
                severity: r.get(5)?,
                status: r.get(6)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Ticket versions, oldest first.
    pub fn tickets(&self, limit: usize) -> Result<Vec<Ticket>> {
        let mut stmt = self
            .conn
            .prepare("SELECT body FROM tickets ORDER BY created_at, rowid LIMIT ?1")
            .map_err(|e| self.err(e))?;
        let bodies = stmt
            .query_map([limit as i64], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(|e| self.corrupt("ticket", e)))
            .collect()
    }
}

impl Writer<'_> {
    pub(super) fn err(&self, source: rusqlite::Error) -> StateError {
        StateError::Sqlite {
            path: self.state_path.to_path_buf(),
            source,
        }
    }

    /// Records the provider a post was sent to the posts topic under (the
    /// ingest role's), for its later deletion or edit.
    pub fn put_route(&self, post_id: &str, provider: &str, at: i64) -> Result<()> {
        self.tx
            .prepare_cached("INSERT OR REPLACE INTO routes (post_id, provider, at) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![post_id, provider, at]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Forgets the routes of posts older than `before` (Unix seconds).
    pub fn prune_routes(&self, before: i64) -> Result<()> {
        self.tx
            .execute("DELETE FROM routes WHERE at < ?1", [before])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub fn set_cursor(&self, source: &str, position: &str) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO cursors (source, position, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (source) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
                params![source, position, now()],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub fn incident(&self, id: &str) -> Result<Option<Incident>> {
        let body: Option<String> = self
            .tx
            .query_row("SELECT body FROM incidents WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        body.map(|b| {
            serde_json::from_str(&b).map_err(|source| StateError::Corrupt {
                path: self.state_path.to_path_buf(),
                what: format!("incident {id}"),
                source,
            })
        })
        .transpose()
    }

    pub fn put_incident(&self, incident: &Incident) -> Result<()> {
        let body = serde_json::to_string(incident).expect("incidents serialize");
        self.tx
            .execute(
                "INSERT INTO incidents (id, provider, version, status, severity, risk, first_seen, last_seen, body, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status,
                   severity = excluded.severity, risk = excluded.risk, last_seen = excluded.last_seen,
                   body = excluded.body, updated_at = excluded.updated_at",
                params![
                    incident.id,
                    incident.provider,
                    incident.version,
                    status_str(incident.status),
                    incident.severity.as_str(),
                    incident.risk,
                    incident.first_seen.to_rfc3339(),
                    incident.last_seen.to_rfc3339(),
                    body,
                    now()
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// False when this ticket version exists already (a replay).
    pub fn insert_ticket(&self, ticket: &Ticket, body: &str) -> Result<bool> {
        self.put_ticket(ticket, body, &now(), "IGNORE")
    }

    /// Stores a ticket version; `conflict` (IGNORE, REPLACE) says what
    /// happens to one stored already. True when a row was written.
    pub(super) fn put_ticket(&self, ticket: &Ticket, body: &str, created_at: &str, conflict: &str) -> Result<bool> {
        self.tx
            .execute(
                &format!(
                    "INSERT OR {conflict} INTO tickets (ticket_id, version, incident_id, provider, severity, risk, body, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ),
                params![
                    ticket.ticket_id,
                    ticket.version,
                    ticket.incident_id,
                    ticket.provider,
                    ticket.severity.as_str(),
                    ticket.risk,
                    body,
                    created_at
                ],
            )
            .map(|n| n == 1)
            .map_err(|e| self.err(e))
    }

    /// Queue `payload` for `sink`; a second copy of the same key is ignored.
    pub fn enqueue(&self, sink: &str, kind: &str, key: &str, payload: &str) -> Result<()> {
        self.enqueue_at(sink, kind, key, payload, None)
    }

    /// As `enqueue`, held back until `not_before` when given.
    pub fn enqueue_at(
        &self,
        sink: &str,
        kind: &str,
        key: &str,
        payload: &str,
        not_before: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<()> {
        let not_before = not_before.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        self.tx
            .execute(
                "INSERT OR IGNORE INTO outbox (sink, kind, key, payload, created_at, not_before)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![sink, kind, key, payload, now(), not_before],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// When the newest `limit` alerts since `since` were or will be sent
    /// (an alert's hold time, else its commit time), oldest first: what the
    /// rate limit needs. One per alert, whatever the number of alert sinks.
    pub fn alert_times_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<chrono::DateTime<chrono::Utc>>> {
        let since = since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        // Newest first along the index; an alert's first row met is its
        // newest, so the walk stops after `limit` alerts, however many
        // wait in the queue.
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT coalesce(not_before, created_at) AS t, key FROM outbox INDEXED BY outbox_alert_time
                 WHERE kind = 'alert' AND coalesce(not_before, created_at) >= ?1
                 ORDER BY coalesce(not_before, created_at) DESC",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([since]).map_err(|e| self.err(e))?;
        let mut keys = std::collections::HashSet::new();
        let mut times = Vec::with_capacity(limit);
        while times.len() < limit
            && let Some(row) = rows.next().map_err(|e| self.err(e))?
        {
            let (t, key): (String, String) = (
                row.get(0).map_err(|e| self.err(e))?,
                row.get(1).map_err(|e| self.err(e))?,
            );
            if keys.insert(key)
                && let Ok(t) = chrono::DateTime::parse_from_rfc3339(&t)
            {
                times.push(t.to_utc());
            }
        }
        times.reverse();
        Ok(times)
    }

    /// Records a change to `incident` (in its new state) in its audit trail.
    pub fn audit(&self, incident: &Incident, action: &str, by: &str, comment: Option<&str>) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO audit (incident_id, at, action, by, comment, version, severity, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    incident.id,
                    now(),
                    action,
                    by,
                    comment,
                    incident.version,
                    incident.severity.as_str(),
                    status_str(incident.status)
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Whether a post's effects are stored already (a replay).
    pub fn seen(&self, post_id: &str) -> Result<bool> {
        self.tx
            .query_row("SELECT 1 FROM fingerprints WHERE post_id = ?1", [post_id], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| self.err(e))
    }

    /// The incident a post belongs to, if any.
    pub fn incident_of(&self, post_id: &str) -> Result<Option<String>> {
        self.tx
            .query_row(
                "SELECT incident_id FROM fingerprints WHERE post_id = ?1",
                [post_id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn put_fingerprint(
        &self,
        post_id: &str,
        provider: &str,
        author: &str,
        fp: &Fingerprint,
        at: i64,
        incident: Option<&str>,
    ) -> Result<()> {
        // Shingles and anchors serve incidents only; others keep the SimHash.
        let (shingles, anchors): (Vec<u8>, Vec<u8>) = match incident {
            Some(_) => (
                fp.shingles.iter().flat_map(|s| s.to_le_bytes()).collect(),
                fp.anchors.iter().flat_map(|a| a.to_le_bytes()).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        self.tx
            .execute(
                "INSERT OR IGNORE INTO fingerprints (post_id, provider, author, simhash, shingles, anchors, at, incident_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![post_id, provider, author, fp.simhash as i64, shingles, anchors, at, incident],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Forgets the fingerprints of posts before `before` (Unix seconds)
    /// that joined no incident: past the window they serve nothing. Incident
    /// members stay (forwards that name them still find their incident).
    /// Returns the (provider, post id) of each one forgotten.
    pub fn prune_fingerprints(&self, before: i64) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "DELETE FROM fingerprints WHERE at < ?1 AND incident_id IS NULL RETURNING provider, post_id",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([before], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    pub fn commit(self) -> Result<()> {
        let path = self.state_path.to_path_buf();
        self.tx.commit().map_err(|source| StateError::Sqlite { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_outside_the_window_go_unless_they_joined_an_incident() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("s.db")).unwrap();
        let fp = Fingerprint {
            simhash: u64::MAX,
            shingles: vec![1, 2],
            anchors: vec![45_000],
        };
        let w = state.writer().unwrap();
        w.put_fingerprint("s:old", "p", "a", &fp, 10, None).unwrap();
        w.put_fingerprint("s:member", "p", "a", &fp, 10, Some("inc-1")).unwrap();
        w.put_fingerprint("s:new", "p", "a", &fp, 100, None).unwrap();
        assert_eq!(
            w.prune_fingerprints(50).unwrap(),
            vec![("p".to_owned(), "s:old".to_owned())]
        );
        assert!(!w.seen("s:old").unwrap() && w.seen("s:member").unwrap() && w.seen("s:new").unwrap());
        assert_eq!(w.incident_of("s:member").unwrap().as_deref(), Some("inc-1"));
        w.commit().unwrap();
        let stored = state.fingerprints_since(0).unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[0].fingerprint, fp, "a member keeps its shingles and figures");
        assert!(
            stored[1].fingerprint.shingles.is_empty(),
            "others keep the SimHash only"
        );
        assert_eq!(stored[1].fingerprint.simhash, u64::MAX);
        assert_eq!(state.latest_fingerprint().unwrap(), Some(100));
    }

    #[test]
    fn the_rate_limit_sees_the_newest_alerts_once_each_whatever_the_sinks() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("s.db")).unwrap();
        let now = chrono::Utc::now();
        let w = state.writer().unwrap();
        let hours = |h| Some(now + chrono::Duration::hours(h));
        // Four alerts, each to two sinks; three held back to later hours.
        for (key, held) in [("a#1", None), ("b#1", hours(1)), ("c#1", hours(3)), ("d#1", hours(2))] {
            for sink in ["slack", "hook"] {
                w.enqueue_at(sink, "alert", key, "{}", held).unwrap();
            }
        }
        w.enqueue("crm", "ticket", "e#1", "{}").unwrap();
        let since = now - chrono::Duration::hours(1);
        let times = w.alert_times_since(since, 2).unwrap();
        assert_eq!(times.len(), 2);
        assert!(times[0] < times[1], "oldest first");
        assert_eq!(times[1].timestamp_millis(), hours(3).unwrap().timestamp_millis());
        assert_eq!(times[0].timestamp_millis(), hours(2).unwrap().timestamp_millis());
        assert_eq!(w.alert_times_since(since, 10).unwrap().len(), 4, "one per alert");
        let later = w.alert_times_since(now + chrono::Duration::minutes(30), 10).unwrap();
        assert_eq!(later.len(), 3, "only those in the window");
    }

    #[test]
    fn routes_are_kept_for_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("s.db")).unwrap();
        let w = state.writer().unwrap();
        w.put_route("masto:1", "rshs", 100).unwrap();
        w.put_route("masto:2", "kmu", 200).unwrap();
        w.prune_routes(150).unwrap();
        w.commit().unwrap();
        assert_eq!(state.route("masto:1").unwrap(), None, "older than the window");
        assert_eq!(state.route("masto:2").unwrap().as_deref(), Some("kmu"));
        assert_eq!(state.route("masto:3").unwrap(), None);
    }

    #[test]
    fn cursor_commits_with_the_transaction_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("s.db")).unwrap();
        let w = state.writer().unwrap();
        w.set_cursor("demo", "a").unwrap();
        drop(w); // rolled back
        assert_eq!(state.cursor("demo").unwrap(), None);
        let w = state.writer().unwrap();
        w.set_cursor("demo", "b").unwrap();
        w.commit().unwrap();
        assert_eq!(state.cursor("demo").unwrap().as_deref(), Some("b"));
    }
}
