"""The dbt project built on a simulated history in every region cell.

One module-scoped history (600 contacts, 30 days, fixed end) is written into this run's
cells and ``dbt build`` runs for each region target. The marts are then checked against
independent computations on the raw tables: the machine-open rules reimplemented here in
Python, counts straight from ``email_events`` and ``messages``. The last tests rebuild one
day with ``--vars '{day: ...}'`` and check that only that day's rows are rewritten.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from postwise.dbt_env import dbt_environment
from postwise.settings import Settings
from simulator.history import HistoryOptions, HistoryResult, simulate_history
from warehouse.db import Cells
from warehouse.migrate import temporary_cells

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"
DBT = Path(sys.executable).with_name("dbt")
END = datetime(2026, 3, 2, tzinfo=UTC)
OPTIONS = HistoryOptions(contacts=600, days=30, seed=20260302, org_slug="dbt-test", end=END)
AS_OF = {"as_of": END.isoformat()}
HORIZON = timedelta(hours=72)
DAY = (END - timedelta(days=10)).date()  # the partition the incremental tests rebuild


# ---------------------------------------------------------------------------------------
# Running dbt


@dataclass(frozen=True)
class DbtRunner:
    """``dbt`` against this run's cells, with target and log paths in a private folder."""

    env: dict[str, str]
    workdir: Path

    def command(
        self, region: str, *args: str, variables: dict[str, Any] | None = None
    ) -> list[str]:
        out = self.workdir / region
        return [
            str(DBT),
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target",
            region,
            "--target-path",
            str(out / "target"),
            "--log-path",
            str(out / "logs"),
            "--vars",
            json.dumps(variables or {}),
        ]

    def run(self, region: str, *args: str, variables: dict[str, Any] | None = None) -> str:
        """Run dbt; return its output, failing the test with it if dbt failed."""
        done = subprocess.run(
            self.command(region, *args, variables=variables),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        return done.stdout


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """The run's settings with cells of this module's own: its tests compare whole marts
    with its history alone, and incremental builds must not meet other tests' newer days."""
    return settings.model_copy(update={"database_prefix": f"{settings.database_prefix}_dbt"})


@pytest.fixture(scope="module")
def cells(settings: Settings, database_server_url: str) -> Iterator[Cells]:
    with temporary_cells(settings, database_server_url) as cells:
        yield cells


@pytest.fixture(scope="module")
def history(cells: Cells, settings: Settings) -> HistoryResult:
    return simulate_history(cells, settings, OPTIONS, progress=False)


@pytest.fixture(scope="module")
def dbt(
    settings: Settings, database_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> DbtRunner:
    env = {
        **os.environ,
        **dbt_environment(settings, database_server_url),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    return DbtRunner(env=env, workdir=tmp_path_factory.mktemp("dbt"))


@pytest.fixture(scope="module")
def builds(history: HistoryResult, dbt: DbtRunner, cells: Cells) -> dict[str, str]:
    """``dbt build`` in every region cell, the cells in parallel (separate databases)."""
    procs = {
        region: subprocess.Popen(
            dbt.command(region, "build", variables=AS_OF),
            env=dbt.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for region in cells.regions
    }
    outputs = {}
    for region, proc in procs.items():
        out, _ = proc.communicate(timeout=400)
        assert proc.returncode == 0, f"dbt build --target {region} failed:\n{out[-6000:]}"
        outputs[region] = out
    return outputs


def rows(cells: Cells, region: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with cells.connection(region) as conn:
        return conn.execute(sql, params).fetchall()


# ---------------------------------------------------------------------------------------
# The machine-open rules of int_event_classification, reimplemented from their description


def _networks(key: str) -> list[ipaddress.IPv4Network]:
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    return [ipaddress.IPv4Network(c) for c in project["vars"]["machine_traffic"][key]]


APPLE, DATACENTER = _networks("apple_proxy_cidrs"), _networks("datacenter_cidrs")


def _ipv4(text: str | None) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text) if text else None
    except ValueError:
        return None


def is_machine(event: dict[str, Any], delivered_at: datetime | None, burst: int) -> bool:
    """The documented rules: ingest flag, Gmail proxy (human), MPP user agent, Apple or
    datacenter address, HEAD, under 10 s after delivery, 3+ clicks within 10 s."""
    details = event["details"]
    agent = details.get("user_agent") or ""
    ip = _ipv4(details.get("ip"))
    if event["is_bot"]:
        return True
    if "googleimageproxy" in agent.lower():
        return False
    if agent.strip() == "Mozilla/5.0":
        return True
    if ip is not None and any(ip in net for net in APPLE):
        return True
    if (details.get("method") or "").upper() == "HEAD":
        return True
    if ip is not None and any(ip in net for net in DATACENTER):
        return True
    if delivered_at is not None:
        since = event["event_time"] - delivered_at
        if timedelta(0) <= since < timedelta(days=1) and since.total_seconds() < 10:
            return True
    return event["type"] == "clicked" and burst >= 3


@dataclass
class Message:
    message_id: uuid.UUID
    org_id: uuid.UUID
    contact_id: uuid.UUID
    campaign_id: uuid.UUID | None
    queued_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    first_human_open: datetime | None = None
    first_human_click: datetime | None = None
    machine_opens: int = 0
    bounce_type: str | None = None
    bounced_at: datetime | None = None


def independent_outcomes(cells: Cells, region: str) -> dict[uuid.UUID, Message]:
    """Per message, from raw messages and email_events only."""
    messages = {
        m: Message(m, o, c, k, q)
        for m, o, c, k, q in rows(
            cells,
            region,
            "select message_id, org_id, contact_id, campaign_id, created_at from messages",
        )
    }
    events = [
        dict(zip(("event_time", "message_id", "type", "is_bot", "details"), row, strict=True))
        for row in rows(
            cells,
            region,
            "select event_time, message_id, type, is_bot, details from email_events"
            " where message_id is not null order by event_time",
        )
    ]
    for event in events:
        message = messages[event["message_id"]]
        if event["type"] == "sent" and message.sent_at is None:
            message.sent_at = event["event_time"]
        elif event["type"] == "delivered" and message.delivered_at is None:
            message.delivered_at = event["event_time"]
        elif event["type"] == "bounced" and message.bounced_at is None:
            message.bounced_at = event["event_time"]
            message.bounce_type = event["details"].get("bounce_type")
    clicks: dict[tuple[Any, Any], list[datetime]] = defaultdict(list)
    for event in events:
        if event["type"] == "clicked":
            clicks[(event["message_id"], event["details"].get("ip"))].append(event["event_time"])
    for event in events:
        if event["type"] not in ("opened", "clicked"):
            continue
        message = messages[event["message_id"]]
        at = event["event_time"]
        near = clicks[(event["message_id"], event["details"].get("ip"))]
        burst = sum(abs((t - at).total_seconds()) <= 10 for t in near)
        machine = is_machine(event, message.delivered_at, burst)
        if event["type"] == "opened":
            if machine:
                message.machine_opens += 1
            elif message.first_human_open is None:
                message.first_human_open = at
        elif not machine and message.first_human_click is None:
            message.first_human_click = at
    return messages


@pytest.fixture(scope="module")
def na_truth(builds: dict[str, str], cells: Cells) -> dict[uuid.UUID, Message]:
    return independent_outcomes(cells, "na")


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


# ---------------------------------------------------------------------------------------
# The build


def test_dbt_build_succeeds_in_every_region_cell(builds: dict[str, str]) -> None:
    assert set(builds) == {"na", "eu", "apac"}
    for region, output in builds.items():
        summary = output.strip().splitlines()[-1]
        assert "ERROR=0" in summary and "SKIP=0" in summary and "WARN=0" in summary, (
            region,
            summary,
        )
        assert "unit_test" in output  # the unit tests ran as part of the build


def test_every_mart_has_rows_in_the_cell_of_the_history(
    builds: dict[str, str], cells: Cells
) -> None:
    for mart in (
        "message_outcomes",
        "campaign_daily",
        "send_time_training",
        "recipient_engagement_features",
        "variant_exposures",
        "domain_reputation",
        "delivery_latency",
        "smtp_response_codes",
        "engagement_decay",
        "send_volume_timeseries",
    ):
        assert rows(cells, "na", f"select count(*) from marts.{mart}")[0][0] > 0, mart


# ---------------------------------------------------------------------------------------
# Marts against independent computations (na cell)


def test_message_outcomes_match_the_rules_reimplemented_in_python(
    na_truth: dict[uuid.UUID, Message], cells: Cells
) -> None:
    built = {
        row[0]: row[1:]
        for row in rows(
            cells,
            "na",
            "select message_id, delivered_at, first_human_open_at, first_human_click_at,"
            " machine_open_count, bounce_type from marts.message_outcomes",
        )
    }
    assert built.keys() == na_truth.keys()
    mismatches = [
        m
        for m, expected in na_truth.items()
        if built[m]
        != (
            expected.delivered_at,
            expected.first_human_open,
            expected.first_human_click,
            expected.machine_opens,
            expected.bounce_type,
        )
    ]
    assert mismatches == []
    # The history has machine traffic of every kind; the rules must have removed some.
    assert sum(m.machine_opens for m in na_truth.values()) > 0


def test_campaign_daily_counts_match_the_raw_tables(
    na_truth: dict[uuid.UUID, Message], cells: Cells
) -> None:
    expected: dict[tuple[Any, date], Counter[str]] = defaultdict(Counter)
    openers: dict[tuple[Any, date], set[uuid.UUID]] = defaultdict(set)
    for m in na_truth.values():
        key = (m.campaign_id, utc_day(m.queued_at))
        expected[key]["delivered"] += m.delivered_at is not None
        expected[key]["hard_bounces"] += m.bounce_type == "hard"
        expected[key]["soft_bounces"] += m.bounce_type == "soft"
        if m.first_human_open is not None:
            openers[key].add(m.contact_id)
    built = {
        (campaign, day): (delivered, opens, hard, soft)
        for campaign, day, delivered, opens, hard, soft in rows(
            cells,
            "na",
            "select campaign_id, queued_date, delivered, unique_human_opens, hard_bounces,"
            " soft_bounces from marts.campaign_daily",
        )
    }
    assert built == {
        key: (c["delivered"], len(openers[key]), c["hard_bounces"], c["soft_bounces"])
        for key, c in expected.items()
    }


def test_send_time_training_has_one_row_per_delivered_message(
    na_truth: dict[uuid.UUID, Message], cells: Cells
) -> None:
    delivered = {m for m, o in na_truth.items() if o.delivered_at and o.delivered_at <= END}
    built = {r[0] for r in rows(cells, "na", "select message_id from marts.send_time_training")}
    assert built == delivered


def test_send_time_training_opened_and_duration_follow_the_horizon(
    na_truth: dict[uuid.UUID, Message], cells: Cells
) -> None:
    for message_id, opened, duration in rows(
        cells, "na", "select message_id, opened, duration_hours from marts.send_time_training"
    ):
        m = na_truth[message_id]
        assert m.delivered_at is not None
        open_delay = m.first_human_open - m.delivered_at if m.first_human_open else None
        assert opened == (open_delay is not None and open_delay < HORIZON)
        if opened:
            expected = max(open_delay.total_seconds(), 0.0) / 3600
        else:
            expected = min(72.0, (END - m.delivered_at).total_seconds() / 3600)
        assert duration == pytest.approx(expected, abs=1e-6)


def test_prior_features_count_only_opens_before_the_send(
    na_truth: dict[uuid.UUID, Message], cells: Cells
) -> None:
    opens: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    deliveries: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for m in na_truth.values():
        if m.delivered_at is not None and m.delivered_at <= END:
            deliveries[m.contact_id].append(m.delivered_at)
            if m.first_human_open is not None and m.first_human_open <= END:
                opens[m.contact_id].append(m.first_human_open)
    checked = 0
    for contact, sent_at, delivered_at, prior_opens, prior_delivered in rows(
        cells,
        "na",
        "select contact_id, sent_at, delivered_at, prior_opens, prior_delivered"
        " from marts.send_time_training",
    ):
        # The brief's property: never more than the opens strictly before delivery ...
        assert prior_opens <= sum(t < delivered_at for t in opens[contact])
        # ... and exactly the opens and deliveries strictly before the send.
        assert prior_opens == sum(t < sent_at for t in opens[contact])
        assert prior_delivered == sum(t < sent_at for t in deliveries[contact])
        checked += prior_opens > 0
    assert checked > 0


def test_recipient_features_match_the_raw_windows(
    na_truth: dict[uuid.UUID, Message], cells: Cells
) -> None:
    window = END - timedelta(days=30)
    delivered: Counter[uuid.UUID] = Counter()
    opened: Counter[uuid.UUID] = Counter()
    for m in na_truth.values():
        if m.delivered_at is not None and window < m.delivered_at <= END:
            delivered[m.contact_id] += 1
            opened[m.contact_id] += m.first_human_open is not None and m.first_human_open <= END
    contacts = rows(cells, "na", "select contact_id from contacts")
    built = rows(
        cells,
        "na",
        "select contact_id, delivered_30d, open_rate_30d, open_hour_of_week_histogram"
        " from marts.recipient_engagement_features",
    )
    assert len(built) == len(contacts)
    for contact, delivered_30d, open_rate_30d, histogram in built:
        assert delivered_30d == delivered[contact]
        if delivered[contact]:
            assert open_rate_30d == pytest.approx(opened[contact] / delivered[contact])
        else:
            assert open_rate_30d is None
        assert len(histogram) == 168 and sum(histogram) == pytest.approx(1.0)


def test_variant_exposures_are_the_messages_with_a_variant(
    na_truth: dict[uuid.UUID, Message], cells: Cells
) -> None:
    with_variant = {
        r[0] for r in rows(cells, "na", "select message_id from messages where variant is not null")
    }
    built = dict(rows(cells, "na", "select message_id, clicked from marts.variant_exposures"))
    assert built.keys() == with_variant and with_variant
    assert all(built[m] == (na_truth[m].first_human_click is not None) for m in built)


def test_smtp_response_codes_count_every_reply(builds: dict[str, str], cells: Cells) -> None:
    raw = dict(
        rows(
            cells,
            "na",
            "select (smtp_code / 100)::text || 'xx', count(*) from email_events"
            " where smtp_code between 200 and 599 group by 1",
        )
    )
    built = dict(
        rows(
            cells,
            "na",
            "select reply_class, sum(responses)::bigint from marts.smtp_response_codes group by 1",
        )
    )
    assert built == raw


def test_delivery_latency_percentiles_match_numpy(
    na_truth: dict[uuid.UUID, Message], cells: Cells
) -> None:
    route_of = dict(rows(cells, "na", "select message_id, route from messages"))
    latencies: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for m in na_truth.values():
        if m.delivered_at is not None and m.delivered_at >= m.queued_at:
            hour = m.delivered_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            latencies[(route_of[m.message_id], hour)].append(
                (m.delivered_at - m.queued_at).total_seconds()
            )
    built = {
        (route, hour.astimezone(UTC)): (n, p50, p95, p99)
        for route, hour, n, p50, p95, p99 in rows(
            cells,
            "na",
            "select route, hour_start, delivered, p50_seconds, p95_seconds, p99_seconds"
            " from marts.delivery_latency",
        )
    }
    assert built.keys() == latencies.keys()
    for key, values in latencies.items():
        n, *percentiles = built[key]
        assert n == len(values)
        # percentile_cont interpolates linearly, as numpy's default does.
        assert percentiles == pytest.approx(list(np.percentile(values, [50, 95, 99])), rel=1e-9)


def test_send_volume_and_reputation_add_up_to_the_messages_sent(
    na_truth: dict[uuid.UUID, Message], cells: Cells
) -> None:
    sent = sum(m.sent_at is not None for m in na_truth.values())
    assert rows(cells, "na", "select sum(sends) from marts.send_volume_timeseries")[0][0] == sent
    assert rows(cells, "na", "select sum(sent) from marts.domain_reputation")[0][0] == sent
    countries = dict(rows(cells, "na", "select contact_id, country from contacts"))
    domains = dict(rows(cells, "na", "select message_id, sending_domain from messages"))
    by_hour: dict[tuple[uuid.UUID, str, datetime], set[str]] = defaultdict(set)
    for m in na_truth.values():
        hour = m.queued_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        by_hour[(m.org_id, domains[m.message_id] or "unknown", hour)].add(countries[m.contact_id])
    built = {
        (org, domain, bucket.astimezone(UTC)): n
        for org, domain, bucket, n in rows(
            cells,
            "na",
            "select org_id, sending_domain, bucket_start, destination_countries"
            " from marts.send_volume_timeseries",
        )
    }
    # One series per sender (org and sending domain) and hour.
    assert built == {key: len(found) for key, found in by_hour.items()}

    # New-country messages: to a country the sender had not mailed in the 30 days before.
    hours_by_country: dict[tuple[uuid.UUID, str, str], Counter[datetime]] = defaultdict(Counter)
    for m in na_truth.values():
        hour = m.queued_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        sender = (m.org_id, domains[m.message_id] or "unknown", countries[m.contact_id])
        hours_by_country[sender][hour] += 1
    expected: Counter[tuple[uuid.UUID, str, datetime]] = Counter()
    for (org, domain, _), hours in hours_by_country.items():
        previous = None
        for hour in sorted(hours):
            if previous is None or hour - previous > timedelta(days=30):
                expected[(org, domain, hour)] += hours[hour]
            previous = hour
    novel = {
        (org, domain, bucket.astimezone(UTC)): n
        for org, domain, bucket, n in rows(
            cells,
            "na",
            "select org_id, sending_domain, bucket_start, new_country_messages"
            " from marts.send_volume_timeseries",
        )
    }
    assert sum(novel.values()) > 0
    assert novel == {key: expected.get(key, 0) for key in built}


# ---------------------------------------------------------------------------------------
# Incremental runs (eu cell): a day's rebuild rewrites that day's rows and nothing else

PARTITIONED = {
    "intermediate.int_event_classification": "event_date",
    "marts.message_outcomes": "queued_date",
    "marts.campaign_daily": "queued_date",
    "marts.send_volume_timeseries": "queued_date",
    "marts.smtp_response_codes": "event_date",
    "marts.delivery_latency": "event_date",
}


def _row_versions(cells: Cells, table: str, column: str) -> dict[str, tuple[date, str]]:
    """Each row's physical identity (ctid) -> (partition day, transaction that wrote it)."""
    return {
        ctid: (day, xmin)
        for ctid, day, xmin in rows(
            cells, "eu", f"select ctid::text, {column}, xmin::text from {table}"
        )
    }


@pytest.fixture(scope="module")
def day_rebuild(builds: dict[str, str], dbt: DbtRunner, cells: Cells) -> dict[str, Any]:
    """Snapshot the incremental tables, add two late complaints on DAY, rebuild DAY."""
    before = {table: _row_versions(cells, table, column) for table, column in PARTITIONED.items()}
    late = datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(hours=23)
    picked = {}
    for label, queued_on in (("inside", DAY), ("outside", DAY - timedelta(days=1))):
        start = datetime.combine(queued_on, datetime.min.time(), UTC)
        picked[label] = rows(
            cells,
            "eu",
            "select message_id, contact_id, org_id, campaign_id, campaign_type from messages m"
            " where created_at >= %s and created_at < %s and status = 'delivered'"
            " and not exists (select 1 from email_events e where e.message_id = m.message_id"
            " and e.type = 'complained') order by message_id limit 1",
            start,
            start + timedelta(hours=22),
        )[0]
    with cells.connection("eu") as conn:
        for message_id, contact_id, org_id, campaign_id, campaign_type in picked.values():
            conn.execute(
                "insert into email_events (event_id, event_time, message_id, contact_id,"
                " org_id, campaign_id, campaign_type, region, type, details)"
                " values (%s, %s, %s, %s, %s, %s, %s, 'eu', 'complained', %s)",
                (
                    uuid.uuid4(),
                    late,
                    message_id,
                    contact_id,
                    org_id,
                    campaign_id,
                    campaign_type,
                    json.dumps({"channel": "inbox", "report": "arf"}),
                ),
            )
    output = dbt.run(
        "eu",
        "build",
        "--select",
        "config.materialized:incremental",
        variables={"day": DAY.isoformat()},
    )
    return {"before": before, "picked": picked, "output": output}


def test_a_day_rebuild_rewrites_only_that_days_rows(
    day_rebuild: dict[str, Any], cells: Cells
) -> None:
    state = day_rebuild
    assert "ERROR=0" in state["output"]
    for table, column in PARTITIONED.items():
        before = state["before"][table]
        after = _row_versions(cells, table, column)
        untouched_before = {k: v for k, v in before.items() if v[0] != DAY}
        untouched_after = {k: v for k, v in after.items() if v[0] != DAY}
        assert untouched_after == untouched_before, table
        day_rows = [v for v in after.values() if v[0] == DAY]
        old_writers = {xmin for day, xmin in before.values() if day == DAY}
        assert day_rows, table
        assert all(xmin not in old_writers for _, xmin in day_rows), table
        assert len(day_rows) == sum(day == DAY for day, _ in before.values()), table


def test_a_day_rebuild_picks_up_late_events_of_that_day_only(
    day_rebuild: dict[str, Any], cells: Cells
) -> None:
    state = day_rebuild
    complained = dict(
        rows(
            cells, "eu", "select message_id, complained_at is not null from marts.message_outcomes"
        )
    )
    # The message queued on DAY got its complaint; the one queued the day before keeps its
    # old row until its own partition is rebuilt.
    assert complained[state["picked"]["inside"][0]] is True
    assert complained[state["picked"]["outside"][0]] is False
