"""Behavioural spam traps: every day, in every region cell, contacts mailed many times over a
long span that never engaged nor bounced are recorded in the trap store by
:func:`compliance.traps.behavioural.detect_suspects` (thresholds from the settings
``TRAP_BEHAVIOUR_MIN_SENDS`` and ``TRAP_BEHAVIOUR_MIN_DAYS``), so enqueue refuses them."""

from datetime import UTC, datetime

import dagster as dg

from compliance.traps.behavioural import detect_suspects
from postwise.settings import get_settings

from .partitions import region_partitions, run_per_region
from .resources import WarehouseResource


@dg.asset(
    partitions_def=region_partitions,
    group_name="compliance",
    key=["compliance", "behavioural_trap_suspects"],
    kinds={"postgres"},
)
def behavioural_trap_suspects(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The region's behavioural trap suspects, recorded in its trap store and audited."""
    settings = get_settings()
    with warehouse.connection(context.partition_key) as conn:
        report = detect_suspects(
            conn,
            context.partition_key,
            min_sends=settings.trap_behaviour_min_sends,
            min_days=settings.trap_behaviour_min_days,
            now=datetime.now(UTC),
            actor="dagster:behavioural_trap_suspects",
        )
    context.log.info("%d behavioural trap suspects, %d new", report.suspects, report.added)
    return dg.MaterializeResult(metadata={"suspects": report.suspects, "added": report.added})


behavioural_traps_job = dg.define_asset_job(
    "behavioural_traps",
    selection=dg.AssetSelection.assets(behavioural_trap_suspects),
)


@dg.schedule(job=behavioural_traps_job, cron_schedule="15 3 * * *", execution_timezone="UTC")
def daily_behavioural_traps(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every day at 03:15 UTC, in every region cell (one run per region and day)."""
    day = context.scheduled_execution_time.date().isoformat()
    return run_per_region(day)
