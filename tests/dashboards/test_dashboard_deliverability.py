"""The Deliverability page: headline numbers equal SQL of the test's own over the seeded
history, route health shows what workers published to Redis with the organization's own
last-hour outcomes, and paused senders and switches are the viewer's organization's (plus
platform-wide switches), never another's."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import redis
from dashboard_kit import metric, open_page, sum_over_regions, viewer_of

from dashboards.queries.deliverability import REPUTATION_FLOOR
from dashboards.widgets import count_text, rate_text
from postwise.settings import Settings
from warehouse.db import Cells
from warehouse.partitions import ensure_partitions_ahead
from warehouse.route_health import RouteState, WorkerReport, index_key, publish, worker_key

BOUNCES = """
SELECT count(*), count(*) FILTER (WHERE bounce_type = 'hard')
FROM marts.message_outcomes
WHERE org_id = %(org)s AND queued_date BETWEEN %(start)s AND %(end)s
  AND bounce_type IS NOT NULL
"""
LATENCIES = """
SELECT coalesce(array_agg(extract(epoch FROM delivered_at - queued_at)::float8), '{}')
FROM marts.message_outcomes
WHERE org_id = %(org)s AND delivered_at >= %(since)s AND delivered_at < %(until)s
  AND delivered_at >= queued_at
"""
BELOW_FLOOR = """
WITH latest AS (
    SELECT DISTINCT ON (sending_domain, mailbox_provider) sending_domain, reputation_score
    FROM marts.domain_reputation
    WHERE day BETWEEN %(start)s AND %(end)s
      AND sending_domain IN (SELECT coalesce(sending_domain, 'unknown')
                             FROM marts.message_outcomes WHERE org_id = %(org)s)
      AND sending_domain NOT IN (SELECT coalesce(sending_domain, 'unknown')
                                 FROM marts.message_outcomes WHERE org_id <> %(org)s)
    ORDER BY sending_domain, mailbox_provider, day DESC
)
SELECT count(*) FILTER (WHERE reputation_score < %(floor)s), count(*) FROM latest
"""
PAUSED = "SELECT count(*) FROM paused_senders WHERE org_id = %(org)s AND resumed_at IS NULL"


def _window(marts_history: Any) -> tuple[date, date]:
    return (
        marts_history.result.start.date() + timedelta(days=20),
        marts_history.result.end.date() - timedelta(days=2),
    )


def test_headline_numbers_equal_sql_over_the_marts(
    marts_history: Any, cells: Cells, app_settings: Settings
) -> None:
    org = marts_history.result.org_id
    start, end = _window(marts_history)
    at = open_page("deliverability", viewer_of(org), days=(start, end))
    assert not at.exception, at.exception
    params = {"org": org, "start": start, "end": end, "floor": REPUTATION_FLOOR}

    bounced, hard = sum_over_regions(cells, BOUNCES, params)
    assert bounced > 0  # the history bounces some mail
    assert metric(at, "Bounces") == count_text(bounced)
    assert metric(at, "Hard-bounce share") == rate_text(hard / bounced)

    since = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    window = {**params, "since": since, "until": since + timedelta(days=(end - start).days + 1)}
    seconds: list[float] = []
    for region in cells.regions:
        with cells.connection(region) as conn:
            row = conn.execute(LATENCIES, window).fetchone()
            assert row is not None
            seconds += row[0]
    assert len(seconds) > 100
    with cells.connection("control") as conn:
        row = conn.execute(
            "SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY s) FROM unnest(%s::float8[]) s",
            (seconds,),
        ).fetchone()
    assert row is not None
    assert metric(at, "p95 delivery latency") == f"{row[0]:,.1f} s"

    low, pairs = sum_over_regions(cells, BELOW_FLOOR, params)
    assert pairs > 0  # the history's sending domains are its own
    assert metric(at, f"Sender pairs below {REPUTATION_FLOOR}") == count_text(low)
    (paused,) = sum_over_regions(cells, PAUSED, params)
    assert metric(at, "Paused senders") == count_text(paused)
    assert not at.error

    stranger = open_page("deliverability", viewer_of(uuid.uuid4()), days=(start, end))
    assert not stranger.exception, stranger.exception
    assert metric(stranger, "Bounces") == "0"
    assert metric(stranger, "p95 delivery latency") == "–"
    assert metric(stranger, f"Sender pairs below {REPUTATION_FLOOR}") == "0"


def _frame_with(at: Any, column: str) -> Any:
    """The first dataframe shown on the page that has ``column``."""
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no table with a {column!r} column")


def test_route_health_paused_senders_and_switches_of_the_viewers_organization(
    marts_history: Any, cells: Cells, app_settings: Settings, redis_url: str
) -> None:
    org, other = uuid.uuid4(), uuid.uuid4()
    prefix = app_settings.database_prefix
    now = time.time()
    route = f"route-{org.hex[:6]}"
    client = redis.Redis.from_url(redis_url)
    workers = [f"w-{org.hex[:6]}-{i}" for i in range(3)]
    own_switch, platform_switch, others_switch = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        with cells.connection("control") as conn:
            for o in (org, other):
                conn.execute(
                    "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, 'eu')",
                    (o, "Deliverability", f"deliverability-{o.hex[:12]}"),
                )
            conn.execute(
                "INSERT INTO operator_switches (switch_id, kind, org_id, route, reason, "
                "created_by) VALUES (%s, 'pause', %s, NULL, 'own pause', 'test'), "
                "(%s, 'drain', NULL, %s, 'platform drain', 'test'), "
                "(%s, 'pause', %s, NULL, 'other pause', 'test')",
                (own_switch, org, platform_switch, f"{route}-nowhere", others_switch, other),
            )
        for region, o, domain, resumed in [
            ("eu", org, "news.own.example", None),
            ("na", org, "promo.own.example", None),
            ("na", org, "old.own.example", datetime.now(UTC)),
            ("eu", other, "news.other.example", None),
        ]:
            with cells.connection(region) as conn:
                conn.execute(
                    "INSERT INTO paused_senders (org_id, sending_domain, reason, source, "
                    "resumed_at) VALUES (%s, %s, 'bounce spike', 'anomaly_sensor', %s)",
                    (o, domain, resumed),
                )
        with cells.connection("eu") as conn:
            ensure_partitions_ahead(conn, datetime.now(UTC).date() - timedelta(days=1), 2)
            for o, kind, count in [(org, "delivered", 3), (org, "bounced", 1), (other, "sent", 9)]:
                for _ in range(count):
                    conn.execute(
                        "INSERT INTO email_events (event_id, event_time, org_id, campaign_type, "
                        "region, type, route) VALUES (%s, now() - interval '10 minutes', %s, "
                        "'marketing', 'eu', %s, %s)",
                        (uuid.uuid4(), o, kind, route),
                    )
        states = [("open", 7), ("closed", 0), ("half_open", 0)]
        for worker_id, (state, failures) in zip(workers, states, strict=True):
            report = WorkerReport(
                worker_id, "eu", now, (RouteState(route, state, failures, now - 30),)
            )
            publish(client, prefix, report)
        # A worker whose report ran out is no longer counted.
        stale = WorkerReport(
            f"{workers[0]}-gone", "eu", now - 60, (RouteState(route, "open", 1, 0),)
        )
        publish(client, prefix, stale, ttl=5)

        at = open_page("deliverability", viewer_of(org))
        assert not at.exception, at.exception
        assert metric(at, "Paused senders") == "2"
        health = _frame_with(at, "workers").set_index("route")
        assert health.loc[route, "state"] == "open"
        assert health.loc[route, "workers"] == 3
        assert health.loc[route, "failures"] == 7
        assert (health.loc[route, "delivered"], health.loc[route, "bounced"]) == (3, 1)
        assert health.loc[route, "sent"] == 0  # the other organization's sends
        paused = _frame_with(at, "source")
        assert sorted(paused["sending_domain"]) == ["news.own.example", "promo.own.example"]
        switches = _frame_with(at, "applies_to")
        assert set(switches["reason"]) >= {"own pause", "platform drain"}
        assert "other pause" not in set(switches["reason"])
        assert not at.error
    finally:
        client.delete(*(worker_key(prefix, w) for w in [*workers, f"{workers[0]}-gone"]))
        client.zrem(index_key(prefix), *workers, f"{workers[0]}-gone")
        client.close()
        with cells.connection("control") as conn:
            conn.execute(
                "DELETE FROM operator_switches WHERE switch_id = ANY(%s)",
                ([own_switch, platform_switch, others_switch],),
            )
            conn.execute("DELETE FROM orgs WHERE org_id = ANY(%s)", ([org, other],))
        for region in cells.regions:
            with cells.connection(region) as conn:
                for table in ("paused_senders", "email_events"):
                    conn.execute(f"DELETE FROM {table} WHERE org_id = ANY(%s)", ([org, other],))


REPLIES = """
SELECT count(*), count(*) FILTER (WHERE smtp_code >= 400)
FROM email_events
WHERE org_id = %(org)s AND event_time >= %(since)s AND event_time < %(until)s
  AND smtp_code BETWEEN 200 AND 599
"""


def test_reply_heatmap_counts_every_reply_of_the_organization(
    marts_history: Any, cells: Cells, app_settings: Settings
) -> None:
    from dashboards.cache import current_sources
    from dashboards.queries.deliverability import replies, reply_shares
    from dashboards.scope import Scope

    start, end = _window(marts_history)
    org = marts_history.result.org_id
    scope = Scope(org, cells.regions, start, end)
    frame = replies(current_sources(), scope)
    answered, refused = sum_over_regions(
        cells, REPLIES, {"org": org, "since": scope.since, "until": scope.until}
    )
    assert answered > 0
    assert int(frame["responses"].sum()) == answered  # the mart against the raw events
    shares = reply_shares(frame, "non-2xx")
    assert int(shares["matching"].sum()) == refused
    assert replies(current_sources(), Scope(uuid.uuid4(), cells.regions, start, end)).empty
