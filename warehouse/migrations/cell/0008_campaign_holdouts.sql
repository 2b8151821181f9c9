-- Contacts a campaign send kept out on purpose (its holdout group), so the uplift of the
-- campaign can be measured later against comparable contacts that received nothing.
CREATE TABLE IF NOT EXISTS campaign_holdouts (
    campaign_id    uuid NOT NULL,
    contact_id     uuid NOT NULL,
    org_id         uuid NOT NULL,
    holdout_share  numeric(4, 3) NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, contact_id)
);
CREATE INDEX IF NOT EXISTS campaign_holdouts_org ON campaign_holdouts (org_id, recorded_at);
