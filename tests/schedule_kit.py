"""Running a Dagster schedule of ``pipelines`` the way the daemon would, in process: the
schedule is evaluated at a given time and each run it asks for is executed."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dagster as dg
import pytest

from postwise.settings import get_settings


@dataclass(frozen=True)
class ScheduledRuns:
    cron_schedule: str
    metadata: dict[str, Any]  # per region (partition key): the asset's metadata value


def run_schedule(
    *,
    database_server_url: str,
    database_prefix: str,
    module: str,
    asset: str,
    job: str,
    schedule: str,
    when: datetime,
    metadata: str,
) -> ScheduledRuns:
    """Evaluate ``pipelines.<module>.<schedule>`` at ``when``, run each requested partition
    of ``job`` (materializing ``asset``) and collect the materialization's ``metadata`` value
    per partition. Pipelines read their settings from the environment, so they are imported
    with DATABASE_URL and DATABASE_PREFIX of the test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", database_server_url)
        patch.setenv("DATABASE_PREFIX", database_prefix)
        patch.setenv("MLFLOW_TRACKING_URI", "file:///tmp/unused-mlflow")
        get_settings.cache_clear()
        from pipelines.resources import WarehouseResource

        pipeline = importlib.import_module(f"pipelines.{module}")
        asset_def = getattr(pipeline, asset)
        try:
            defs = dg.Definitions(
                assets=[asset_def],
                jobs=[getattr(pipeline, job)],
                schedules=[getattr(pipeline, schedule)],
                resources={"warehouse": WarehouseResource(database_url=database_server_url)},
            )
            schedule_def = defs.resolve_schedule_def(schedule)
            requests = getattr(pipeline, schedule)(
                dg.build_schedule_context(scheduled_execution_time=when)
            )
            assert isinstance(requests, list)
            job_def = defs.resolve_job_def(schedule_def.job_name)
            node = "__".join(asset_def.key.path)
            values: dict[str, Any] = {}
            with dg.DagsterInstance.ephemeral() as instance:
                for request in requests:
                    result = job_def.execute_in_process(
                        instance=instance, partition_key=request.partition_key
                    )
                    assert result.success
                    [materialized] = result.asset_materializations_for_node(node)
                    values[str(request.partition_key)] = materialized.metadata[metadata].value
        finally:
            get_settings.cache_clear()
    return ScheduledRuns(schedule_def.cron_schedule, values)
