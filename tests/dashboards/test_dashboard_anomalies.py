"""The Anomalies page on scores and pauses seeded for an organization of its own: alerted
hours, flagged windows, senders paused now and the time from a window to its pause equal
SQL of the test's own; the region filter applies; the volume comes from the mart."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from dashboard_kit import metric, open_page, sum_over_regions, viewer_of

from dashboards.cache import current_sources
from dashboards.queries import anomalies
from dashboards.scope import Scope
from dashboards.widgets import count_text
from postwise.settings import Settings
from warehouse.db import Cells
from warehouse.model_outputs import pause_sender, resume_sender, upsert_anomaly_scores

DAY = datetime(2026, 4, 10, tzinfo=UTC)
DAYS = (date(2026, 4, 10), date(2026, 4, 11))
# region: (sending domain, scored hours from DAY, alerted hours)
PLAN = {"na": ("news.example", 48, {5, 6, 7, 20}), "eu": ("mail.example", 24, {10, 11})}

ALERTS = """
SELECT count(*) FROM anomaly_scores
WHERE org_id = %(org)s AND is_alert AND bucket_start >= %(since)s AND bucket_start < %(until)s
"""
# Gaps and islands: alerted hours one hour apart share bucket_start - n hours.
WINDOWS = """
WITH alerted AS (
    SELECT sending_domain, bucket_start, bucket_start - interval '1 hour'
           * row_number() OVER (PARTITION BY sending_domain ORDER BY bucket_start) AS island
    FROM anomaly_scores
    WHERE org_id = %(org)s AND is_alert AND bucket_start >= %(since)s AND bucket_start < %(until)s
)
SELECT sending_domain, min(bucket_start) AS start, max(bucket_start) + interval '1 hour' AS stop
FROM alerted GROUP BY sending_domain, island
"""
PAUSED_NOW = "SELECT count(*) FROM paused_senders WHERE org_id = %(org)s AND resumed_at IS NULL"
SECONDS_TO_PAUSE = f"""
WITH windows AS ({WINDOWS})
SELECT extract(epoch FROM p.paused_at - w.start)::float
FROM paused_senders AS p
JOIN LATERAL (
    SELECT start FROM windows AS w
    WHERE w.sending_domain = p.sending_domain AND CASE
        WHEN p.details ? 'first_alert' THEN (p.details ->> 'first_alert')::timestamptz >= w.start
             AND (p.details ->> 'first_alert')::timestamptz < w.stop
        ELSE w.start <= p.paused_at END
    ORDER BY w.start DESC LIMIT 1
) AS w ON true
WHERE p.org_id = %(org)s AND p.source = 'anomaly_sensor'
  AND (p.resumed_at IS NULL OR (p.paused_at < %(until)s AND p.resumed_at >= %(since)s))
"""


def hour(h: float) -> datetime:
    return DAY + timedelta(hours=h)


def pause(
    conn: Any,
    org: uuid.UUID,
    domain: str,
    source: str,
    details: dict[str, Any],
    paused_at: datetime,
    resumed_at: datetime | None = None,
) -> None:
    """A pause through the product's writer, moved to the history's times."""
    assert pause_sender(conn, org, domain, f"{source} pause", source, details)
    if resumed_at is not None:
        assert resume_sender(conn, org, domain)
    conn.execute(
        "UPDATE paused_senders SET paused_at = %s, resumed_at = %s WHERE pause_id = "
        "(SELECT max(pause_id) FROM paused_senders WHERE org_id = %s AND sending_domain = %s)",
        (paused_at, resumed_at, org, domain),
    )


@pytest.fixture(scope="module")
def seeded(cells: Cells) -> Iterator[uuid.UUID]:
    """An organization of its own with scores in na and eu, and pauses of every kind;
    removed afterwards (other tests count every score of a cell)."""
    org = uuid.uuid4()
    with cells.connection("control") as conn:
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, 'na')",
            (org, "Anomalous Mail", f"anomalous-{org.hex[:12]}"),
        )
    for region, (domain, hours, alerted) in PLAN.items():
        rows = [
            (org, domain, hour(h), 0.95 if h in alerted else 0.1, h in alerted, 0.8,
             f"anomaly_{region}", "1")
            for h in range(hours)
        ]  # fmt: skip
        rows.append((org, domain, hour(24 * 10), 0.99, True, 0.8, f"anomaly_{region}", "1"))
        with cells.connection(region) as conn:
            upsert_anomaly_scores(conn, rows)
    with cells.connection("na") as conn:
        first = {"score": 0.95, "first_alert": hour(5).isoformat(), "region": "na"}
        pause(conn, org, "news.example", "anomaly_sensor", first, hour(8.5), hour(12))
        second = {"score": 0.95, "first_alert": hour(20).isoformat(), "region": "na"}
        pause(conn, org, "news.example", "anomaly_sensor", second, hour(21.25))
    with cells.connection("eu") as conn:
        pause(conn, org, "mail.example", "operator", {}, hour(-200), hour(-190))  # long before
        # An older sensor pause without first_alert: its sender's latest earlier window.
        no_first = {"score": 0.95}
        pause(conn, org, "mail.example", "anomaly_sensor", no_first, hour(12 + 2 / 3), hour(15))
        pause(conn, org, "mail.example", "operator", {}, hour(16))
    yield org
    for region in PLAN:
        with cells.connection(region) as conn:
            conn.execute("DELETE FROM anomaly_scores WHERE org_id = %s", (org,))
            conn.execute("DELETE FROM paused_senders WHERE org_id = %s", (org,))
    with cells.connection("control") as conn:
        conn.execute("DELETE FROM orgs WHERE org_id = %s", (org,))


def expected(cells: Cells, org: uuid.UUID, regions: tuple[str, ...]) -> dict[str, str]:
    """The headline numbers from the test's own SQL, as the page formats them."""
    params = {"org": org, "since": DAY, "until": DAY + timedelta(days=2)}
    alerts = windows = paused = 0
    seconds: list[float] = []
    for region in regions:
        with cells.connection(region) as conn:
            alerts += conn.execute(ALERTS, params).fetchone()[0]  # type: ignore[index]
            windows += len(conn.execute(WINDOWS, params).fetchall())
            paused += conn.execute(PAUSED_NOW, params).fetchone()[0]  # type: ignore[index]
            seconds += [row[0] for row in conn.execute(SECONDS_TO_PAUSE, params).fetchall()]
    median = timedelta(seconds=statistics.median(seconds)) if seconds else None
    return {
        "Alerted hours": count_text(alerts),
        "Flagged windows": count_text(windows),
        "Senders paused now": count_text(paused),
        "Median time to pause": anomalies.hours_text(median),
    }


def test_headline_numbers_equal_sql_over_scores_and_pauses(
    marts_history: Any, seeded: uuid.UUID, cells: Cells, app_settings: Settings
) -> None:
    at = open_page("anomalies", viewer_of(seeded), days=DAYS)
    assert not at.exception, at.exception
    want = expected(cells, seeded, ("na", "eu", "apac"))
    # 3 + 1 + 2 alerted hours in three windows; paused 3.5 h, 1.25 h and 2.67 h after them
    assert want == {
        "Alerted hours": "6",
        "Flagged windows": "3",
        "Senders paused now": "2",
        "Median time to pause": "2.7 h",
    }
    for label, value in want.items():
        assert metric(at, label) == value, label
    assert not at.error

    tables = {tuple(d.value.columns): d.value for d in at.dataframe}
    flagged = next(t for columns, t in tables.items() if "peak_score" in columns)
    assert sorted(flagged["hours"]) == [1, 2, 3]
    paused = next(t for columns, t in tables.items() if "status" in columns)
    assert len(paused) == 4  # the pause ended long before the days is not listed
    assert sorted(paused["source_label"]) == [
        "Anomaly sensor", "Anomaly sensor", "Anomaly sensor", "Operator",
    ]  # fmt: skip
    assert sorted(paused["time_to_pause"]) == ["1.2 h", "2.7 h", "3.5 h", "–"]


def test_one_region_and_nothing_of_another_organization(
    marts_history: Any, seeded: uuid.UUID, cells: Cells, app_settings: Settings
) -> None:
    at = open_page("anomalies", viewer_of(seeded), days=DAYS, regions=["na"])
    assert not at.exception, at.exception
    want = expected(cells, seeded, ("na",))
    assert want["Alerted hours"] == "4" and want["Median time to pause"] == "2.4 h"
    for label, value in want.items():
        assert metric(at, label) == value, label

    stranger = open_page("anomalies", viewer_of(uuid.uuid4()), days=DAYS)
    assert not stranger.exception, stranger.exception
    assert metric(stranger, "Alerted hours") == "0"
    assert metric(stranger, "Senders paused now") == "0"
    assert metric(stranger, "Median time to pause") == "–"
    assert not stranger.error


def test_volume_comes_from_the_mart(
    marts_history: Any, cells: Cells, app_settings: Settings
) -> None:
    org = marts_history.result.org_id
    end = marts_history.result.end.date() - timedelta(days=1)
    start = end - timedelta(days=2)
    series = anomalies.series(current_sources(), Scope(org, cells.regions, start, end))
    (messages,) = sum_over_regions(
        cells,
        "SELECT sum(messages) FROM marts.send_volume_timeseries "
        "WHERE org_id = %(org)s AND queued_date BETWEEN %(start)s AND %(end)s",
        {"org": org, "start": start, "end": end},
    )
    assert messages > 0
    assert series["messages"].sum() == messages

    at = open_page("anomalies", viewer_of(org), days=(start, end))
    assert not at.exception, at.exception
    assert not at.error
    assert len(at.selectbox) >= 1 and at.selectbox(key="anomalies_sender").value is not None
