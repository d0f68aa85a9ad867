-- Source positions: a source resumes from here after a restart.
CREATE TABLE cursors (
    source     TEXT PRIMARY KEY,
    position   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The latest state of each incident; `body` is the Incident as JSON.
CREATE TABLE incidents (
    id         TEXT PRIMARY KEY,
    provider   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    status     TEXT NOT NULL,
    severity   TEXT NOT NULL,
    risk       REAL NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX incidents_provider ON incidents (provider, last_seen);

-- Every ticket version ever emitted; (ticket_id, version) is the
-- idempotency key that makes replays harmless.
CREATE TABLE tickets (
    ticket_id   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    incident_id TEXT NOT NULL,
    provider    TEXT NOT NULL,
    severity    TEXT NOT NULL,
    risk        REAL NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (ticket_id, version)
);

-- What each sink still has to deliver. Written in the same transaction as
-- the incident and ticket; a row is marked delivered only once its sink
-- confirmed it.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    sink         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    delivered_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    UNIQUE (sink, kind, key)
);
CREATE INDEX outbox_pending ON outbox (sink, seq) WHERE delivered_at IS NULL;

-- A sink's own resume point (the JSON lines sink: the file length it has
-- confirmed), updated with the rows it marks delivered.
CREATE TABLE sink_state (
    sink     TEXT PRIMARY KEY,
    position TEXT NOT NULL
);
