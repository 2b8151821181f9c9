"""The Dagster code location loads, and its shape is kept in a reviewed snapshot."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


@pytest.fixture(scope="module")
def defs(monkeypatch_module: pytest.MonkeyPatch) -> dg.Definitions:
    monkeypatch_module.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unused")
    monkeypatch_module.setenv("MLFLOW_TRACKING_URI", "file:///tmp/unused")
    from pipelines.definitions import defs

    return defs


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def describe(defs: dg.Definitions) -> dict[str, list[str]]:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    return {
        "assets": sorted(
            key.to_user_string()
            for key in graph.get_all_asset_keys()
            if graph.get(key).is_materializable
        ),
        "asset_checks": sorted(key.to_user_string() for key in graph.asset_check_keys),
        "jobs": sorted(job.name for job in repo.get_all_jobs() if not job.name.startswith("__")),
        "schedules": sorted(s.name for s in repo.schedule_defs),
        "sensors": sorted(s.name for s in repo.sensor_defs),
    }


def test_the_definitions_load_and_match_the_snapshot(defs: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(defs)
    shape = describe(defs)
    if os.environ.get("POSTWISE_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(shape, indent=2) + "\n")
    assert shape == json.loads(SNAPSHOT.read_text()), (
        "the code location changed; review it and rerun with POSTWISE_UPDATE_SNAPSHOTS=1"
    )


def test_every_mart_other_packages_read_is_an_asset_with_checks(defs: dg.Definitions) -> None:
    shape = describe(defs)
    for mart in (
        "message_outcomes",
        "recipient_engagement_features",
        "send_time_training",
        "variant_exposures",
        "campaign_daily",
        "domain_reputation",
        "delivery_latency",
        "smtp_response_codes",
        "engagement_decay",
        "send_volume_timeseries",
    ):
        assert f"marts/{mart}" in shape["assets"]
        assert any(check.startswith(f"marts/{mart}:") for check in shape["asset_checks"])


def test_incremental_marts_are_partitioned_by_region_and_day(defs: dg.Definitions) -> None:
    graph = defs.get_repository_def().asset_graph
    outcomes = graph.get(dg.AssetKey(["marts", "message_outcomes"])).partitions_def
    features = graph.get(dg.AssetKey(["marts", "recipient_engagement_features"])).partitions_def
    assert isinstance(outcomes, dg.MultiPartitionsDefinition)
    assert {d.name for d in outcomes.partitions_defs} == {"region", "day"}
    assert isinstance(features, dg.StaticPartitionsDefinition)
    assert features.get_partition_keys() == ["na", "eu", "apac"]
