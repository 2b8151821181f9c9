-- Contacts imports quarantined for their spam-trap hits, awaiting an owner's review. The
-- addresses stay in their region cells, held by 'quarantine' suppressions; this row is what
-- the reviewer sees (counts per list source, never an address) and what they decided.
CREATE TABLE IF NOT EXISTS import_quarantines (
    import_id       uuid PRIMARY KEY,
    org_id          uuid NOT NULL,
    imported_by     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    received        integer NOT NULL,
    held            integer NOT NULL,
    trap_hits       integer NOT NULL,
    hits_by_source  jsonb NOT NULL DEFAULT '{}'::jsonb,
    regions         text[] NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'quarantined'
                    CHECK (status IN ('quarantined', 'released', 'rejected')),
    decided_by      text,
    decided_at      timestamptz
);
CREATE INDEX IF NOT EXISTS import_quarantines_org ON import_quarantines (org_id, status, created_at);
