"""Training and scoring assets through Dagster: MLflow runs, champions, scores in the cell,
and the sensor that pauses a sender on an anomaly alert."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from mlflow.tracking import MlflowClient

from postwise.settings import get_settings
from warehouse.db import Cells
from warehouse.model_outputs import active_pauses

REGION = "eu"


@pytest.fixture(scope="module")
def learning_env(
    marts_history: Any,  # tests/conftest.py: marts built in every cell
    database_server_url: str,
    run_prefix: str,
    mlflow_tracking_uri: tuple[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    uri, _ = mlflow_tracking_uri
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", database_server_url)
        patch.setenv("DATABASE_PREFIX", run_prefix)
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.setenv("POSTWISE_HOME", str(tmp_path_factory.mktemp("home")))
        get_settings.cache_clear()
        yield uri
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def learned(learning_env: str) -> dg.ExecuteInProcessResult:
    from pipelines import learning
    from pipelines.definitions import defs

    return dg.materialize(
        [
            learning.send_time_model,
            learning.personalization_model,
            learning.anomaly_model,
            learning.recipient_send_times,
            learning.anomaly_scores,
        ],
        resources=defs.resources,
        partition_key=REGION,
    )


def test_each_model_of_the_region_is_tracked_and_becomes_champion(
    learned: dg.ExecuteInProcessResult, learning_env: str
) -> None:
    assert learned.success
    client = MlflowClient(tracking_uri=learning_env)
    for model in ("send_time", "personalization", "anomaly"):
        champion = client.get_model_version_by_alias(f"{model}_{REGION}", "champion")
        run = client.get_run(champion.run_id)
        assert run.data.tags["postwise.region"] == REGION
        assert run.data.metrics, model


def test_scores_land_in_the_regions_cell_from_the_champion(
    learned: dg.ExecuteInProcessResult, learning_env: str, cells: Cells
) -> None:
    client = MlflowClient(tracking_uri=learning_env)
    send_time_version = client.get_model_version_by_alias(f"send_time_{REGION}", "champion")
    with cells.connection(REGION) as conn:
        contacts = conn.execute("SELECT count(*) FROM marts.recipient_engagement_features")
        (n_contacts,) = contacts.fetchone()
        rows = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE fallback), min(open_probability_24h),"
            " max(open_probability_24h), array_agg(DISTINCT model_version),"
            " array_agg(DISTINCT model_name) FROM recipient_send_times"
        ).fetchone()
        # Every hour of each sender's span is scored, hours without mail (zero counts) too.
        buckets = conn.execute(
            "SELECT sum(extract(epoch FROM max(bucket_start) - min(bucket_start)) / 3600 + 1)"
            " OVER () FROM marts.send_volume_timeseries GROUP BY org_id, sending_domain LIMIT 1"
        ).fetchone()
        scores = conn.execute(
            "SELECT count(*), min(anomaly_score), max(anomaly_score), count(DISTINCT threshold)"
            " FROM anomaly_scores"
        ).fetchone()
    count, fallback, low, high, versions, names = rows
    assert count == n_contacts > 0
    assert 0 < fallback < count  # new and quiet contacts fall back to their cohort
    assert 0.0 <= low <= high <= 1.0
    assert versions == [str(send_time_version.version)] and names == [f"send_time_{REGION}"]
    assert scores[0] == buckets[0] > 0
    assert 0.0 <= scores[1] <= scores[2] <= 1.0 and scores[3] == 1


def test_a_retrain_on_the_same_data_is_not_promoted(
    learned: dg.ExecuteInProcessResult, learning_env: str
) -> None:
    from pipelines import learning
    from pipelines.definitions import defs

    client = MlflowClient(tracking_uri=learning_env)
    before = client.get_model_version_by_alias(f"send_time_{REGION}", "champion").version
    again = dg.materialize(
        [learning.send_time_model], resources=defs.resources, partition_key=REGION
    )
    assert again.success
    (materialization,) = again.asset_materializations_for_node("models__send_time")
    metadata = materialization.metadata
    assert metadata["promoted"].value is False
    assert int(metadata["version"].value) > int(before)
    assert client.get_model_version_by_alias(f"send_time_{REGION}", "champion").version == before


def test_the_sensor_pauses_a_sender_with_a_recent_alert_once(
    learned: dg.ExecuteInProcessResult, learning_env: str, cells: Cells
) -> None:
    from pipelines import learning
    from pipelines.resources import WarehouseResource

    org_id, domain = uuid.uuid4(), "news.compromised.example"
    with cells.connection(REGION) as conn:
        conn.execute(
            "INSERT INTO anomaly_scores (org_id, sending_domain, bucket_start, anomaly_score,"
            " is_alert, threshold, model_name, model_version) VALUES"
            " (%s, %s, %s, 0.998, true, 0.97, 'anomaly_eu', '1')",
            (org_id, domain, datetime.now(UTC) - timedelta(hours=1)),
        )
    url = get_settings().database_url
    assert url is not None
    resources = {"warehouse": WarehouseResource(database_url=url)}
    with dg.build_sensor_context(resources=resources) as context:
        first = learning.anomaly_pause_sensor(context)
    with dg.build_sensor_context(resources=resources) as context:
        second = learning.anomaly_pause_sensor(context)
    assert f"{REGION}:{domain}" in str(first.skip_message)
    assert second.skip_message == "no new alerts"
    with cells.connection(REGION) as conn:
        pauses = [p for p in active_pauses(conn) if p.sending_domain == domain]
    assert len(pauses) == 1 and pauses[0].source == "anomaly_sensor"
    assert pauses[0].org_id == org_id
