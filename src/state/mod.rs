//! SQLite state: one file holds source cursors, incidents, tickets and the
//! outbox, so that a post's effects and its source position commit together.
//!
//! The committer thread writes; each delivery worker has its own connection
//! for the outbox. WAL mode lets them read while it writes.

mod group;
mod outbox;
mod store;

pub use group::{FingerprintRow, IncidentRows, OutboxState, TicketRow};
pub use outbox::{DeadRow, OutboxRow};
pub use store::{AuditEntry, StoredFingerprint, Writer, status_str};

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_fingerprints.sql"),
    include_str!("migrations/0003_audit.sql"),
    include_str!("migrations/0004_dead_letters.sql"),
    include_str!("migrations/0005_not_before.sql"),
    include_str!("migrations/0006_group.sql"),
    include_str!("migrations/0007_alert_times.sql"),
    include_str!("migrations/0008_routes.sql"),
];

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state {path}: cannot create its directory: {source}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state {path}: written by a newer earshot (schema {found}, this one knows {known})")]
    TooNew { path: PathBuf, found: usize, known: usize },
    #[error("state {path}: stored {what} is not valid JSON: {source}")]
    Corrupt {
        path: PathBuf,
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T> = std::result::Result<T, StateError>;

pub struct State {
    conn: Connection,
    path: PathBuf,
}

impl State {
    /// Opens (creating it and its directory if needed) and migrates.
    pub fn open(path: &Path) -> Result<State> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StateError::Dir {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let mut state = State {
            conn: Connection::open(path).map_err(|source| StateError::Sqlite {
                path: path.to_path_buf(),
                source,
            })?,
            path: path.to_path_buf(),
        };
        state.setup()?;
        Ok(state)
    }

    fn setup(&mut self) -> Result<()> {
        let conn = &mut self.conn;
        let path = &self.path;
        let sql = |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
        // WAL + NORMAL: a commit survives a process crash; only a power loss
        // may take back the last transactions, never corrupt the file.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
        let applied: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        if applied > MIGRATIONS.len() {
            return Err(StateError::TooNew {
                path: path.clone(),
                found: applied,
                known: MIGRATIONS.len(),
            });
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sql)?;
            tx.execute_batch(migration).map_err(sql)?;
            tx.pragma_update(None, "user_version", i + 1).map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> StateError {
        StateError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, what: impl Into<String>, source: serde_json::Error) -> StateError {
        StateError::Corrupt {
            path: self.path.clone(),
            what: what.into(),
            source,
        }
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep/er/state.db");
        State::open(&path).unwrap();
        let state = State::open(&path).unwrap();
        let version: usize = state
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let state = State::open(&path).unwrap();
        state.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(state);
        assert!(matches!(State::open(&path), Err(StateError::TooNew { found: 99, .. })));
    }
}
