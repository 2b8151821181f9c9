"""Fallback-channel upkeep: every hour, in every region cell, the PDFs whose secure links
have expired are deleted (:func:`delivery.fallback.purge_expired`). The links refuse them
already; this keeps nothing sealed longer than it can be asked for."""

import dagster as dg

from delivery.fallback import purge_expired

from .partitions import region_partitions, run_per_region
from .resources import WarehouseResource


@dg.asset(
    partitions_def=region_partitions,
    group_name="delivery",
    key=["delivery", "fallback_documents_purged"],
    kinds={"postgres"},
)
def fallback_documents_purged(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The region's fallback-channel documents past their link's expiry, deleted."""
    with warehouse.connection(context.partition_key) as conn:
        purged = purge_expired(conn)
    context.log.info("purged %d expired fallback documents", purged)
    return dg.MaterializeResult(metadata={"purged": purged})


fallback_purge_job = dg.define_asset_job(
    "fallback_documents_purge",
    selection=dg.AssetSelection.assets(fallback_documents_purged),
)


@dg.schedule(job=fallback_purge_job, cron_schedule="40 * * * *", execution_timezone="UTC")
def hourly_fallback_purge(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every hour at :40, in every region cell (one run per region and hour)."""
    hour = context.scheduled_execution_time.strftime("%Y-%m-%dT%H")
    return run_per_region(hour)
