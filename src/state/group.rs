//! An incident's rows as one value, out of the state file and back in: what
//! a consumer-group member writes to the changelog after each change, and
//! what the next owner of the partition loads from it.

use super::store::{AuditEntry, StoredFingerprint, Writer};
use super::{Result, State};
use crate::dedup::Fingerprint;
use crate::model::{Incident, Ticket};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// What the state file holds about one incident but the fingerprints of
/// its posts (those are written once each, on their own: a viral incident's
/// record must not grow with every copy's fingerprint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRows {
    pub incident: Incident,
    pub audit: Vec<AuditEntry>,
    pub tickets: Vec<TicketRow>,
    /// Its tickets and alerts as each sink has them: queued, delivered, dead.
    pub outbox: Vec<OutboxState>,
}

/// A post's fingerprint as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FingerprintRow {
    pub post_id: String,
    pub provider: String,
    pub author: String,
    pub simhash: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shingles: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anchors: Vec<u64>,
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketRow {
    /// The ticket as delivered (JSON), byte for byte.
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxState {
    pub sink: String,
    pub kind: String,
    pub key: String,
    pub payload: String,
    pub created_at: String,
    #[serde(default)]
    pub not_before: Option<String>,
    #[serde(default)]
    pub delivered_at: Option<String>,
    #[serde(default)]
    pub dead_at: Option<String>,
    #[serde(default)]
    pub response: Option<String>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
}

impl FingerprintRow {
    pub fn stored(self) -> StoredFingerprint {
        StoredFingerprint {
            provider: self.provider,
            author: self.author,
            fingerprint: Fingerprint {
                simhash: self.simhash,
                shingles: self.shingles,
                anchors: self.anchors,
            },
            at: self.at,
            incident: self.incident,
        }
    }
}

pub(super) const FINGERPRINT_COLUMNS: &str = "post_id, provider, author, simhash, shingles, anchors, at, incident_id";

pub(super) fn fingerprint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FingerprintRow> {
    Ok(FingerprintRow {
        post_id: r.get(0)?,
        provider: r.get(1)?,
        author: r.get(2)?,
        simhash: r.get::<_, i64>(3)? as u64,
        shingles: r
            .get::<_, Vec<u8>>(4)?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect(),
        anchors: r
            .get::<_, Vec<u8>>(5)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        at: r.get(6)?,
        incident: r.get(7)?,
    })
}

/// The outbox keys of an incident's records are `INCIDENT#VERSION`: this
/// range holds exactly them ('$' follows '#').
fn key_range(incident: &str) -> (String, String) {
    (format!("{incident}#"), format!("{incident}$"))
}

impl State {
    /// One incident's rows, as they stand now.
    pub fn incident_rows(&self, id: &str) -> Result<Option<IncidentRows>> {
        let body: Option<String> = self
            .conn
            .query_row("SELECT body FROM incidents WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let Some(body) = body else { return Ok(None) };
        let incident: Incident = serde_json::from_str(&body).map_err(|e| self.corrupt(format!("incident {id}"), e))?;
        let audit = self.audit_trail(id)?;
        let tickets = self
            .conn
            .prepare_cached("SELECT body, created_at FROM tickets WHERE incident_id = ?1 ORDER BY version")
            .and_then(|mut s| {
                s.query_map([id], |r| {
                    Ok(TicketRow {
                        body: r.get(0)?,
                        created_at: r.get(1)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))?;
        let (from, to) = key_range(id);
        let outbox = self
            .conn
            .prepare_cached(
                "SELECT sink, kind, key, payload, created_at, not_before, delivered_at, dead_at, response,
                        attempts, last_error
                 FROM outbox WHERE key > ?1 AND key < ?2 ORDER BY seq",
            )
            .and_then(|mut s| {
                s.query_map([from, to], |r| {
                    Ok(OutboxState {
                        sink: r.get(0)?,
                        kind: r.get(1)?,
                        key: r.get(2)?,
                        payload: r.get(3)?,
                        created_at: r.get(4)?,
                        not_before: r.get(5)?,
                        delivered_at: r.get(6)?,
                        dead_at: r.get(7)?,
                        response: r.get(8)?,
                        attempts: r.get(9)?,
                        last_error: r.get(10)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))?;
        Ok(Some(IncidentRows {
            incident,
            audit,
            tickets,
            outbox,
        }))
    }

    /// A post's fingerprint, if still kept.
    pub fn post_row(&self, post_id: &str) -> Result<Option<FingerprintRow>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {FINGERPRINT_COLUMNS} FROM fingerprints WHERE post_id = ?1"
            ))
            .and_then(|mut s| s.query_row([post_id], fingerprint_row).optional())
            .map_err(|e| self.err(e))
    }

    /// Outbox rows of these providers' incidents that are released (up to
    /// `upto`), due, and neither delivered nor dead.
    pub fn undelivered(&self, providers: &[String], upto: i64) -> Result<u64> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM outbox o JOIN incidents i ON i.id = substr(o.key, 1, instr(o.key, '#') - 1)
                 WHERE i.provider = ?1 AND o.delivered_at IS NULL AND o.dead_at IS NULL AND o.seq <= ?2
                   AND (o.not_before IS NULL OR o.not_before <= ?3)",
            )
            .map_err(|e| self.err(e))?;
        let now = super::now();
        let mut total = 0u64;
        for p in providers {
            total += stmt
                .query_row(params![p, upto, now], |r| r.get::<_, u64>(0))
                .map_err(|e| self.err(e))?;
        }
        Ok(total)
    }

    /// The provider an incident is about.
    pub fn provider_of(&self, incident: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT provider FROM incidents WHERE id = ?1", [incident], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }
}

impl Writer<'_> {
    /// Puts an incident's rows in place of whatever the file held for it.
    pub fn load_incident(&self, rows: &IncidentRows) -> Result<()> {
        let id = &rows.incident.id;
        let (from, to) = key_range(id);
        for (sql, arg) in [
            ("DELETE FROM audit WHERE incident_id = ?1", id.as_str()),
            ("DELETE FROM tickets WHERE incident_id = ?1", id),
        ] {
            self.tx.execute(sql, [arg]).map_err(|e| self.err(e))?;
        }
        self.tx
            .execute("DELETE FROM outbox WHERE key > ?1 AND key < ?2", [&from, &to])
            .map_err(|e| self.err(e))?;
        self.put_incident(&rows.incident)?;
        for a in &rows.audit {
            self.tx
                .execute(
                    "INSERT INTO audit (incident_id, at, action, by, comment, version, severity, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![id, a.at, a.action, a.by, a.comment, a.version, a.severity, a.status],
                )
                .map_err(|e| self.err(e))?;
        }
        for t in &rows.tickets {
            let ticket: Ticket = serde_json::from_str(&t.body).map_err(|source| super::StateError::Corrupt {
                path: self.state_path.to_path_buf(),
                what: format!("ticket of incident {id}"),
                source,
            })?;
            self.put_ticket(&ticket, &t.body, &t.created_at, "REPLACE")?;
        }
        for o in &rows.outbox {
            self.tx
                .execute(
                    "INSERT OR REPLACE INTO outbox (sink, kind, key, payload, created_at, not_before, delivered_at,
                        dead_at, response, attempts, last_error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        o.sink,
                        o.kind,
                        o.key,
                        o.payload,
                        o.created_at,
                        o.not_before,
                        o.delivered_at,
                        o.dead_at,
                        o.response,
                        o.attempts,
                        o.last_error
                    ],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Puts a fingerprint in place of whatever the file held for its post.
    pub fn load_post(&self, f: &FingerprintRow) -> Result<()> {
        let shingles: Vec<u8> = f.shingles.iter().flat_map(|s| s.to_le_bytes()).collect();
        let anchors: Vec<u8> = f.anchors.iter().flat_map(|a| a.to_le_bytes()).collect();
        self.tx
            .execute(
                &format!("INSERT OR REPLACE INTO fingerprints ({FINGERPRINT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    f.post_id,
                    f.provider,
                    f.author,
                    f.simhash as i64,
                    shingles,
                    anchors,
                    f.at,
                    f.incident
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Forgets everything about these providers: their partition moved to
    /// another member, which now holds the truth.
    pub fn drop_providers<'p>(&self, providers: impl IntoIterator<Item = &'p str>) -> Result<()> {
        for p in providers {
            for sql in [
                "DELETE FROM audit WHERE incident_id IN (SELECT id FROM incidents WHERE provider = ?1)",
                "DELETE FROM outbox WHERE substr(key, 1, instr(key, '#') - 1) IN
                   (SELECT id FROM incidents WHERE provider = ?1)",
                "DELETE FROM tickets WHERE provider = ?1",
                "DELETE FROM fingerprints WHERE provider = ?1",
                "DELETE FROM incidents WHERE provider = ?1",
            ] {
                self.tx.execute(sql, [p]).map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    /// Forgets every incident, fingerprint, ticket and queued record: a
    /// group member starts from the changelog, not from what it held.
    pub fn clear_incidents(&self) -> Result<()> {
        self.tx
            .execute_batch(
                "DELETE FROM audit; DELETE FROM outbox; DELETE FROM tickets;
                 DELETE FROM fingerprints; DELETE FROM incidents;",
            )
            .map_err(|e| self.err(e))
    }

    /// The newest outbox row's sequence number (0 when empty).
    pub fn last_outbox_seq(&self) -> Result<i64> {
        self.tx
            .query_row("SELECT coalesce(max(seq), 0) FROM outbox", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }
}
