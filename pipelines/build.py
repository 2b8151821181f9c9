"""Materialize every asset of every region cell in order: what `postwise demo` runs.

The incremental marts are rebuilt from all events (one full-refresh run per region);
models upstream of them run first and models downstream after; then the machine-learning
models are trained (and promoted when they beat the champion) and their scores written back,
so one pass leaves every asset of the code location materialized.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg

from .definitions import defs
from .features import dbt_daily_marts, dbt_region_models
from .learning import (
    anomaly_model,
    anomaly_scores,
    personalization_model,
    recipient_send_times,
    send_time_model,
)
from .logic import FULL_REFRESH_TAG
from .partitions import region_partitions
from .upkeep import email_events_hourly, event_partitions


@dataclass(frozen=True)
class BuildStep:
    region: str
    what: str
    success: bool
    seconds: float


def build_everything(
    instance: dg.DagsterInstance,
    day: date,
    regions: Sequence[str] | None = None,
    on_step: Callable[[BuildStep], None] | None = None,
    *,
    models: bool = True,
) -> list[BuildStep]:
    """Run every asset for each region (default: all region partitions); ``models=False``
    stops after the dbt models (no training, no scoring)."""
    resources = defs.resources or {}
    graph = defs.resolve_asset_graph()
    daily = dg.AssetSelection.assets(dbt_daily_marts)
    region_keys = set(dbt_region_models.keys)
    before_daily = (daily.upstream() - daily).resolve(graph) & region_keys
    upstream = dg.AssetSelection.assets(*before_daily)
    region_assets = [dbt_region_models, event_partitions, email_events_hourly]
    steps = []
    for region in regions or region_partitions.get_partition_keys():
        plan = [
            (
                "warehouse upkeep and staging",
                region_assets,
                region,
                dg.AssetSelection.assets(event_partitions, email_events_hourly) | upstream,
                {},
            ),
            (
                "incremental marts (full refresh)",
                [dbt_daily_marts],
                dg.MultiPartitionKey({"region": region, "day": day.isoformat()}),
                dg.AssetSelection.assets(dbt_daily_marts),
                {FULL_REFRESH_TAG: "true"},
            ),
            (
                "features and whole-table marts",
                region_assets,
                region,
                dg.AssetSelection.assets(dbt_region_models) - upstream,
                {},
            ),
        ]
        if models:
            training = [send_time_model, personalization_model, anomaly_model]
            everything = dg.AssetSelection.assets(*training)
            plan.append(("model training (MLflow)", training, region, everything, {}))
            scoring = [recipient_send_times, anomaly_scores]
            everything = dg.AssetSelection.assets(*scoring)
            plan.append(("scores from the champions", scoring, region, everything, {}))
        for what, assets, partition_key, selection, tags in plan:
            result = dg.materialize(
                assets,
                instance=instance,
                resources=resources,
                partition_key=partition_key,
                selection=selection,
                tags=tags,
                raise_on_error=False,
            )
            seconds = _run_seconds(instance, result.run_id)
            step = BuildStep(region, what, result.success, seconds)
            steps.append(step)
            if on_step:
                on_step(step)
    return steps


def _run_seconds(instance: dg.DagsterInstance, run_id: str) -> float:
    stats = instance.get_run_stats(run_id)
    if stats.start_time and stats.end_time:
        return float(stats.end_time - stats.start_time)
    return 0.0
