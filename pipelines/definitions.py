"""The Dagster code location of Postwise: one module per domain, assembled here."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from . import (
    audit,
    checks,
    controls,
    fallback,
    features,
    learning,
    refresh,
    retention,
    traps,
    upkeep,
)
from .resources import MlflowResource, WarehouseResource

defs = dg.Definitions(
    assets=[
        learning.send_time_model,
        learning.personalization_model,
        learning.anomaly_model,
        learning.recipient_send_times,
        learning.anomaly_scores,
        features.dbt_region_models,
        features.dbt_daily_marts,
        upkeep.event_partitions,
        upkeep.email_events_hourly,
        retention.expired_contacts_anonymized,
        audit.audit_checkpoints,
        controls.controls_report_asset,
        fallback.fallback_documents_purged,
        traps.behavioural_trap_suspects,
    ],
    asset_checks=checks.row_count_checks,
    jobs=[
        features.region_models_job,
        features.daily_marts_job,
        upkeep.upkeep_job,
        learning.training_job,
        learning.scoring_job,
        retention.retention_job,
        audit.audit_job,
        controls.controls_job,
        fallback.fallback_purge_job,
        traps.behavioural_traps_job,
    ],
    schedules=[
        refresh.hourly_marts_refresh,
        refresh.hourly_features_refresh,
        refresh.daily_full_build,
        upkeep.hourly_upkeep,
        learning.weekly_training,
        learning.daily_scoring,
        retention.daily_contact_retention,
        audit.hourly_audit_checkpoints,
        controls.weekly_controls_report,
        fallback.hourly_fallback_purge,
        traps.daily_behavioural_traps,
    ],
    sensors=[refresh.new_events_sensor, learning.anomaly_pause_sensor],
    resources={
        "warehouse": WarehouseResource(database_url=dg.EnvVar("DATABASE_URL")),
        "dbt": DbtCliResource(
            project_dir=features.dbt_project, dbt_executable=features.DBT_EXECUTABLE
        ),
        "mlflow": MlflowResource(tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI")),
    },
)
