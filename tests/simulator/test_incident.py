"""The demo's injected incident: what it writes, and which sender each run takes over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postwise.demo_steps import NoIncidentSender, incident_target
from postwise.settings import Settings
from simulator.history import HistoryOptions, HistoryResult, simulate_history
from simulator.incident import EXECUTABLE, INCIDENT_MEMORY, inject_takeover, ordinary_senders
from warehouse.db import Cells

END = datetime(2026, 5, 1, tzinfo=UTC)
OPTIONS = HistoryOptions(contacts=300, days=14, seed=5, org_slug="incident-test", end=END)


@pytest.fixture(scope="module")
def history(cells: Cells, settings: Settings) -> HistoryResult:
    return simulate_history(cells, settings, OPTIONS, progress=False)


def _ordinary_mail(cells: Cells, history: HistoryResult) -> dict[str, int]:
    counts = {}
    for region in cells.regions:
        with cells.connection(region) as conn:
            row = conn.execute(
                "SELECT count(*) FROM messages WHERE org_id = %s AND campaign_type <> 'marketing'",
                (history.org_id,),
            ).fetchone()
        counts[region] = int(row[0]) if row else 0
    return counts


def test_each_run_takes_over_a_sender_without_a_recent_takeover(
    cells: Cells, history: HistoryResult
) -> None:
    before = _ordinary_mail(cells, history)
    regions = sorted((r for r in before if before[r]), key=lambda r: -before[r])
    assert len(regions) >= 2
    hour = END - timedelta(hours=6)
    taken: list[str] = []
    for run in range(len(regions)):
        target = incident_target(cells, history.org_id, hour + timedelta(hours=run))
        assert target.last_takeover is None
        assert target.sending_domain == "mail.incident-test.example"
        assert target.messages == before[target.region]
        with cells.connection(target.region) as conn:
            incident = inject_takeover(
                conn, target.region, history.org_id, target.sending_domain,
                hour + timedelta(hours=run), messages=120, seed=run,
            )  # fmt: skip
        assert incident.messages == 120
        assert 0 < incident.bounced < 120 and 0 < incident.with_attachments < 120
        taken.append(target.region)
    # The busiest sender first, then each other region's, never one taken over twice.
    assert taken == regions

    # Every sender now had a takeover: the oldest one goes again, and says so.
    later = hour + timedelta(hours=len(regions))
    again = incident_target(cells, history.org_id, later)
    assert again.region == regions[0]
    assert again.last_takeover is not None and hour <= again.last_takeover < later
    # Injected mail is not the sender's own: its count is unchanged.
    assert again.messages == before[regions[0]]
    # Past the model's memory the senders are clean again.
    fresh = incident_target(cells, history.org_id, hour + INCIDENT_MEMORY + timedelta(hours=4))
    assert fresh.last_takeover is None and fresh.region == regions[0]


def test_a_takeover_is_known_by_its_executables(cells: Cells, history: HistoryResult) -> None:
    since = END - timedelta(days=OPTIONS.days + 1)
    for region in cells.regions:
        with cells.connection(region) as conn:
            for sender in ordinary_senders(conn, region, history.org_id, since):
                injected = conn.execute(
                    "SELECT max(created_at) FROM messages WHERE org_id = %s "
                    "AND sending_domain = %s AND campaign_id IN (SELECT campaign_id "
                    "FROM messages WHERE %s = ANY(attachment_types))",
                    (history.org_id, sender.sending_domain, EXECUTABLE),
                ).fetchone()
                assert injected is not None
                assert sender.last_takeover == injected[0]


def test_no_sender_is_taken_over_twice_in_one_hour(cells: Cells, history: HistoryResult) -> None:
    hour = END - timedelta(hours=2)
    for region in cells.regions:
        with cells.connection(region) as conn:
            if ordinary_senders(conn, region, history.org_id, hour):
                inject_takeover(
                    conn, region, history.org_id, "mail.incident-test.example", hour,
                    messages=20, seed=99,
                )  # fmt: skip
    with pytest.raises(NoIncidentSender, match="already taken over in the hour from"):
        incident_target(cells, history.org_id, hour)
