-- The delivery queue, list-partitioned by campaign_type (one partition per type).
-- Status machine: queued -> sending -> sent | deferred -> (sending ...) ; terminal states:
-- delivered, bounced, failed, suppressed, cancelled. Workers claim rows with
-- FOR UPDATE SKIP LOCKED and a lease (lease_owner, lease_expires_at) that expires.
CREATE TABLE IF NOT EXISTS messages (
    message_id        uuid NOT NULL,
    org_id            uuid NOT NULL,
    campaign_id       uuid,
    campaign_type     text NOT NULL CHECK (campaign_type IN ('marketing', 'triggered', 'transactional')),
    contact_id        uuid NOT NULL,
    template_id       uuid,
    template_version  integer,
    variant           text,
    variant_probability real,
    variables         jsonb NOT NULL DEFAULT '{}'::jsonb,
    status            text NOT NULL DEFAULT 'queued' CHECK (status IN
                      ('queued', 'sending', 'deferred', 'sent', 'delivered', 'bounced', 'failed',
                       'suppressed', 'cancelled')),
    priority          smallint NOT NULL DEFAULT 0,
    scheduled_at      timestamptz NOT NULL DEFAULT now(),
    attempts          smallint NOT NULL DEFAULT 0,
    max_attempts      smallint NOT NULL DEFAULT 8,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    lease_owner       text,
    lease_expires_at  timestamptz,
    route             text,
    idempotency_key   text,
    smtp_code         smallint,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz,
    PRIMARY KEY (message_id, campaign_type)
) PARTITION BY LIST (campaign_type);

CREATE TABLE IF NOT EXISTS messages_marketing PARTITION OF messages FOR VALUES IN ('marketing');
CREATE TABLE IF NOT EXISTS messages_triggered PARTITION OF messages FOR VALUES IN ('triggered');
CREATE TABLE IF NOT EXISTS messages_transactional PARTITION OF messages FOR VALUES IN ('transactional');

-- Due work, the index the workers' claim query walks.
CREATE INDEX IF NOT EXISTS messages_due ON messages (next_attempt_at)
    WHERE status IN ('queued', 'deferred');
CREATE INDEX IF NOT EXISTS messages_lease ON messages (lease_expires_at) WHERE status = 'sending';
CREATE INDEX IF NOT EXISTS messages_contact ON messages (contact_id, created_at);
CREATE INDEX IF NOT EXISTS messages_campaign ON messages (campaign_id);

-- Idempotency keys are unique per organization across every partition, which a unique
-- index on the partitioned table cannot express (it would have to include campaign_type).
CREATE TABLE IF NOT EXISTS message_idempotency_keys (
    org_id           uuid NOT NULL,
    idempotency_key  text NOT NULL,
    message_id       uuid NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, idempotency_key)
);
