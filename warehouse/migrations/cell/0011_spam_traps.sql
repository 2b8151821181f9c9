-- Region cell: spam-trap protection. Trap addresses are never stored in plaintext: they are
-- keyed by the same HMAC blind index as contacts and suppressions, so the check at enqueue
-- is an index look-up on a value ingestion computes anyway. Domain-level honeypots (typo,
-- recycled and disposable domains, role local parts) ship as data files with the code.

-- Trap addresses of this region: one row per address and source. Feeds (kind 'feed') are
-- loaded by `postwise traps sync` and apply to every organization (org_id NULL);
-- behavioural suspects (kind 'behavioural') are found in one organization's sending
-- history and apply to it alone.
CREATE TABLE IF NOT EXISTS spam_traps (
    email_blind_index  bytea NOT NULL,
    source             text NOT NULL,
    kind               text NOT NULL CHECK (kind IN
                       ('feed', 'role', 'typo', 'recycled_domain', 'disposable_domain', 'behavioural')),
    org_id             uuid,
    added_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS spam_traps_key ON spam_traps
    (email_blind_index, source, (coalesce(org_id, '00000000-0000-0000-0000-000000000000'::uuid)));
CREATE INDEX IF NOT EXISTS spam_traps_source ON spam_traps (source);

-- Trap matches per organization, day and list source (enqueue refusals, campaign skips,
-- import rows), for dashboards and for judging the sources themselves.
CREATE TABLE IF NOT EXISTS spam_trap_hits (
    day     date NOT NULL,
    org_id  uuid NOT NULL,
    source  text NOT NULL,
    kind    text NOT NULL,
    hits    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, org_id, source, kind)
);

-- A contacts import with too many trap hits holds its addresses with 'quarantine'
-- suppressions (source 'quarantine:<import id>') until an owner releases or rejects it.
ALTER TABLE suppressions DROP CONSTRAINT IF EXISTS suppressions_reason_check;
ALTER TABLE suppressions ADD CONSTRAINT suppressions_reason_check CHECK (reason IN
    ('hard_bounce', 'complaint', 'unsubscribe', 'manual', 'spam_trap', 'erasure', 'quarantine'));
CREATE INDEX IF NOT EXISTS suppressions_source ON suppressions (org_id, source);
