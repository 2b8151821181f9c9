-- Campaign sends: the sending domain a campaign goes out from, its segment (the filter
-- language of serving/campaigns/segments.py, as JSONB) and when it was last sent.
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS sending_domain text;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS segment jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS sent_at timestamptz;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS templates_org_created ON templates (org_id, created_at DESC);

-- Customers' webhook endpoints: where an organization's events are posted, signed with
-- the endpoint's secret (HMAC-SHA256 over timestamp and body).
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    endpoint_id  uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES orgs (org_id),
    url          text NOT NULL,
    secret       text NOT NULL,
    event_types  text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_org ON webhook_endpoints (org_id);

-- One row per event to deliver to one endpoint: its state, retried with exponential backoff.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id       uuid PRIMARY KEY,
    endpoint_id       uuid NOT NULL REFERENCES webhook_endpoints (endpoint_id) ON DELETE CASCADE,
    org_id            uuid NOT NULL,
    event_id          uuid NOT NULL,
    event_type        text NOT NULL,
    payload           jsonb NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          smallint NOT NULL DEFAULT 0,
    max_attempts      smallint NOT NULL DEFAULT 8,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_status_code  smallint,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    delivered_at      timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_org ON webhook_deliveries (org_id, created_at DESC);

-- The delivery log: every attempt, with what the endpoint answered.
CREATE TABLE IF NOT EXISTS webhook_attempts (
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (delivery_id) ON DELETE CASCADE,
    attempt       smallint NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    status_code   smallint,
    error         text,
    duration_ms   integer NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
