-- The ingest role: the provider whose partition each post it sent went
-- to, so that the post's later deletion or edit follows it there. Kept for
-- the near-duplicate window (Unix seconds of the post).
CREATE TABLE routes (
    post_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX routes_at ON routes (at);
