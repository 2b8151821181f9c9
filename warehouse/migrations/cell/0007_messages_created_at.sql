-- When messages entered the queue: the dbt marts partitioned by queued day (message_outcomes,
-- send_volume_timeseries) read one day of the queue by created_at on every daily refresh.
CREATE INDEX IF NOT EXISTS messages_created_at ON messages (created_at);
