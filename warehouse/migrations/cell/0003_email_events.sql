-- Time-partitioned event store (the TimescaleDB pattern on plain PostgreSQL):
-- daily range partitions on event_time, created ahead by ensure_event_partitions(),
-- dropped by drop_event_partitions_before(); BRIN on time, b-trees on the keys queried.
-- event_id is chosen by the producer, so re-sending a batch inserts nothing new.
CREATE SEQUENCE IF NOT EXISTS email_events_ingest_seq;

CREATE TABLE IF NOT EXISTS email_events (
    event_id       uuid NOT NULL,
    event_time     timestamptz NOT NULL,
    message_id     uuid,
    contact_id     uuid,
    org_id         uuid NOT NULL,
    campaign_id    uuid,
    campaign_type  text NOT NULL,
    region         text NOT NULL,
    type           text NOT NULL CHECK (type IN
                   ('queued', 'sent', 'delivered', 'deferred', 'bounced', 'failed', 'suppressed',
                    'opened', 'clicked', 'complained', 'unsubscribed')),
    smtp_code      smallint,
    enhanced_code  text,
    route          text,
    is_bot         boolean NOT NULL DEFAULT false,
    details        jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Arrival order, the watermark the incremental rollups advance along.
    ingest_seq     bigint NOT NULL DEFAULT nextval('email_events_ingest_seq'),
    PRIMARY KEY (event_id, event_time)
) PARTITION BY RANGE (event_time);

CREATE INDEX IF NOT EXISTS email_events_time_brin ON email_events USING brin (event_time);
CREATE INDEX IF NOT EXISTS email_events_seq_brin ON email_events USING brin (ingest_seq);
CREATE INDEX IF NOT EXISTS email_events_message ON email_events (message_id);
CREATE INDEX IF NOT EXISTS email_events_contact_time ON email_events (contact_id, event_time);

CREATE OR REPLACE FUNCTION event_partition_name(p_day date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'email_events_p' || to_char(p_day, 'YYYYMMDD') $$;

-- Create the daily partitions covering [p_from, p_to] (inclusive); returns how many were new.
CREATE OR REPLACE FUNCTION ensure_event_partitions(p_from date, p_to date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    day date;
    created integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('email_events_partitions'));
    FOR day IN SELECT generate_series(p_from, p_to, interval '1 day')::date LOOP
        IF to_regclass(event_partition_name(day)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF email_events FOR VALUES FROM (%L) TO (%L)',
                event_partition_name(day),
                (day::timestamp AT TIME ZONE 'UTC'),
                ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

-- Detach and drop every daily partition that ends on or before p_cutoff; returns their names.
CREATE OR REPLACE FUNCTION drop_event_partitions_before(p_cutoff date) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    part record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('email_events_partitions'));
    FOR part IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'email_events'::regclass
          AND c.relname ~ '^email_events_p[0-9]{8}$'
          AND to_date(substr(c.relname, 15), 'YYYYMMDD') + 1 <= p_cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE email_events DETACH PARTITION %I', part.relname);
        EXECUTE format('DROP TABLE %I', part.relname);
        RETURN NEXT part.relname;
    END LOOP;
END $$;

SELECT ensure_event_partitions(current_date - 1, current_date + 14);
