"""Materializing the code location on a small simulated history, through Dagster."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import dagster as dg
import pytest

from postwise.settings import Settings, get_settings
from simulator.history import HistoryOptions, simulate_history
from warehouse.db import Cells

END = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(
    cells: Cells, settings: Settings, database_server_url: str, run_prefix: str
) -> Iterator[list]:
    simulate_history(
        cells,
        settings,
        HistoryOptions(contacts=300, days=20, seed=23, org_slug="dagster-test", end=END),
        progress=False,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", database_server_url)
        patch.setenv("DATABASE_PREFIX", run_prefix)
        patch.setenv("MLFLOW_TRACKING_URI", "file:///tmp/unused-mlflow")
        get_settings.cache_clear()
        from pipelines.build import build_everything

        with dg.DagsterInstance.ephemeral() as instance:
            yield build_everything(instance, END.date(), models=False, compliance=False)
    get_settings.cache_clear()


def test_every_asset_of_every_region_materializes(built: list, cells: Cells) -> None:
    assert [(s.region, s.success) for s in built] == [
        (region, True) for region in ("na", "eu", "apac") for _ in range(3)
    ]
    for region in cells.regions:
        with cells.connection(region) as conn:
            for mart in (
                "message_outcomes",
                "recipient_engagement_features",
                "send_time_training",
                "campaign_daily",
                "send_volume_timeseries",
            ):
                count = conn.execute(f"SELECT count(*) FROM marts.{mart}").fetchone()
                assert count[0] > 0, (region, mart)
            hourly = conn.execute("SELECT count(*) FROM email_events_hourly").fetchone()
            assert hourly[0] > 0


def test_a_one_day_partition_rewrites_only_that_day(built: list, cells: Cells) -> None:
    from pipelines.definitions import defs
    from pipelines.features import dbt_daily_marts

    day = date(2026, 2, 20)
    query = (
        "SELECT queued_date, count(*), array_agg(xmin::text::bigint ORDER BY message_id) "
        "FROM marts.message_outcomes GROUP BY 1"
    )
    with cells.connection("eu") as conn:
        before = {d: (n, xs) for d, n, xs in conn.execute(query)}
    result = dg.materialize(
        [dbt_daily_marts],
        resources=defs.resources,
        partition_key=dg.MultiPartitionKey({"region": "eu", "day": day.isoformat()}),
    )
    assert result.success
    with cells.connection("eu") as conn:
        after = {d: (n, xs) for d, n, xs in conn.execute(query)}
    assert before.keys() == after.keys()
    for queued_date, (count, xmins) in after.items():
        assert count == before[queued_date][0]
        if queued_date == day:
            assert xmins != before[queued_date][1]  # rewritten
        else:
            assert xmins == before[queued_date][1], queued_date  # untouched
