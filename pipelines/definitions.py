"""The Dagster code location of Postwise: one module per domain, assembled here."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from . import checks, features, refresh, upkeep
from .resources import MlflowResource, WarehouseResource

defs = dg.Definitions(
    assets=[
        features.dbt_region_models,
        features.dbt_daily_marts,
        upkeep.event_partitions,
        upkeep.email_events_hourly,
    ],
    asset_checks=checks.row_count_checks,
    jobs=[features.region_models_job, features.daily_marts_job, upkeep.upkeep_job],
    schedules=[
        refresh.hourly_marts_refresh,
        refresh.hourly_features_refresh,
        refresh.daily_full_build,
        upkeep.hourly_upkeep,
    ],
    sensors=[refresh.new_events_sensor],
    resources={
        "warehouse": WarehouseResource(database_url=dg.EnvVar("DATABASE_URL")),
        "dbt": DbtCliResource(
            project_dir=features.dbt_project, dbt_executable=features.DBT_EXECUTABLE
        ),
        "mlflow": MlflowResource(tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI")),
    },
)
