-- Rows a sink refused for good (a CRM's 4xx): kept, with the answer, out of
-- the delivery queue until `earshot outbox retry` puts them back.
ALTER TABLE outbox ADD COLUMN dead_at TEXT;
ALTER TABLE outbox ADD COLUMN response TEXT;
