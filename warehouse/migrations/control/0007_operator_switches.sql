-- Manual override switches of delivery: an operator or an organization's owner pauses
-- sending, forces a route or drains one. One row per switch; clearing a switch stamps
-- cleared_at (rows are never deleted, so the history reads back for dashboards and audits).
-- A NULL scope column means "every": org_id NULL is platform-wide (only the operator CLI
-- makes such switches), region NULL every region, sending_domain NULL every sender of the
-- scope. route names the route a pause holds, a force_route sends through, a drain empties.
CREATE TABLE IF NOT EXISTS operator_switches (
    switch_id       uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('pause', 'force_route', 'drain')),
    org_id          uuid,  -- no foreign key: the history outlives a removed organization
    region          text,
    route           text,
    sending_domain  text,
    reason          text NOT NULL CHECK (length(btrim(reason)) > 0),
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    cleared_at      timestamptz,
    cleared_by      text,
    CHECK (kind = 'pause' OR route IS NOT NULL),
    CHECK (sending_domain IS NULL OR org_id IS NOT NULL)
);

-- What every worker loads on each change: the switches in force.
CREATE INDEX IF NOT EXISTS operator_switches_active ON operator_switches (created_at)
    WHERE cleared_at IS NULL;
-- An organization's switches, newest first (the API's list), and the history by time.
CREATE INDEX IF NOT EXISTS operator_switches_org ON operator_switches (org_id, created_at DESC);
CREATE INDEX IF NOT EXISTS operator_switches_cleared ON operator_switches (cleared_at)
    WHERE cleared_at IS NOT NULL;
