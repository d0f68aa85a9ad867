//! The outbox as the delivery workers see it: pending rows per sink, marked
//! delivered (with the sink's resume point) once the sink confirmed them.

use super::{Result, State, now};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

/// A row a sink refused for good.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeadRow {
    pub sink: String,
    pub key: String,
    pub kind: String,
    pub dead_at: String,
    pub response: Option<String>,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub seq: i64,
    pub kind: String,
    pub key: String,
    pub payload: String,
}

impl State {
    pub fn pending(&self, sink: &str, limit: usize) -> Result<Vec<OutboxRow>> {
        self.pending_upto(sink, limit, i64::MAX)
    }

    /// As `pending`, rows up to sequence number `upto` only: those released
    /// for delivery (a group member's, once the changelog holds them).
    pub fn pending_upto(&self, sink: &str, limit: usize, upto: i64) -> Result<Vec<OutboxRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, kind, key, payload FROM outbox
                 WHERE sink = ?1 AND delivered_at IS NULL AND dead_at IS NULL
                   AND (not_before IS NULL OR not_before <= ?3) AND seq <= ?4
                 ORDER BY seq LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![sink, limit as i64, now(), upto], |r| {
            Ok(OutboxRow {
                seq: r.get(0)?,
                kind: r.get(1)?,
                key: r.get(2)?,
                payload: r.get(3)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Seconds since the oldest undelivered row of `sink` was committed.
    pub fn oldest_pending_age(&self, sink: &str) -> Result<f64> {
        let oldest: Option<String> = self
            .conn
            .query_row(
                "SELECT min(created_at) FROM outbox WHERE sink = ?1 AND delivered_at IS NULL AND dead_at IS NULL",
                [sink],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(oldest
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map_or(0.0, |t| {
                (chrono::Utc::now() - t.to_utc()).num_milliseconds().max(0) as f64 / 1000.0
            }))
    }

    /// When each of these rows was committed (seconds ago), for latency.
    pub fn ages(&self, seqs: &[i64]) -> Result<Vec<f64>> {
        let now = chrono::Utc::now();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT created_at FROM outbox WHERE seq = ?1")
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
            let t: String = stmt.query_row([seq], |r| r.get(0)).map_err(|e| self.err(e))?;
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&t) {
                out.push((now - t.to_utc()).num_milliseconds().max(0) as f64 / 1000.0);
            }
        }
        Ok(out)
    }

    pub fn pending_count(&self, sink: &str) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM outbox WHERE sink = ?1 AND delivered_at IS NULL AND dead_at IS NULL",
                [sink],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Marks rows delivered and, in the same transaction, stores the sink's
    /// resume point when it keeps one.
    pub fn mark_delivered(&mut self, sink: &str, seqs: &[i64], position: Option<&str>) -> Result<()> {
        let path = self.path.clone();
        let err = |source| super::StateError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        {
            let mut stmt = tx
                .prepare_cached("UPDATE outbox SET delivered_at = ?1, attempts = attempts + 1 WHERE seq = ?2")
                .map_err(err)?;
            let at = now();
            for seq in seqs {
                stmt.execute(params![at, seq]).map_err(err)?;
            }
            if let Some(position) = position {
                tx.execute(
                    "INSERT INTO sink_state (sink, position) VALUES (?1, ?2)
                     ON CONFLICT (sink) DO UPDATE SET position = excluded.position",
                    params![sink, position],
                )
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    pub fn record_failure(&self, seqs: &[i64], error: &str) -> Result<()> {
        for seq in seqs {
            self.conn
                .execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?1 WHERE seq = ?2",
                    params![error, seq],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Takes a row out of the queue for good, with the sink's answer.
    pub fn mark_dead(&self, seq: i64, response: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE outbox SET dead_at = ?1, response = ?2, attempts = attempts + 1, last_error = ?2 WHERE seq = ?3",
                params![now(), response, seq],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The rows sinks refused for good, oldest first.
    pub fn dead(&self) -> Result<Vec<DeadRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT sink, key, kind, dead_at, response, attempts FROM outbox
                 WHERE dead_at IS NOT NULL ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([], |r| {
            Ok(DeadRow {
                sink: r.get(0)?,
                key: r.get(1)?,
                kind: r.get(2)?,
                dead_at: r.get(3)?,
                response: r.get(4)?,
                attempts: r.get(5)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Puts refused rows back in their queues (of `sink`, with these keys;
    /// all when not given); returns how many.
    pub fn retry_dead(&self, sink: Option<&str>, keys: &[String]) -> Result<usize> {
        let mut n = 0;
        for row in self.dead()? {
            if sink.is_some_and(|s| s != row.sink) || (!keys.is_empty() && !keys.contains(&row.key)) {
                continue;
            }
            n += self
                .conn
                .execute(
                    "UPDATE outbox SET dead_at = NULL WHERE sink = ?1 AND kind = ?2 AND key = ?3",
                    params![row.sink, row.kind, row.key],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(n)
    }

    pub fn sink_position(&self, sink: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT position FROM sink_state WHERE sink = ?1", [sink], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_stay_pending_until_marked_and_keys_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("s.db")).unwrap();
        let w = state.writer().unwrap();
        w.enqueue("file", "ticket", "inc-1#1", "{}").unwrap();
        w.enqueue("file", "ticket", "inc-1#1", "{}").unwrap();
        w.enqueue("file", "ticket", "inc-2#1", "{}").unwrap();
        w.enqueue("console", "alert", "inc-1#1", "{}").unwrap();
        w.commit().unwrap();
        let rows = state.pending("file", 10).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            ["inc-1#1", "inc-2#1"]
        );
        state.mark_dead(rows[1].seq, "422 Unprocessable Entity").unwrap();
        assert_eq!(
            state.pending("file", 10).unwrap().len(),
            1,
            "a dead row leaves the queue"
        );
        assert_eq!(state.dead().unwrap()[0].key, "inc-2#1");
        assert_eq!(state.retry_dead(Some("file"), &[]).unwrap(), 1);
        assert!(state.dead().unwrap().is_empty());
        state.record_failure(&[rows[0].seq], "disk full").unwrap();
        state.mark_delivered("file", &[rows[0].seq], Some("120")).unwrap();
        assert_eq!(state.pending_count("file").unwrap(), 1);
        assert_eq!(state.pending_count("console").unwrap(), 1);
        assert_eq!(state.sink_position("file").unwrap().as_deref(), Some("120"));
    }
}
