-- The audit chain's hashes are computed by the writer (compliance.audit.log.record) over
-- canonical JSON, so `postwise audit verify` can recompute them outside the database. The
-- database guards the chain's shape: under one advisory lock every new row must link to the
-- current head (prev_hash = the head's row_hash, a higher audit_id) and carry a SHA-256
-- row_hash, so concurrent writers cannot fork the chain and no row can be slipped in
-- without its hash. UPDATE, DELETE and TRUNCATE stay refused (0001).
CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head_id   bigint;
    head_hash bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit_log_chain'));
    SELECT audit_id, row_hash INTO head_id, head_hash
      FROM audit_log ORDER BY audit_id DESC LIMIT 1;
    IF NEW.prev_hash IS DISTINCT FROM coalesce(head_hash, '\x'::bytea) THEN
        RAISE EXCEPTION 'audit_log entry % does not link to the chain head %', NEW.audit_id, head_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF head_id IS NOT NULL AND NEW.audit_id <= head_id THEN
        RAISE EXCEPTION 'audit_log entry % is not after the chain head %', NEW.audit_id, head_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF octet_length(NEW.row_hash) IS DISTINCT FROM 32 THEN
        RAISE EXCEPTION 'audit_log entry % has no SHA-256 row_hash', NEW.audit_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (subject) WHERE subject <> '';
