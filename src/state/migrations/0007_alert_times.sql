-- The alert rate limit asks for the alerts of the last hour at every new
-- alert; without this it read the whole outbox each time. The key makes
-- the index cover the query.
CREATE INDEX outbox_alert_time ON outbox (coalesce(not_before, created_at), key) WHERE kind = 'alert';
