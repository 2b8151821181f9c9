-- Region cell: what each contact chose in the preference center, and the opt-in tokens
-- already spent. Channel permissions are the contact's rows in consents (per channel and
-- purpose); the data-expiration date is contacts.retention_until.

-- Topics the contact opted out of (a campaign's topic) and caps on marketing volume.
CREATE TABLE IF NOT EXISTS contact_preferences (
    contact_id       uuid PRIMARY KEY REFERENCES contacts (contact_id) ON DELETE CASCADE,
    org_id           uuid NOT NULL,
    topic_opt_outs   text[] NOT NULL DEFAULT '{}',
    max_per_day      smallint CHECK (max_per_day BETWEEN 1 AND 100),
    max_per_week     smallint CHECK (max_per_week BETWEEN 1 AND 500),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Opt-in confirmation tokens that were used: a token works once (its id is its nonce).
CREATE TABLE IF NOT EXISTS opt_in_token_uses (
    token_id    uuid PRIMARY KEY,
    contact_id  uuid NOT NULL REFERENCES contacts (contact_id) ON DELETE CASCADE,
    step        smallint NOT NULL CHECK (step BETWEEN 2 AND 3),
    used_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS opt_in_token_uses_contact ON opt_in_token_uses (contact_id);
