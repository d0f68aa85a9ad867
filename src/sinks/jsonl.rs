//! JSON lines file: one ticket (or alert) per line, appended, exactly once
//! across crashes.
//!
//! The sink stores the file's length with each confirmed batch. On start,
//! bytes past that length were written by a batch that was never confirmed
//! (the process died in between); they are cut off, and the outbox delivers
//! those rows again. The path `-` is standard output (`earshot replay`),
//! which keeps no position.

use super::{Sink, SinkError};
use crate::state::OutboxRow;
use std::io::Write;
use std::path::PathBuf;

pub struct Jsonl {
    path: PathBuf,
    file: Option<std::fs::File>,
    len: u64,
}

impl Jsonl {
    pub fn new(path: PathBuf) -> Self {
        Jsonl {
            path,
            file: None,
            len: 0,
        }
    }
}

impl Jsonl {
    fn stdout(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

impl Sink for Jsonl {
    async fn open(&mut self, position: Option<String>) -> Result<(), SinkError> {
        if self.stdout() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        let len = file.metadata()?.len();
        let confirmed = position.and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
        if len > confirmed {
            tracing::warn!(
                path = %self.path.display(),
                bytes = len - confirmed,
                "cutting off lines written after the last confirmed delivery; they will be written again"
            );
            file.set_len(confirmed)?;
        } else if len < confirmed {
            tracing::warn!(path = %self.path.display(), "file is shorter than earshot left it (rotated?); appending");
        }
        self.len = file.metadata()?.len();
        self.file = Some(file);
        Ok(())
    }

    async fn deliver(&mut self, rows: &[OutboxRow]) -> Result<Option<String>, SinkError> {
        let mut buf = Vec::with_capacity(rows.iter().map(|r| r.payload.len() + 1).sum());
        for row in rows {
            buf.extend_from_slice(row.payload.as_bytes());
            buf.push(b'\n');
        }
        if self.stdout() {
            let mut out = std::io::stdout().lock();
            out.write_all(&buf)?;
            out.flush()?;
            return Ok(None);
        }
        let file = self.file.as_mut().expect("opened before delivery");
        file.write_all(&buf)?;
        // Durable before the outbox says delivered.
        file.sync_data()?;
        self.len += buf.len() as u64;
        Ok(Some(self.len.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, payload: &str) -> OutboxRow {
        OutboxRow {
            seq,
            kind: "ticket".into(),
            key: seq.to_string(),
            payload: payload.into(),
        }
    }

    #[tokio::test]
    async fn appends_and_cuts_unconfirmed_bytes_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/t.jsonl");
        let mut sink = Jsonl::new(path.clone());
        sink.open(None).await.unwrap();
        let pos = sink.deliver(&[row(1, "{\"a\":1}"), row(2, "{\"b\":2}")]).await.unwrap();
        assert_eq!(pos.as_deref(), Some("16"));
        // A batch written but never confirmed:
        sink.deliver(&[row(3, "{\"c\":3}")]).await.unwrap();
        let mut again = Jsonl::new(path.clone());
        again.open(pos).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
        again.deliver(&[row(3, "{\"c\":3}")]).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
    }
}
