"""Engagement features: the dbt project as Dagster assets, built inside each region cell.

Two asset groups come from one dbt project: incremental marts (large, event-time
partitioned) are partitioned by region x day so daily backfills and hourly refreshes touch
one day; everything else (staging views, intermediate models, small marts) by region.
dbt tests become asset checks.
"""

import sys
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from .logic import FULL_REFRESH_TAG, INCREMENTAL, dbt_build_args, region_and_day
from .partitions import region_day_partitions, region_partitions
from .resources import WarehouseResource

MART_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=2), warn_window=timedelta(hours=1)
)
# The dbt installed beside this interpreter, whether or not the venv is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class PostwiseDbtTranslator(DagsterDbtTranslator):
    """Asset keys by layer (``staging/stg_messages``, ``marts/message_outcomes``); the raw
    warehouse tables dbt reads appear as ``warehouse/<table>``."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["warehouse", dbt_resource_props["name"]])
        return dg.AssetKey([_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.key.path[0] == "marts":
            # Marts feed models, delivery and dashboards: stale after two missed refreshes.
            return spec.replace_attributes(freshness_policy=MART_FRESHNESS)
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "warehouse"
        return _layer(dbt_resource_props)


def _layer(props: Mapping[str, Any]) -> str:
    fqn = props.get("fqn") or []
    return str(fqn[1]) if len(fqn) > 2 else "models"


translator = PostwiseDbtTranslator()


def manifest_path() -> Path:
    """Where `dbt parse` leaves the manifest the assets are defined from."""
    return dbt_project.manifest_path


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=INCREMENTAL,
    partitions_def=region_partitions,
    dagster_dbt_translator=translator,
    name="dbt_region_models",
)
def dbt_region_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Staging views, intermediate models and whole-table marts of one region cell."""
    region, _ = region_and_day(context.partition_key)
    yield from dbt.cli(dbt_build_args(region), context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=INCREMENTAL,
    partitions_def=region_day_partitions,
    dagster_dbt_translator=translator,
    name="dbt_daily_marts",
)
def dbt_daily_marts(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Incremental marts of one region cell for one day of events (or, for a run tagged
    full-refresh, rebuilt from every event of the cell)."""
    region, day = region_and_day(context.partition_key)
    full_refresh = context.run.tags.get(FULL_REFRESH_TAG) == "true"
    args = dbt_build_args(region, day, full_refresh=full_refresh)
    yield from dbt.cli(args, context=context).stream()


region_models_job = dg.define_asset_job(
    "refresh_region_features",
    selection=dg.AssetSelection.assets(dbt_region_models),
)
daily_marts_job = dg.define_asset_job(
    "refresh_daily_marts",
    selection=dg.AssetSelection.assets(dbt_daily_marts),
)
