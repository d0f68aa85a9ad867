-- Every change to an incident, oldest first: opened, a post joined, a
-- ticket version emitted, acknowledged, resolved, reopened; by earshot or
-- by the person named with --by.
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    at          TEXT NOT NULL,
    action      TEXT NOT NULL,
    by          TEXT NOT NULL,
    comment     TEXT,
    version     INTEGER NOT NULL,
    severity    TEXT NOT NULL,
    status      TEXT NOT NULL
);
CREATE INDEX audit_incident ON audit (incident_id, seq);
