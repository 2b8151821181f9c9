-- Administrator security: users' second factors and break-glass grants.
-- Rows follow their user (ON DELETE CASCADE); users are normally disabled, never deleted,
-- so the rows stay with them for the audit trail.

-- A user's TOTP secret, AES-256-GCM sealed under a key derived from SECRET_KEY (never
-- plaintext); pending until the first code confirms it.
CREATE TABLE IF NOT EXISTS totp_factors (
    user_id            uuid PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
    secret_ciphertext  bytea NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    confirmed_at       timestamptz,
    last_used_at       timestamptz
);

-- WebAuthn / FIDO2 credentials (hardware keys, platform authenticators) of users.
CREATE TABLE IF NOT EXISTS webauthn_credentials (
    credential_id  bytea PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    org_id         uuid NOT NULL REFERENCES orgs (org_id),
    name           text NOT NULL DEFAULT '',
    public_key     bytea NOT NULL,            -- COSE_Key as registered
    sign_count     bigint NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz
);
CREATE INDEX IF NOT EXISTS webauthn_credentials_user ON webauthn_credentials (user_id);

-- Time-boxed elevations of a user's role, each with its mandatory reason.
CREATE TABLE IF NOT EXISTS break_glass_grants (
    grant_id    uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs (org_id),
    user_id     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'campaign_manager', 'analyst')),
    reason      text NOT NULL CHECK (length(btrim(reason)) > 0),
    granted_by  text NOT NULL,                -- "user:<id>", "key:<id>" or "operator:<name>"
    granted_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    revoked_by  text,
    CHECK (expires_at > granted_at)
);
CREATE INDEX IF NOT EXISTS break_glass_grants_live
    ON break_glass_grants (user_id, expires_at) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS break_glass_grants_org ON break_glass_grants (org_id, granted_at);
