"""Warehouse upkeep: event partitions ahead of time, retention (archive, then drop), and
the hourly rollup."""

from datetime import UTC, datetime

import dagster as dg

from compliance.archive.export import archive_due
from compliance.archive.store import ArchiveStore
from compliance.crypto import cipher_for
from postwise.settings import get_settings
from warehouse.partitions import ensure_partitions_ahead

from .partitions import region_partitions
from .resources import WarehouseResource


@dg.asset(
    partitions_def=region_partitions,
    group_name="warehouse",
    key=["warehouse", "event_partitions"],
    kinds={"postgres"},
)
def event_partitions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Daily partitions of email_events created ahead; those past retention archived to
    Parquet in the archive store, verified, and only then dropped (a failed verification
    keeps the partition and fails the run)."""
    settings = get_settings()
    today = datetime.now(UTC).date()
    region = context.partition_key
    with warehouse.connection(region) as conn:
        created = ensure_partitions_ahead(conn, today, settings.partitions_ahead_days)
        archived = archive_due(
            conn,
            ArchiveStore.from_settings(settings),
            cipher_for(settings),
            region,
            today,
            settings.event_retention_days,
            actor="pipeline:warehouse_upkeep",
        )
    return dg.MaterializeResult(
        metadata={
            "created": created,
            "dropped": len(archived),
            "archived_rows": sum(report.rows for report in archived),
            "archived": [report.url for report in archived],
        }
    )


@dg.asset(
    partitions_def=region_partitions,
    group_name="warehouse",
    key=["warehouse", "email_events_hourly"],
    deps=[event_partitions],
    kinds={"postgres"},
)
def email_events_hourly(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The hourly event rollup, recomputed for the hours new events touched."""
    with warehouse.connection(context.partition_key) as conn:
        row = conn.execute("SELECT refresh_email_events_hourly()").fetchone()
    return dg.MaterializeResult(metadata={"buckets_recomputed": int(row[0]) if row else 0})


upkeep_job = dg.define_asset_job(
    "warehouse_upkeep",
    selection=dg.AssetSelection.assets(event_partitions, email_events_hourly),
)


@dg.schedule(job=upkeep_job, cron_schedule="10 * * * *", execution_timezone="UTC")
def hourly_upkeep(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every hour, in every region cell: partitions ahead, retention, rollup refresh."""
    return [
        dg.RunRequest(run_key=None, partition_key=region)
        for region in region_partitions.get_partition_keys()
    ]
