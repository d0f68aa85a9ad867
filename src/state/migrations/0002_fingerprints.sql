-- Near-duplicate fingerprints (see src/dedup.rs) of the posts scored, so
-- that the in-memory index can be rebuilt on start and a replayed post is
-- recognised. `simhash` is the 64-bit SimHash as a signed integer;
-- `shingles` (little-endian u32s) and `anchors` (little-endian u64s) are
-- kept for incident members only; `at` is the post's time, Unix seconds.
CREATE TABLE fingerprints (
    post_id     TEXT PRIMARY KEY,
    provider    TEXT NOT NULL,
    author      TEXT NOT NULL,
    simhash     INTEGER NOT NULL,
    shingles    BLOB NOT NULL,
    anchors     BLOB NOT NULL,
    at          INTEGER NOT NULL,
    incident_id TEXT
);
CREATE INDEX fingerprints_at ON fingerprints (at);
