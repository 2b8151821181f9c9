-- Region cell: recipients and their consent. Personal data lives only in its region's cell.
-- Email address and name are stored as AES-256-GCM ciphertext under a per-contact data key
-- (wrapped by the key-encryption key); email_blind_index is an HMAC-SHA256 for equality look-ups.
CREATE TABLE IF NOT EXISTS contacts (
    contact_id          uuid PRIMARY KEY,
    org_id              uuid NOT NULL,
    email_ciphertext    bytea NOT NULL,
    email_blind_index   bytea NOT NULL,
    name_ciphertext     bytea,
    wrapped_data_key    bytea NOT NULL,
    kek_version         integer NOT NULL DEFAULT 1,
    email_domain        text NOT NULL,
    country             char(2) NOT NULL,
    region              text NOT NULL,
    time_zone           text NOT NULL,
    locale              text NOT NULL DEFAULT 'en-US',
    attributes          jsonb NOT NULL DEFAULT '{}'::jsonb,
    status              text NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained', 'erased')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    retention_until     date,
    UNIQUE (org_id, email_blind_index)
);
CREATE INDEX IF NOT EXISTS contacts_org_status ON contacts (org_id, status);
CREATE INDEX IF NOT EXISTS contacts_retention ON contacts (retention_until) WHERE retention_until IS NOT NULL;

-- Current consent per contact, channel and purpose.
CREATE TABLE IF NOT EXISTS consents (
    contact_id      uuid NOT NULL REFERENCES contacts (contact_id) ON DELETE CASCADE,
    channel         text NOT NULL DEFAULT 'email',
    purpose         text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'granted', 'withdrawn')),
    opt_in_steps    smallint NOT NULL DEFAULT 1 CHECK (opt_in_steps BETWEEN 1 AND 3),
    steps_completed smallint NOT NULL DEFAULT 0,
    policy_version  text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contact_id, channel, purpose)
);

-- Every consent change, as evidence: who, when, from where, under which policy.
CREATE TABLE IF NOT EXISTS consent_events (
    consent_event_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id        uuid NOT NULL,
    org_id            uuid NOT NULL,
    channel           text NOT NULL DEFAULT 'email',
    purpose           text NOT NULL,
    action            text NOT NULL,   -- requested, confirmed, preferences_confirmed, granted, withdrawn
    step              smallint,
    source            text NOT NULL,   -- signup_form, import, api, preference_center, unsubscribe_link
    occurred_at       timestamptz NOT NULL DEFAULT now(),
    ip                inet,
    user_agent        text,
    policy_version    text NOT NULL
);
CREATE INDEX IF NOT EXISTS consent_events_contact ON consent_events (contact_id, occurred_at);

-- Addresses that must not be mailed, by blind index so no plaintext is needed.
CREATE TABLE IF NOT EXISTS suppressions (
    org_id             uuid NOT NULL,
    email_blind_index  bytea NOT NULL,
    reason             text NOT NULL CHECK (reason IN
                       ('hard_bounce', 'complaint', 'unsubscribe', 'manual', 'spam_trap', 'erasure')),
    source             text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz,
    PRIMARY KEY (org_id, email_blind_index)
);
