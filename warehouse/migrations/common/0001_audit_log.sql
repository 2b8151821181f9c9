-- Append-only, hash-chained audit log, present in every database (control and each cell).
-- Each row's hash covers the previous row's hash and the row's own content, so any
-- rewrite of history breaks the chain; UPDATE, DELETE and TRUNCATE are refused outright.
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor        text        NOT NULL,
    action       text        NOT NULL,
    subject      text        NOT NULL DEFAULT '',
    org_id       uuid,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    prev_hash    bytea       NOT NULL,
    row_hash     bytea       NOT NULL
);

CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_hash bytea;
BEGIN
    -- Serialise writers so each row links to exactly one predecessor.
    PERFORM pg_advisory_xact_lock(hashtext('audit_log_chain'));
    SELECT row_hash INTO last_hash FROM audit_log ORDER BY audit_id DESC LIMIT 1;
    NEW.prev_hash := coalesce(last_hash, '\x'::bytea);
    NEW.occurred_at := coalesce(NEW.occurred_at, now());
    NEW.row_hash := sha256(
        NEW.prev_hash
        || convert_to(
            jsonb_build_array(
                NEW.audit_id, to_char(NEW.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                NEW.actor, NEW.action, NEW.subject, NEW.org_id, NEW.details
            )::text,
            'UTF8'
        )
    );
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS audit_log_chain ON audit_log;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
