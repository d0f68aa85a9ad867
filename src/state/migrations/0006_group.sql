-- What a consumer-group member reads to write one incident's rows to the
-- changelog, and to drop a provider's rows when it gives up a partition.
CREATE INDEX fingerprints_incident ON fingerprints (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX fingerprints_provider ON fingerprints (provider);
CREATE INDEX tickets_incident ON tickets (incident_id);
CREATE INDEX outbox_key ON outbox (key);
