"""Materialize every asset of every region cell in order: what `postwise demo` runs.

:func:`build_everything` is one pass over the whole code location. The incremental marts
are rebuilt from all events (one full-refresh run per region) unless ``full_refresh`` is
off, which makes it the hourly incremental refresh; models upstream of them run first and
models downstream after (:func:`feature_plan`); then the machine-learning models are
trained (and promoted when they beat the champion) and their scores written back
(:func:`learning_plan`); last, the compliance assets (:func:`compliance_plan`): retention
in every cell, the audit chains verified and checkpointed, and the controls report.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import dagster as dg

from .audit import audit_checkpoints
from .controls import controls_report_asset
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
from .retention import expired_contacts_anonymized
from .upkeep import email_events_hourly, event_partitions


@dataclass(frozen=True)
class BuildStep:
    region: str
    what: str
    success: bool
    seconds: float


@dataclass(frozen=True)
class Planned:
    """One materialization: what it is called, its assets, partition, selection, tags."""

    region: str
    what: str
    assets: Sequence[Any]
    partition_key: str | dg.MultiPartitionKey | None
    selection: dg.AssetSelection
    tags: dict[str, str]


def feature_plan(region: str, day: date, *, full_refresh: bool = True) -> list[Planned]:
    """Staging and upkeep, the incremental marts for ``day`` (every day when
    ``full_refresh``), then the features and the whole-table marts."""
    graph = defs.resolve_asset_graph()
    daily = dg.AssetSelection.assets(dbt_daily_marts)
    region_keys = set(dbt_region_models.keys)
    before_daily = (daily.upstream() - daily).resolve(graph) & region_keys
    upstream = dg.AssetSelection.assets(*before_daily)
    region_assets = [dbt_region_models, event_partitions, email_events_hourly]
    marts = "incremental marts (full refresh)" if full_refresh else f"incremental marts {day}"
    return [
        Planned(
            region, "warehouse upkeep and staging", region_assets, region,
            dg.AssetSelection.assets(event_partitions, email_events_hourly) | upstream, {},
        ),
        Planned(
            region, marts, [dbt_daily_marts],
            dg.MultiPartitionKey({"region": region, "day": day.isoformat()}),
            dg.AssetSelection.assets(dbt_daily_marts),
            {FULL_REFRESH_TAG: "true"} if full_refresh else {},
        ),
        Planned(
            region, "features and whole-table marts", region_assets, region,
            dg.AssetSelection.assets(dbt_region_models) - upstream, {},
        ),
    ]  # fmt: skip


def learning_plan(region: str) -> list[Planned]:
    """Train every model (a challenger is promoted only when it beats the champion), then
    write the champions' scores back to the cell."""
    training = [send_time_model, personalization_model, anomaly_model]
    scoring = [recipient_send_times, anomaly_scores]
    return [
        Planned(
            region, "model training (MLflow)", training, region,
            dg.AssetSelection.assets(*training), {},
        ),
        Planned(
            region, "scores from the champions", scoring, region,
            dg.AssetSelection.assets(*scoring), {},
        ),
    ]  # fmt: skip


def compliance_plan(regions: Sequence[str]) -> list[Planned]:
    """Retention in every cell, then the audit checkpoints and the controls report."""
    retention = [
        Planned(
            region, "retention", [expired_contacts_anonymized], region,
            dg.AssetSelection.assets(expired_contacts_anonymized), {},
        )
        for region in regions
    ]  # fmt: skip
    once = [audit_checkpoints, controls_report_asset]
    return [
        *retention,
        Planned(
            "all", "audit checkpoints and controls report", once, None,
            dg.AssetSelection.assets(*once), {},
        ),
    ]  # fmt: skip


def build_everything(
    instance: dg.DagsterInstance,
    day: date,
    regions: Sequence[str] | None = None,
    on_step: Callable[[BuildStep], None] | None = None,
    *,
    models: bool = True,
    full_refresh: bool = True,
    compliance: bool = True,
) -> list[BuildStep]:
    """Run every asset for each region (default: all region partitions); ``models=False``
    stops after the dbt models (no training, no scoring); ``compliance=False`` leaves out
    the compliance assets."""
    regions = list(regions or region_partitions.get_partition_keys())
    plan: list[Planned] = []
    for region in regions:
        plan += feature_plan(region, day, full_refresh=full_refresh)
        if models:
            plan += learning_plan(region)
    if compliance:
        plan += compliance_plan(regions)
    return run_plan(instance, plan, on_step)


def run_plan(
    instance: dg.DagsterInstance,
    plan: Sequence[Planned],
    on_step: Callable[[BuildStep], None] | None = None,
) -> list[BuildStep]:
    """Materialize each planned step in order, recorded in ``instance``."""
    resources = defs.resources or {}
    steps = []
    for item in plan:
        result = dg.materialize(
            item.assets,
            instance=instance,
            resources=resources,
            partition_key=item.partition_key,
            selection=item.selection,
            tags=item.tags,
            raise_on_error=False,
        )
        seconds = _run_seconds(instance, result.run_id)
        step = BuildStep(item.region, item.what, result.success, seconds)
        steps.append(step)
        if on_step:
            on_step(step)
    return steps


def _run_seconds(instance: dg.DagsterInstance, run_id: str) -> float:
    stats = instance.get_run_stats(run_id)
    if stats.start_time and stats.end_time:
        return float(stats.end_time - stats.start_time)
    return 0.0
