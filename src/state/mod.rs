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
        // Switching to WAL takes the file alone, and SQLite answers "busy"
        // at once rather than wait when another connection is setting up
        // the same new file: waited for here.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                r => break r.map_err(sql)?,
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
        // Each step reads the version inside its own write lock: another
        // process (`earshot incidents` beside `run`) may be migrating the
        // same new file at the same moment.
        loop {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sql)?;
            let applied: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql)?;
            if applied > MIGRATIONS.len() {
                return Err(StateError::TooNew {
                    path: path.clone(),
                    found: applied,
                    known: MIGRATIONS.len(),
                });
            }
            let Some(migration) = MIGRATIONS.get(applied) else {
                return Ok(());
            };
            tx.execute_batch(migration).map_err(sql)?;
            tx.pragma_update(None, "user_version", applied + 1).map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
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
    fn processes_opening_a_new_file_together_migrate_it_once() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.db");
            let openers: Vec<_> = (0..4)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || State::open(&path).map(drop))
                })
                .collect();
            for opener in openers {
                opener.join().unwrap().unwrap();
            }
        }
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
