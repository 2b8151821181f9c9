"""The Engagement page: human opens, the best hour and the leading variant equal SQL over the
marts; an optimal campaign sent through the real campaign send, with its holdout sent at once,
shows the uplift and interval of its own counts; nothing of another organization is shown;
and the interval arithmetic matches a published example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dashboard_kit import metric, open_page, sum_over_regions, viewer_of
from psycopg.types.json import Jsonb

from dashboards.queries.engagement import newcombe_interval, wilson_interval
from dashboards.widgets import count_text, points_text, rate_text
from postwise.dbt_env import dbt_environment
from postwise.settings import Settings
from serving.campaigns import store
from serving.campaigns.send import Content, send_campaign
from warehouse.db import Cells
from warehouse.events import EmailEvent, EventWriter, event_id_for

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt"
DAY = date(2026, 2, 16)  # before the marts history: rebuilding it touches no other test's rows
CONTACTS = 80


def test_the_interval_arithmetic_matches_newcombe_s_worked_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II: 56/70 - 48/80, method 10.
    low, high = newcombe_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    # Wilson's interval of 81/263 (Newcombe 1998, Statistics in Medicine 17:857, table I).
    assert tuple(round(v, 4) for v in wilson_interval(81, 263)) == (0.2553, 0.3662)
    assert wilson_interval(0, 0) == (0.0, 1.0)


OPENS = """
SELECT count(*) FROM marts.message_outcomes
WHERE org_id = %(org)s AND queued_date BETWEEN %(start)s AND %(end)s
  AND first_human_open_at IS NOT NULL
"""
HOURS = """
SELECT extract(hour FROM first_human_open_at AT TIME ZONE 'UTC')::int, count(*)
FROM marts.message_outcomes
WHERE org_id = %(org)s AND queued_date BETWEEN %(start)s AND %(end)s
  AND first_human_open_at IS NOT NULL
GROUP BY 1
"""
VARIANTS = """
SELECT variant, count(*), count(*) FILTER (WHERE clicked),
       sum(1 / variant_probability), sum(1 / variant_probability) FILTER (WHERE clicked)
FROM marts.variant_exposures
WHERE org_id = %(org)s AND delivered AND exposed_at >= %(since)s AND exposed_at < %(until)s
GROUP BY variant
"""


def _added(cells: Cells, query: str, params: dict[str, Any]) -> dict[Any, list[float]]:
    """Rows keyed by their first column, the rest added up over every region cell."""
    out: dict[Any, list[float]] = {}
    for region in cells.regions:
        with cells.connection(region) as conn:
            for key, *values in conn.execute(query, params).fetchall():
                old = out.get(key, [0.0] * len(values))
                out[key] = [a + float(b or 0) for a, b in zip(old, values, strict=True)]
    return out


def test_headline_numbers_equal_sql_over_the_marts(
    marts_history: Any, cells: Cells, app_settings: Settings
) -> None:
    org = marts_history.result.org_id
    start = marts_history.result.start.date() + timedelta(days=20)
    end = marts_history.result.end.date() - timedelta(days=5)
    at = open_page("engagement", viewer_of(org), days=(start, end))
    assert not at.exception, at.exception
    params = {"org": org, "start": start, "end": end}

    (opens,) = sum_over_regions(cells, OPENS, params)
    assert opens > 100
    assert metric(at, "Human opens") == count_text(opens)
    hours = _added(cells, HOURS, params)
    top = max(v[0] for v in hours.values())
    assert (
        metric(at, "Best hour (UTC)") == f"{min(h for h, v in hours.items() if v[0] == top):02d}:00"
    )

    since = datetime.combine(start, datetime.min.time(), UTC)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
    variants = _added(cells, VARIANTS, {**params, "since": since, "until": until})
    assert len(variants) >= 2  # the history's templates carry variants
    # values: exposures, clicks, sum of 1/p, sum of 1/p over the clicks
    ips = {v: row[3] / row[2] for v, row in variants.items()}
    leader = min(variants, key=lambda v: (-ips[v], v))
    assert metric(at, "Leading variant") == leader
    assert metric(at, "Leading variant click rate") == rate_text(
        variants[leader][1] / variants[leader][0]
    )
    table = at.dataframe[-1].value  # the variants table comes after the uplift's
    assert list(table["variant"])[0] == leader
    assert int(table["exposures"].sum()) == sum(int(v[0]) for v in variants.values())
    # No holdout in the history: the uplift says so instead of failing.
    assert any("send-time holdout" in info.value for info in at.info)


def test_decay_curves_are_the_viewer_s_organization_only(
    marts_history: Any, cells: Cells, app_settings: Settings
) -> None:
    org = marts_history.result.org_id
    with cells.connection("na") as conn:
        orgs = {r[0] for r in conn.execute("SELECT DISTINCT org_id FROM marts.engagement_decay")}
    assert org in orgs
    start, end = marts_history.result.start.date(), marts_history.result.end.date()
    stranger = open_page("engagement", viewer_of(uuid.uuid4()), days=(start, end))
    assert not stranger.exception, stranger.exception
    assert metric(stranger, "Human opens") == "0"
    assert metric(stranger, "Leading variant") == "–"
    shown = " ".join(info.value for info in stranger.info)
    assert "No decay curves" in shown and "No content variants" in shown


# ---------------------------------------------------------------------------------------
# A send-time holdout, through the real campaign send


def _seed_optimal_campaign(
    cells: Cells,
) -> tuple[uuid.UUID, uuid.UUID, str, dict[str, list[int]]]:
    """An organization of its own with an optimal campaign (holdout share 0.5) sent to
    CONTACTS contacts in na; its messages delivered on DAY, the holdout at 10:00, the
    optimized arm at 15:00; opens within 24 h: 3 in 5 optimized, 2 in 5 held out, and one
    in 5 held out opening only after 30 h."""
    org, name = uuid.uuid4(), f"Send-time test {uuid.uuid4().hex[:6]}"
    with cells.connection("control") as conn:
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, 'na')",
            (org, "Engagement holdout", f"engagement-{org.hex[:12]}"),
        )
        values = {
            "name": name, "campaign_type": "marketing", "send_strategy": "optimal",
            "holdout_share": 0.5, "sending_domain": "news.example.org", "segment": {},
        }  # fmt: skip
        campaign = store.create(conn, org, values)
    slot = datetime(2026, 2, 1, 15, tzinfo=UTC)
    with cells.connection("na") as conn:
        for _ in range(CONTACTS):
            contact = uuid.uuid4()
            conn.execute(
                "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index,"
                " wrapped_data_key, email_domain, country, region, time_zone, attributes, status)"
                " VALUES (%s, %s, 'x', %s, 'k', 'example.org', 'US', 'na', 'UTC', %s, 'active')",
                (contact, org, uuid.uuid4().bytes, Jsonb({})),
            )
            conn.execute(
                "INSERT INTO consents (contact_id, purpose, status, policy_version) "
                "VALUES (%s, 'marketing', 'granted', 'v1')",
                (contact,),
            )
            conn.execute(
                "INSERT INTO recipient_send_times (contact_id, org_id, best_hour_utc, "
                "best_local_hour, open_probability_24h, model_name, model_version, fallback) "
                "VALUES (%s, %s, %s, 15, 0.3, 'send_time', '1', false)",
                (contact, org, slot),
            )
    report = send_campaign(cells, campaign, Content(1), datetime.now(UTC))
    assert report.queued == CONTACTS and 0 < report.held_out < CONTACTS
    expected = _deliver(cells, org, campaign.campaign_id)
    return org, campaign.campaign_id, name, expected


def _deliver(cells: Cells, org: uuid.UUID, campaign_id: uuid.UUID) -> dict[str, list[int]]:
    """Events of the campaign's messages; per arm: delivered, opened within 24 h, later."""
    expected = {"optimized": [0, 0, 0], "sent_unoptimized": [0, 0, 0]}
    queued_at = datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(hours=9)
    with cells.connection("na") as conn:
        rows = conn.execute(
            "SELECT m.message_id, m.contact_id, h.arm FROM messages m LEFT JOIN campaign_holdouts h"
            " ON h.campaign_id = m.campaign_id AND h.contact_id = m.contact_id"
            " WHERE m.campaign_id = %s ORDER BY m.contact_id",
            (campaign_id,),
        ).fetchall()
        conn.execute(
            "UPDATE messages SET created_at = %s, status = 'delivered', sent_at = %s "
            "WHERE campaign_id = %s",
            (queued_at, queued_at, campaign_id),
        )
        events: list[EmailEvent] = []
        for i, (message_id, contact_id, arm) in enumerate(rows):
            held = arm == "sent_unoptimized"
            delivered = queued_at + timedelta(hours=1 if held else 6)
            opened = None
            if i % 5 < (2 if held else 3):
                opened = delivered + timedelta(hours=2)
            elif held and i % 5 == 2:
                opened = delivered + timedelta(hours=30)  # outside the horizon
            counts = expected[arm or "optimized"]
            counts[0] += 1
            counts[1] += opened is not None and opened - delivered < timedelta(hours=24)
            counts[2] += opened is not None and opened - delivered >= timedelta(hours=24)
            steps = [("queued", queued_at), ("sent", delivered), ("delivered", delivered)]
            steps += [("opened", opened)] if opened else []
            events += [
                EmailEvent(event_id_for(message_id, kind), when, message_id, contact_id, org,
                           campaign_id, "marketing", "na", kind)
                for kind, when in steps
            ]  # fmt: skip
        EventWriter().write(conn, events)
    return expected


def _build_outcomes(settings: Settings, server_url: str, workdir: Path) -> None:
    """The seeded days in the na cell: the opens classified on each event day, then
    message_outcomes of DAY (the staging models are views)."""
    env = {**os.environ, **dbt_environment(settings, server_url), "DO_NOT_TRACK": "1"}
    for model, day in [
        ("int_event_classification", DAY),
        ("int_event_classification", DAY + timedelta(days=1)),
        ("message_outcomes", DAY),
    ]:
        command = [
            str(Path(sys.executable).with_name("dbt")), "run", "--select", model,
            "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--target", "na", "--target-path", str(workdir / "target"),
            "--log-path", str(workdir / "logs"), "--vars", json.dumps({"day": day.isoformat()}),
        ]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-4000:]


ARMS = """
SELECT coalesce(h.arm, 'optimized'), count(*),
       count(*) FILTER (WHERE o.first_human_open_at < o.delivered_at + interval '24 hours')
FROM marts.message_outcomes o
LEFT JOIN campaign_holdouts h ON h.campaign_id = o.campaign_id AND h.contact_id = o.contact_id
WHERE o.campaign_id = %s AND o.delivered_at IS NOT NULL GROUP BY 1
"""


def test_the_uplift_of_a_send_time_holdout_and_its_interval(
    marts_history: Any,
    cells: Cells,
    settings: Settings,
    database_server_url: str,
    app_settings: Settings,
    tmp_path: Path,
) -> None:
    org, campaign_id, name, expected = _seed_optimal_campaign(cells)
    _build_outcomes(settings, database_server_url, tmp_path)
    with cells.connection("na") as conn:
        arms = {r[0]: (r[1], r[2]) for r in conn.execute(ARMS, (campaign_id,))}
    assert arms == {arm: (n, opened) for arm, (n, opened, _) in expected.items()}
    (n_opt, o_opt), (n_hold, o_hold) = arms["optimized"], arms["sent_unoptimized"]
    assert n_opt + n_hold == CONTACTS and n_hold > 0 and o_opt > o_hold > 0
    uplift = o_opt / n_opt - o_hold / n_hold
    low, high = newcombe_interval(o_opt, n_opt, o_hold, n_hold)

    at = open_page("engagement", viewer_of(org), days=(DAY, DAY), campaign=campaign_id)
    assert not at.exception, at.exception
    assert metric(at, f"Open-rate uplift: {name}") == points_text(uplift)
    row = at.dataframe[0].value.iloc[0]
    assert (row["name"], row["delivered_optimized"], row["delivered_holdout"]) == (
        name, n_opt, n_hold,
    )  # fmt: skip
    assert (row["opened_optimized"], row["opened_holdout"]) == (o_opt, o_hold)
    assert row["uplift"] == pytest.approx(uplift)
    assert (row["low"], row["high"]) == (pytest.approx(low), pytest.approx(high))
    assert low < uplift < high
    late = _late_opens(cells, campaign_id)
    assert late == expected["sent_unoptimized"][2] > 0  # opens, but not within the horizon
    assert metric(at, "Human opens") == count_text(o_opt + o_hold + late)

    elsewhere = open_page("engagement", viewer_of(org), days=(DAY, DAY), regions=["eu"])
    assert not elsewhere.exception, elsewhere.exception
    assert not [m for m in elsewhere.metric if m.label.startswith("Open-rate uplift")]


def _late_opens(cells: Cells, campaign_id: uuid.UUID) -> int:
    with cells.connection("na") as conn:
        row = conn.execute(
            "SELECT count(*) FROM marts.message_outcomes WHERE campaign_id = %s "
            "AND first_human_open_at >= delivered_at + interval '24 hours'",
            (campaign_id,),
        ).fetchone()
    assert row is not None
    return int(row[0])
