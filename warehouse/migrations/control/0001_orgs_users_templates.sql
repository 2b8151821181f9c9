-- Control database: tenants, their staff, credentials, templates and campaigns.
-- No recipient personal data lives here; that stays in the region cells.
CREATE TABLE IF NOT EXISTS orgs (
    org_id       uuid PRIMARY KEY,
    name         text NOT NULL,
    slug         text NOT NULL UNIQUE,
    home_region  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
    user_id        uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES orgs (org_id),
    email          text NOT NULL,
    display_name   text NOT NULL DEFAULT '',
    password_hash  text,
    role           text NOT NULL CHECK (role IN ('owner', 'admin', 'marketer', 'analyst', 'developer')),
    mfa_secret     bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz,
    UNIQUE (org_id, email)
);

CREATE TABLE IF NOT EXISTS api_keys (
    key_id        uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES orgs (org_id),
    name          text NOT NULL,
    prefix        text NOT NULL UNIQUE,
    key_hash      bytea NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'marketer', 'analyst', 'developer', 'sender')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

CREATE TABLE IF NOT EXISTS templates (
    template_id     uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES orgs (org_id),
    name            text NOT NULL,
    latest_version  integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    archived_at     timestamptz,
    UNIQUE (org_id, name)
);

-- One row per immutable template version; content and dynamic-content variants are JSONB.
CREATE TABLE IF NOT EXISTS template_versions (
    template_id  uuid NOT NULL REFERENCES templates (template_id),
    version      integer NOT NULL CHECK (version >= 1),
    subject      text NOT NULL,
    content      jsonb NOT NULL,          -- {"html": ..., "text": ..., "partials": {...}}
    variants     jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{"key": "A", "blocks": {...}}, ...]
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (template_id, version)
);

CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id       uuid PRIMARY KEY,
    org_id            uuid NOT NULL REFERENCES orgs (org_id),
    name              text NOT NULL,
    campaign_type     text NOT NULL CHECK (campaign_type IN ('marketing', 'triggered', 'transactional')),
    template_id       uuid REFERENCES templates (template_id),
    template_version  integer,
    topic             text,
    blocked_regions   text[] NOT NULL DEFAULT '{}',
    send_strategy     text NOT NULL DEFAULT 'immediate'
                      CHECK (send_strategy IN ('immediate', 'scheduled', 'optimal')),
    holdout_share     numeric(4, 3) NOT NULL DEFAULT 0 CHECK (holdout_share >= 0 AND holdout_share < 1),
    status            text NOT NULL DEFAULT 'draft'
                      CHECK (status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled')),
    scheduled_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS campaigns_org_created ON campaigns (org_id, created_at DESC);
