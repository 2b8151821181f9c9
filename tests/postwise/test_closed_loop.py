"""The loop is closed: one campaign's outcomes change the features and the send-time
scores that the next campaign is planned with.

In cells of its own: a simulated history ending at today's midnight; features built and
the send-time model trained and scored through Dagster; a campaign made and sent over the
API (a real uvicorn), delivered to the simulated providers, opened and clicked on the
tracking endpoints; then the incremental refresh of today and a rescore with the same
champion; and the next campaign's send, which must schedule with the new scores.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pytest
import redis

from postwise.demo_campaign import CampaignOptions, CampaignResult, run_campaign
from postwise.settings import Settings, get_settings
from serving.campaigns.send import Content, send_campaign
from serving.campaigns.store import Campaign
from simulator.catalog import org_id_for
from simulator.history import HistoryOptions, simulate_history
from warehouse.db import Cells
from warehouse.migrate import temporary_cells

REGION = "eu"
HISTORY = HistoryOptions(contacts=900, days=30, seed=5, org_slug="loop-test")
FEATURES = (
    "SELECT contact_id, delivered_90d, open_rate_90d, opens_in_histogram "
    "FROM marts.recipient_engagement_features WHERE org_id = %s"
)
SCORES = "SELECT contact_id, best_hour_utc, open_probability_24h FROM recipient_send_times"


@dataclass
class Loop:
    cells: Cells
    settings: Settings
    campaign: CampaignResult
    features_before: dict[uuid.UUID, tuple[Any, ...]]
    features_after: dict[uuid.UUID, tuple[Any, ...]]
    scores_before: dict[uuid.UUID, tuple[Any, ...]]
    scores_after: dict[uuid.UUID, tuple[Any, ...]]


def _read(cells: Cells, query: str, params: tuple[Any, ...] = ()) -> dict[uuid.UUID, tuple]:
    with cells.connection(REGION) as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(query, params).fetchall()}


def _materialize(steps: list[Any], instance: dg.DagsterInstance) -> None:
    from pipelines.build import run_plan

    done = run_plan(instance, steps)
    assert all(step.success for step in done), [(s.what, s.success) for s in done]


@pytest.fixture(scope="module")
def loop(
    settings: Settings,
    database_server_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Loop]:
    import dagster as dg

    from pipelines.build import Planned, feature_plan, learning_plan
    from pipelines.learning import recipient_send_times

    mlflow_uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    own = settings.model_copy(
        update={
            "database_prefix": f"{settings.database_prefix}_loop",
            "postwise_home": tmp_path_factory.mktemp("home"),
            "mlflow_tracking_uri": mlflow_uri,
            "tracking_scanner_window_seconds": 1.0,
        }
    )
    org_id = org_id_for(HISTORY.org_slug)
    today = datetime.now(UTC).date()
    with (
        temporary_cells(own, database_server_url) as cells,
        pytest.MonkeyPatch.context() as patch,
    ):
        simulate_history(cells, own, HISTORY, progress=False)
        patch.setenv("DATABASE_URL", database_server_url)
        patch.setenv("DATABASE_PREFIX", own.database_prefix)
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
        patch.setenv("POSTWISE_HOME", str(own.postwise_home))
        get_settings.cache_clear()
        with dg.DagsterInstance.ephemeral() as instance:
            _materialize(feature_plan(REGION, today) + learning_plan(REGION), instance)
            features_before = _read(cells, FEATURES, (org_id,))
            scores_before = _read(cells, SCORES)
            options = CampaignOptions(
                contacts=HISTORY.contacts, days=HISTORY.days, seed=HISTORY.seed,
                org_slug=HISTORY.org_slug, human_delay_seconds=1.0, deadline_seconds=180,
                through_api=True, holdout_share=0.2,
            )  # fmt: skip
            campaign = run_campaign(
                own, cells, database_server_url, str(own.redis_url), options, say=lambda _: None
            )
            rescore = Planned(
                REGION, "send-time scores", [recipient_send_times], REGION,
                dg.AssetSelection.assets(recipient_send_times), {},
            )  # fmt: skip
            _materialize([*feature_plan(REGION, today, full_refresh=False), rescore], instance)
            yield Loop(
                cells, own, campaign, features_before, _read(cells, FEATURES, (org_id,)),
                scores_before, _read(cells, SCORES),
            )  # fmt: skip
    get_settings.cache_clear()
    client = redis.Redis.from_url(str(own.redis_url))
    for key in client.scan_iter(match=f"{own.database_prefix}:*"):
        client.delete(key)
    client.close()


def _recipients(loop: Loop) -> set[uuid.UUID]:
    """The campaign's recipients in the region whose mail was delivered."""
    with loop.cells.connection(REGION) as conn:
        rows = conn.execute(
            "SELECT contact_id FROM messages WHERE campaign_id = %s AND status = 'delivered'",
            (loop.campaign.campaign_id,),
        ).fetchall()
    return {row[0] for row in rows}


def test_the_campaign_s_outcomes_change_its_recipients_features(loop: Loop) -> None:
    recipients = _recipients(loop)
    assert len(recipients) > 100
    for contact in recipients:
        before, after = loop.features_before.get(contact), loop.features_after[contact]
        delivered_before = before[0] if before else 0
        assert after[0] == delivered_before + 1, contact  # the delivery counts
    opened = {c for c in recipients if loop.features_after[c][2] > (
        loop.features_before[c][2] if c in loop.features_before else 0)}  # fmt: skip
    assert len(opened) > 10  # opens on the tracking endpoints reached the histogram
    untouched = set(loop.features_before) - recipients - {row[0] for row in _all_messages(loop)}
    for contact in untouched:
        assert loop.features_after[contact] == loop.features_before[contact]


def _all_messages(loop: Loop) -> list[tuple[Any, ...]]:
    with loop.cells.connection(REGION) as conn:
        return conn.execute(
            "SELECT contact_id FROM messages WHERE campaign_id = %s",
            (loop.campaign.campaign_id,),
        ).fetchall()


def test_the_rescore_moves_send_times_and_the_next_campaign_plans_with_them(loop: Loop) -> None:
    recipients = _recipients(loop)
    changed = {
        c
        for c in recipients
        if c in loop.scores_before and loop.scores_after[c] != loop.scores_before[c]
    }
    assert len(changed) > 0.2 * len(recipients)
    moved_hours = {
        c for c in changed if loop.scores_after[c][0].hour != loop.scores_before[c][0].hour
    }
    assert moved_hours  # new opens moved some recipients' best hour
    now = datetime.now(UTC)
    following = Campaign(
        uuid.uuid4(), org_id_for(HISTORY.org_slug), "Next", "marketing", None, 1, None, [],
        "optimal", 0.0, "sending", None, "news.loop-test.example", {}, now, now, None,
    )  # fmt: skip
    report = send_campaign(loop.cells, following, Content(1), now)
    assert report.optimal_times > 0
    with loop.cells.connection(REGION) as conn:
        planned = dict(
            conn.execute(
                "SELECT contact_id, scheduled_at FROM messages WHERE campaign_id = %s",
                (following.campaign_id,),
            ).fetchall()
        )
    for contact in moved_hours & set(planned):
        hour = loop.scores_after[contact][0].hour
        assert planned[contact].astimezone(UTC).hour == hour, contact
