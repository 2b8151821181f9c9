-- What the models write back for delivery and serving to read.

-- Best send time per contact from the region's send-time champion.
CREATE TABLE IF NOT EXISTS recipient_send_times (
    contact_id             uuid PRIMARY KEY,
    org_id                 uuid NOT NULL,
    best_hour_utc          timestamptz NOT NULL,   -- the best slot of the scored day
    best_local_hour        smallint NOT NULL CHECK (best_local_hour BETWEEN 0 AND 23),
    open_probability_24h   double precision NOT NULL CHECK (open_probability_24h BETWEEN 0 AND 1),
    model_name             text NOT NULL,
    model_version          text NOT NULL,
    fallback               boolean NOT NULL,       -- cohort curve: too little history
    scored_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS recipient_send_times_org ON recipient_send_times (org_id);

-- Streaming anomaly scores per sender (org + sending domain) and time bucket.
CREATE TABLE IF NOT EXISTS anomaly_scores (
    org_id          uuid NOT NULL,
    sending_domain  text NOT NULL,
    bucket_start    timestamptz NOT NULL,
    anomaly_score   double precision NOT NULL CHECK (anomaly_score BETWEEN 0 AND 1),
    is_alert        boolean NOT NULL,
    threshold       double precision NOT NULL,
    model_name      text NOT NULL,
    model_version   text NOT NULL,
    scored_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, sending_domain, bucket_start)
);

-- Senders delivery must not send for: flagged by the anomaly sensor or paused by an
-- operator. A pause ends when resumed_at is set; history is kept.
CREATE TABLE IF NOT EXISTS paused_senders (
    pause_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          uuid NOT NULL,
    sending_domain  text NOT NULL,
    reason          text NOT NULL,
    source          text NOT NULL CHECK (source IN ('anomaly_sensor', 'operator', 'threshold')),
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    paused_at       timestamptz NOT NULL DEFAULT now(),
    resumed_at      timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS paused_senders_active
    ON paused_senders (org_id, sending_domain) WHERE resumed_at IS NULL;
