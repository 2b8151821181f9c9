"""The demo's campaign through the whole path, at a few hundred messages: a simulated
history in cells of its own, real Redis, simulated providers and the inbound listener on
loopback, the API under a real uvicorn (a child process) and the workers of every region."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import redis

from postwise.demo_campaign import (
    TERMINAL,
    CampaignOptions,
    CampaignResult,
    campaign_table,
    run_campaign,
)
from postwise.settings import Settings
from simulator.catalog import org_id_for
from simulator.history import HistoryOptions, simulate_history
from warehouse.db import Cells
from warehouse.migrate import temporary_cells

KINDS = ("delivered", "deferred", "bounced", "failed", "suppressed", "opened", "clicked",
         "complained", "unsubscribed")  # fmt: skip
HISTORY = HistoryOptions(contacts=300, days=21, seed=11, org_slug="campaign-test")


@pytest.fixture(scope="module")
def campaign_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings.model_copy(
        update={
            "database_prefix": f"{settings.database_prefix}_campaign",
            "postwise_home": tmp_path_factory.mktemp("home"),
            "tracking_scanner_window_seconds": 1.0,
        }
    )


@pytest.fixture(scope="module")
def campaign_cells(campaign_settings: Settings, database_server_url: str) -> Iterator[Cells]:
    with temporary_cells(campaign_settings, database_server_url) as cells:
        simulate_history(cells, campaign_settings, HISTORY, progress=False)
        yield cells
    client = redis.Redis.from_url(str(campaign_settings.redis_url))
    for key in client.scan_iter(match=f"{campaign_settings.database_prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def campaign(
    campaign_settings: Settings, campaign_cells: Cells, database_server_url: str
) -> CampaignResult:
    options = CampaignOptions(
        contacts=HISTORY.contacts, days=HISTORY.days, seed=HISTORY.seed,
        org_slug=HISTORY.org_slug, human_delay_seconds=1.5, deadline_seconds=90,
        after_accept_bounce_rate=0.05, extra_complaint_rate=0.05,
    )  # fmt: skip
    return run_campaign(
        campaign_settings, campaign_cells, database_server_url,
        str(campaign_settings.redis_url), options, say=lambda line: None,
    )  # fmt: skip


def _rows(cells: Cells, query: str, campaign_id: uuid.UUID) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for region in cells.regions:
        with cells.connection(region) as conn:
            rows += conn.execute(query, (campaign_id,)).fetchall()
    return rows


def test_every_message_of_the_campaign_ends_in_exactly_one_terminal_state(
    campaign: CampaignResult, campaign_cells: Cells
) -> None:
    assert 250 <= campaign.messages <= HISTORY.contacts
    statuses = _rows(
        campaign_cells, "SELECT status FROM messages WHERE campaign_id = %s", campaign.campaign_id
    )
    assert len(statuses) == campaign.messages
    assert {status for (status,) in statuses} <= set(TERMINAL)
    assert campaign.statuses["delivered"] > 0.8 * campaign.messages
    # One terminal event per message (a DSN after delivery is a report, not a state).
    finals = _rows(
        campaign_cells,
        "SELECT m.message_id, m.status, count(e.*) FROM messages m JOIN email_events e "
        "ON e.message_id = m.message_id AND e.type IN ('delivered', 'bounced', 'failed', "
        "'suppressed') AND e.details->>'source' IS NULL WHERE m.campaign_id = %s "
        "GROUP BY 1, 2",
        campaign.campaign_id,
    )
    assert len(finals) == campaign.messages
    assert all(count == 1 for _, _, count in finals)


def test_the_route_table_equals_direct_counts_in_the_warehouse(
    campaign: CampaignResult, campaign_cells: Cells
) -> None:
    expected: dict[str, Counter[str]] = {}
    for route, kind, count in _rows(
        campaign_cells,
        "SELECT coalesce(e.route, m.route, '-'), e.type, CASE WHEN e.type IN "
        "('opened', 'clicked') THEN count(DISTINCT e.message_id) ELSE count(*) END "
        "FROM email_events e "
        "JOIN messages m USING (message_id) WHERE m.campaign_id = %s AND NOT e.is_bot "
        "GROUP BY 1, 2",
        campaign.campaign_id,
    ):
        expected.setdefault(str(route), Counter())[str(kind)] += int(count)  # type: ignore[call-overload]
    got = {row.route: Counter({k: getattr(row, k) for k in KINDS}) for row in campaign.routes}
    for route, counts in expected.items():
        for kind in KINDS:
            assert got[route][kind] == counts[kind], (route, kind)
    for state in ("delivered", "failed", "suppressed"):
        assert sum(getattr(r, state) for r in campaign.routes) == campaign.statuses[state]
    assert sum(r.opened for r in campaign.routes) > 0
    assert sum(r.clicked for r in campaign.routes) > 0
    for row in campaign.routes:
        assert sum(n for _, n in row.bounce_reasons) == row.bounced
    text = campaign_table(campaign.routes)
    assert text.splitlines()[0].split()[:3] == ["route", "delivered", "deferred"]
    assert text.splitlines()[-1].startswith("total")


def test_dsns_and_complaints_reach_the_listener_and_write_events_and_suppressions(
    campaign: CampaignResult, campaign_cells: Cells
) -> None:
    assert campaign.reports.get("dsn", 0) > 0
    assert campaign.reports.get("complaint", 0) > 0
    by_source = Counter(
        (str(kind), str(source))
        for kind, source in _rows(
            campaign_cells,
            "SELECT e.type, e.details->>'source' FROM email_events e JOIN messages m "
            "USING (message_id) WHERE m.campaign_id = %s AND e.details->>'source' IS NOT NULL",
            campaign.campaign_id,
        )
    )
    assert by_source[("bounced", "dsn")] == campaign.reports["dsn"]
    assert by_source[("complained", "arf")] == campaign.reports["complaint"]
    org_id = org_id_for(HISTORY.org_slug)
    # Every complainer and every hard DSN bounce is suppressed, by the inbound report.
    missing = _rows(
        campaign_cells,
        "SELECT e.type FROM email_events e JOIN messages m USING (message_id) "
        "JOIN contacts c ON c.contact_id = m.contact_id WHERE m.campaign_id = %s "
        "AND (e.type = 'complained' OR (e.details->>'source' = 'dsn' AND "
        "(e.details->>'hard')::boolean)) AND NOT EXISTS (SELECT 1 FROM suppressions s "
        "WHERE s.org_id = c.org_id AND s.email_blind_index = c.email_blind_index "
        "AND s.reason IN ('complaint', 'hard_bounce'))",
        campaign.campaign_id,
    )
    assert missing == []
    suppressed = 0
    for region in campaign_cells.regions:
        with campaign_cells.connection(region) as conn:
            row = conn.execute(
                "SELECT count(*) FROM suppressions WHERE org_id = %s AND source = 'inbound report'",
                (org_id,),
            ).fetchone()
            suppressed += int(row[0]) if row else 0
    assert suppressed >= campaign.reports["complaint"]
