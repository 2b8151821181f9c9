"""Deliverability: what providers answered, how long delivery took, why mail bounced, how
the organization's sending domains stand, route health and paused senders.

Sources, and why:

- SMTP replies: ``marts.smtp_response_codes`` (per organization, campaign, route, UTC hour,
  reply class and enhanced code).
- Latency comes from ``marts.message_outcomes`` (queued_at to delivered_at, per message):
  ``marts.delivery_latency`` holds per-hour percentiles of everyone's mail, and
  percentiles of rows cannot be combined. Percentiles here are exact (linear
  interpolation, like ``percentile_cont``) over the scope's messages of every region.
- Bounces: ``marts.message_outcomes``. Reputation: ``marts.domain_reputation``, restricted
  to sending domains only this organization sends from in that cell (the mart has no
  org_id; a domain another organization also uses mixes their mail into its score).
- Route health: the workers' breaker reports in Redis (``warehouse.route_health``) and the
  last hour of the product table ``email_events`` (no mart is that fresh).
- Paused senders: the product table ``paused_senders``; switches: ``operator_switches``
  in the control cell (``warehouse.switches``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from warehouse.route_health import RouteState, WorkerReport, read_reports, worse
from warehouse.switches import active_switches, org_switches

from ..scope import CAMPAIGN_FILTER, Scope
from ..sources import Sources

# The delivery side's floor is delivery/throttle/limits.py: ThrottlePolicy.reputation_floor
# (below it a domain is capped); dashboards may not import delivery, and no setting holds it.
REPUTATION_FLOOR = 0.7
REPLY_CLASSES = ("non-2xx", "4xx", "5xx")
OUTCOMES = ("sent", "delivered", "deferred", "bounced", "failed")
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}

_REPLIES = f"""
SELECT coalesce(route, 'unknown') AS route,
       extract(hour FROM hour_start AT TIME ZONE 'UTC')::int AS hour,
       reply_class, coalesce(enhanced_code, '') AS enhanced_code,
       sum(responses)::bigint AS responses
FROM marts.smtp_response_codes
WHERE org_id = %(org_id)s AND hour_start >= %(since)s AND hour_start < %(until)s
  AND {CAMPAIGN_FILTER}
GROUP BY 1, 2, 3, 4
"""


def replies(sources: Sources, scope: Scope) -> pd.DataFrame:
    """route, hour (UTC hour of day), reply_class, enhanced_code, responses: the SMTP
    answers to the scope's mail, all regions added up."""
    frame = sources.region_frame(scope.regions, _REPLIES, scope.params())
    columns = ["route", "hour", "reply_class", "enhanced_code", "responses"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    return frame.groupby(columns[:-1], as_index=False)["responses"].sum()


def reply_shares(frame: pd.DataFrame, reply_class: str) -> pd.DataFrame:
    """route, hour, responses, matching, share: the share of ``reply_class`` answers
    (``non-2xx``: 4xx and 5xx) per route and hour of day."""
    wanted = ("4xx", "5xx") if reply_class == "non-2xx" else (reply_class,)
    marked = frame.assign(matching=frame["responses"].where(frame["reply_class"].isin(wanted), 0))
    out = marked.groupby(["route", "hour"], as_index=False)[["responses", "matching"]].sum()
    out["share"] = out["matching"] / out["responses"]
    return out


_LATENCIES = f"""
SELECT coalesce(route, 'unknown') AS route, delivered_at,
       extract(epoch FROM delivered_at - queued_at)::double precision AS seconds
FROM marts.message_outcomes
WHERE org_id = %(org_id)s AND delivered_at >= %(since)s AND delivered_at < %(until)s
  AND delivered_at >= queued_at AND {CAMPAIGN_FILTER}
"""


def latencies(sources: Sources, scope: Scope) -> pd.DataFrame:
    """route, delivered_at, seconds: one row per message delivered in the scope (queueing
    to the provider's acceptance; clock-skewed deliveries left out, as in the mart)."""
    frame = sources.region_frame(scope.regions, _LATENCIES, scope.params())
    if frame.empty:
        return pd.DataFrame(columns=["route", "delivered_at", "seconds"])
    return frame[["route", "delivered_at", "seconds"]]


def latency_percentiles(frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """route, period, delivered, p50, p95, p99 per route and UTC day (UTC hour for scopes
    of three days or fewer), exact over each period's messages."""
    if frame.empty:
        return pd.DataFrame(columns=["route", "period", "delivered", *QUANTILES])
    unit = "h" if scope.days <= 3 else "D"
    periods = pd.to_datetime(frame["delivered_at"], utc=True).dt.floor(unit)
    grouped = frame.assign(period=periods).groupby(["route", "period"])["seconds"]
    out = grouped.count().rename("delivered").to_frame()
    for name, q in QUANTILES.items():
        out[name] = grouped.quantile(q)
    return out.reset_index()


def latency_quantile(frame: pd.DataFrame, q: float) -> float | None:
    """The ``q`` quantile of every message's latency in ``frame`` (None without any)."""
    return None if frame.empty else float(frame["seconds"].quantile(q))


_BOUNCES = f"""
SELECT bounce_type, coalesce(bounce_reason, '(no reply text)') AS bounce_reason,
       bounce_smtp_code, count(*)::bigint AS messages
FROM marts.message_outcomes
WHERE org_id = %(org_id)s AND queued_date BETWEEN %(start)s AND %(end)s
  AND bounce_type IS NOT NULL AND {CAMPAIGN_FILTER}
GROUP BY 1, 2, 3
"""


def bounces(sources: Sources, scope: Scope) -> pd.DataFrame:
    """bounce_type, bounce_reason, bounce_smtp_code, messages: the first bounce of the
    scope's messages (queued in its days), all regions added up, most frequent first."""
    frame = sources.region_frame(scope.regions, _BOUNCES, scope.params())
    columns = ["bounce_type", "bounce_reason", "bounce_smtp_code", "messages"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    out = frame.groupby(columns[:-1], as_index=False, dropna=False)["messages"].sum()
    return out.sort_values("messages", ascending=False).reset_index(drop=True)


_REPUTATION = """
WITH own AS (
    SELECT DISTINCT coalesce(sending_domain, 'unknown') AS domain
    FROM marts.message_outcomes WHERE org_id = %(org_id)s
), others AS (
    SELECT DISTINCT coalesce(sending_domain, 'unknown') AS domain
    FROM marts.message_outcomes WHERE org_id <> %(org_id)s
)
SELECT sending_domain, mailbox_provider, day, sent, reputation_score,
       bounce_rate_7d, complaint_rate_7d, deferral_rate_7d
FROM marts.domain_reputation
WHERE day BETWEEN %(start)s AND %(end)s
  AND sending_domain IN (SELECT domain FROM own)
  AND sending_domain NOT IN (SELECT domain FROM others)
ORDER BY sending_domain, mailbox_provider, day
"""


def reputation(sources: Sources, scope: Scope) -> pd.DataFrame:
    """region, sending_domain, mailbox_provider, day, sent, reputation_score and the 7-day
    rates, for the sending domains only this organization uses (per region cell)."""
    return sources.region_frame(scope.regions, _REPUTATION, scope.params())


def below_floor(frame: pd.DataFrame, floor: float = REPUTATION_FLOOR) -> pd.DataFrame:
    """The (region, domain, provider) pairs whose latest score in ``frame`` is below
    ``floor``, with that day and score."""
    if frame.empty:
        return frame
    keys = ["region", "sending_domain", "mailbox_provider"]
    latest = frame.sort_values("day").groupby(keys, as_index=False).last()
    return latest[latest["reputation_score"] < floor].reset_index(drop=True)


_OUTCOME_MIX = f"""
SELECT coalesce(route, 'unknown') AS route, type AS outcome, count(*)::bigint AS events
FROM email_events
WHERE org_id = %(org_id)s AND event_time >= %(since)s AND event_time <= %(until)s
  AND type IN ({", ".join(f"'{o}'" for o in OUTCOMES)})
GROUP BY 1, 2
"""


@dataclass
class _Breakers:
    """One route's breakers across workers, accumulated report by report."""

    state: str = "not reported"
    workers: int = 0
    failures: int = 0
    changed_at: float | None = None

    def add(self, route: RouteState) -> None:
        self.state = route.state if not self.workers else worse(self.state, route.state)
        self.workers += 1
        self.failures = max(self.failures, route.consecutive_failures)
        self.changed_at = max(self.changed_at or 0.0, route.changed_at)


def breaker_reports(sources: Sources, now: float | None = None) -> list[WorkerReport]:
    """The delivery workers' breaker reports in force now; none without Redis (a Redis
    error is raised: the page says it cannot read them)."""
    if sources.redis is None:
        return []
    return read_reports(sources.redis, sources.prefix, now=now)


def route_health(
    sources: Sources,
    scope: Scope,
    reports: Sequence[WorkerReport],
    now: float | None = None,
) -> pd.DataFrame:
    """Per route: the worst breaker state across ``reports`` (platform-wide), how many
    workers report it, their most consecutive failures, the latest state change, and the
    organization's events of each outcome in the last hour (scope's regions; its days and
    campaign are not applied)."""
    now = time.time() if now is None else now
    routes: dict[str, _Breakers] = {}
    for report in reports:
        for seen in report.routes:
            routes.setdefault(seen.route, _Breakers()).add(seen)
    until = datetime.fromtimestamp(now, UTC)
    params = {"org_id": scope.org_id, "since": until - timedelta(hours=1), "until": until}
    mix = sources.region_frame(scope.regions, _OUTCOME_MIX, params)
    counts: dict[tuple[str, str], int] = {}
    for row in mix.itertuples(index=False):
        key = (str(row.route), str(row.outcome))
        counts[key] = counts.get(key, 0) + int(row.events)
    for route, _ in counts:
        routes.setdefault(route, _Breakers())
    table = [
        {
            "route": name,
            "state": b.state,
            "workers": b.workers,
            "failures": b.failures,
            "changed_at": datetime.fromtimestamp(b.changed_at, UTC) if b.changed_at else None,
            **{o: counts.get((name, o), 0) for o in OUTCOMES},
        }  # fmt: skip
        for name, b in sorted(routes.items())
    ]
    columns = ["route", "state", "workers", "failures", "changed_at", *OUTCOMES]
    return pd.DataFrame(table, columns=columns)


_PAUSED = """
SELECT sending_domain, reason, source, paused_at
FROM paused_senders
WHERE org_id = %(org_id)s AND resumed_at IS NULL
ORDER BY paused_at DESC
"""


def paused_senders(sources: Sources, scope: Scope) -> pd.DataFrame:
    """region, sending_domain, reason, source, paused_at: the organization's senders paused
    now in the scope's regions (days and campaign do not apply to a pause)."""
    frame = sources.region_frame(scope.regions, _PAUSED, scope.params())
    if frame.empty:
        return pd.DataFrame(columns=["region", "sending_domain", "reason", "source", "paused_at"])
    return frame.sort_values("paused_at", ascending=False).reset_index(drop=True)


def switches(sources: Sources, org_id: uuid.UUID) -> pd.DataFrame:
    """applies_to, kind, region, route, sending_domain, reason, created_at: the
    organization's switches in force and the platform-wide ones (no organization) that
    hold its mail too, newest first."""
    with sources.cells.connection("control") as conn:
        own = org_switches(conn, org_id)
        everyone = [s for s in active_switches(conn) if s.org_id is None]
    rows = [
        {
            "applies_to": label,
            "kind": s.kind,
            "region": s.region or "all",
            "route": s.route or "",
            "sending_domain": s.sending_domain or "all",
            "reason": s.reason,
            "created_at": s.created_at,
        }  # fmt: skip
        for label, found in (("your organization", own), ("every organization", everyone))
        for s in found
    ]
    columns = ["applies_to", "kind", "region", "route", "sending_domain", "reason", "created_at"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("created_at", ascending=False).reset_index(drop=True)
