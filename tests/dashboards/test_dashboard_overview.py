"""The Overview page on the seeded history: headline numbers equal SQL over the marts,
the previous period is compared, other organizations' mail is never counted, and the live
counters come from Redis."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import redis
from dashboard_kit import metric, open_page, sum_over_regions, viewer_of

from dashboards.widgets import count_text, rate_text
from postwise.settings import Settings
from warehouse.db import Cells
from warehouse.live import live_key

TOTALS = """
SELECT sum(sent), sum(delivered), sum(unique_human_opens), sum(unique_human_clicks),
       sum(complaints), sum(unsubscribes)
FROM marts.campaign_daily
WHERE org_id = %(org)s AND queued_date BETWEEN %(start)s AND %(end)s
"""


def test_headline_numbers_equal_sql_over_the_marts(
    marts_history: Any, cells: Cells, app_settings: Settings
) -> None:
    org = marts_history.result.org_id
    start = marts_history.result.start.date() + timedelta(days=25)
    end = marts_history.result.end.date() - timedelta(days=3)
    at = open_page("overview", viewer_of(org), days=(start, end))
    assert not at.exception, at.exception

    sent, delivered, opens, clicks, complaints, unsubscribes = sum_over_regions(
        cells, TOTALS, {"org": org, "start": start, "end": end}
    )
    assert sent > 1000  # the history mails every day
    assert metric(at, "Sends") == count_text(sent)
    assert metric(at, "Delivery rate") == rate_text(delivered / sent)
    assert metric(at, "Human open rate") == rate_text(opens / delivered)
    assert metric(at, "Human click rate") == rate_text(clicks / delivered)
    assert metric(at, "Complaints") == count_text(complaints)
    assert metric(at, "Unsubscribes") == count_text(unsubscribes)

    before_start = start - (end - start + timedelta(days=1))
    before = sum_over_regions(
        cells, TOTALS, {"org": org, "start": before_start, "end": start - timedelta(days=1)}
    )
    sends = next(m for m in at.metric if m.label == "Sends")
    assert sends.delta == f"{(sent - before[0]) / before[0]:+.1%}"


def test_one_region_and_nothing_of_another_organization(
    marts_history: Any, cells: Cells, app_settings: Settings
) -> None:
    org = marts_history.result.org_id
    start, end = marts_history.result.start.date(), marts_history.result.end.date()
    at = open_page("overview", viewer_of(org), days=(start, end), regions=["eu"])
    assert not at.exception, at.exception
    with cells.connection("eu") as conn:
        row = conn.execute(TOTALS, {"org": org, "start": start, "end": end}).fetchone()
    assert row is not None and row[0] > 0
    assert metric(at, "Sends") == count_text(row[0])

    stranger = open_page("overview", viewer_of(uuid.uuid4()), days=(start, end))
    assert not stranger.exception, stranger.exception
    assert metric(stranger, "Sends") == count_text(0)
    assert metric(stranger, "Delivery rate") == "–"


def test_live_counters_show_the_last_hour_from_redis(
    marts_history: Any, app_settings: Settings, redis_url: str
) -> None:
    org = uuid.uuid4()
    client = redis.Redis.from_url(redis_url)
    minute = int(time.time() // 60)
    keys = {
        live_key(app_settings.database_prefix, "sent", org, minute): 40,
        live_key(app_settings.database_prefix, "sent", org, minute - 5): 2,
        live_key(app_settings.database_prefix, "opened", org, minute - 1): 7,
        live_key(app_settings.database_prefix, "clicked", org, minute - 90): 99,  # too old
    }
    try:
        client.mset(keys)
        at = open_page("overview", viewer_of(org))
        assert not at.exception, at.exception
        assert metric(at, "Accepted, last hour") == "42"
        assert metric(at, "Human opens, last hour") == "7"
        assert metric(at, "Human clicks, last hour") == "0"
    finally:
        client.delete(*keys)
        client.close()
