-- An alert held back (quiet hours, the rate limit) waits in the outbox
-- until this time; NULL: due at once.
ALTER TABLE outbox ADD COLUMN not_before TEXT;
