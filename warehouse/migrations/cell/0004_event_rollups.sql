-- Hourly rollup of email_events, refreshed incrementally from a watermark on ingest_seq
-- (the continuous-aggregate pattern): only hours touched by events that arrived since the
-- last refresh are recomputed, so late events (bounces, opens days later) are counted.
CREATE TABLE IF NOT EXISTS email_events_hourly (
    bucket         timestamptz NOT NULL,
    org_id         uuid NOT NULL,
    campaign_id    uuid,
    campaign_type  text NOT NULL,
    route          text,
    type           text NOT NULL,
    is_bot         boolean NOT NULL,
    events         bigint NOT NULL,
    contacts       bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (bucket, org_id, campaign_id, campaign_type, route, type, is_bot)
);
CREATE INDEX IF NOT EXISTS email_events_hourly_bucket ON email_events_hourly (bucket);

CREATE TABLE IF NOT EXISTS rollup_watermarks (
    rollup        text PRIMARY KEY,
    watermark     bigint NOT NULL DEFAULT 0,
    refreshed_at  timestamptz
);
INSERT INTO rollup_watermarks (rollup) VALUES ('email_events_hourly') ON CONFLICT DO NOTHING;

-- Writers hold this lock in shared mode while inserting events; the refresh takes it
-- exclusively for an instant, so every ingest_seq at or below the watermark it reads has
-- committed (sequence values are handed out in order but may commit out of order).
CREATE OR REPLACE FUNCTION event_ingest_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT 7420117001::bigint $$;

-- Returns the number of hourly buckets recomputed.
CREATE OR REPLACE FUNCTION refresh_email_events_hourly() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    old_mark bigint;
    new_mark bigint;
    buckets integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('refresh_email_events_hourly'));
    SELECT watermark INTO old_mark FROM rollup_watermarks
        WHERE rollup = 'email_events_hourly' FOR UPDATE;
    PERFORM pg_advisory_lock(event_ingest_lock_key());
    SELECT coalesce(max(ingest_seq), old_mark) INTO new_mark
        FROM email_events WHERE ingest_seq > old_mark;
    PERFORM pg_advisory_unlock(event_ingest_lock_key());
    IF new_mark = old_mark THEN
        RETURN 0;
    END IF;

    CREATE TEMP TABLE IF NOT EXISTS pg_temp.dirty_buckets (bucket timestamptz PRIMARY KEY);
    TRUNCATE pg_temp.dirty_buckets;
    INSERT INTO pg_temp.dirty_buckets
        SELECT DISTINCT date_trunc('hour', event_time, 'UTC') FROM email_events
        WHERE ingest_seq > old_mark AND ingest_seq <= new_mark;
    GET DIAGNOSTICS buckets = ROW_COUNT;

    DELETE FROM email_events_hourly h USING pg_temp.dirty_buckets d WHERE h.bucket = d.bucket;
    INSERT INTO email_events_hourly
        (bucket, org_id, campaign_id, campaign_type, route, type, is_bot, events, contacts)
    SELECT d.bucket, e.org_id, e.campaign_id, e.campaign_type, e.route, e.type, e.is_bot,
           count(*), count(DISTINCT e.contact_id)
    FROM pg_temp.dirty_buckets d
    JOIN email_events e
      ON e.event_time >= d.bucket AND e.event_time < d.bucket + interval '1 hour'
    GROUP BY 1, 2, 3, 4, 5, 6, 7;

    UPDATE rollup_watermarks SET watermark = new_mark, refreshed_at = now()
        WHERE rollup = 'email_events_hourly';
    RETURN buckets;
END $$;
