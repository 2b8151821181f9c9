-- Account protection: each user's login history and known devices, from which the
-- login-risk score is computed (serving/auth/protection). Rows follow their user.

-- One row per password login that got past the password (and per completed second step):
-- what was decided and the behaviour it was decided on. No raw IP address: a keyed,
-- truncated hash is enough to tell addresses apart (see protection/service.py).
CREATE TABLE IF NOT EXISTS login_events (
    event_id     bigserial PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    org_id       uuid NOT NULL REFERENCES orgs (org_id),
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    outcome      text NOT NULL CHECK (outcome IN ('allowed', 'challenged', 'blocked', 'verified')),
    score        integer NOT NULL DEFAULT 0,
    signals      text[] NOT NULL DEFAULT '{}',
    device_hash  bytea,
    country      text CHECK (country IS NULL OR country ~ '^[A-Z]{2}$'),
    ip_ref       text
);
CREATE INDEX IF NOT EXISTS login_events_user_time ON login_events (user_id, occurred_at DESC);

-- Devices a user has logged in from (a device id the client keeps, or a fingerprint).
CREATE TABLE IF NOT EXISTS known_devices (
    user_id      uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    device_hash  bytea NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, device_hash)
);
