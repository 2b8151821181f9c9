"""When features are rebuilt: hourly and daily schedules, and a sensor on new events."""

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from .features import daily_marts_job, region_models_job
from .logic import (
    FULL_REFRESH_TAG,
    days_to_refresh,
    decode_cursor,
    encode_cursor,
    regions_with_new_events,
)
from .partitions import region_partitions
from .resources import WarehouseResource

LATE_EVENT_LOOKBACK_DAYS = 1


def _daily_requests(days: Sequence[str], regions: Sequence[str]) -> list[dg.RunRequest]:
    return [
        dg.RunRequest(partition_key=dg.MultiPartitionKey({"region": region, "day": day}))
        for region in regions
        for day in days
    ]


@dg.schedule(job=daily_marts_job, cron_schedule="5 * * * *", execution_timezone="UTC")
def hourly_marts_refresh(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every hour: today's and yesterday's day partitions of the incremental marts."""
    today = context.scheduled_execution_time.astimezone(UTC).date()
    regions = region_partitions.get_partition_keys()
    return _daily_requests(days_to_refresh(today, LATE_EVENT_LOOKBACK_DAYS), regions)


@dg.schedule(job=region_models_job, cron_schedule="20 * * * *", execution_timezone="UTC")
def hourly_features_refresh(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every hour, after the marts: features and whole-table marts of every region."""
    return [dg.RunRequest(partition_key=r) for r in region_partitions.get_partition_keys()]


@dg.schedule(job=daily_marts_job, cron_schedule="0 3 * * *", execution_timezone="UTC")
def daily_full_build(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every night: the incremental marts of each region rebuilt from all events
    (dbt --full-refresh), which also heals any day a refresh missed."""
    yesterday = days_to_refresh(context.scheduled_execution_time.astimezone(UTC).date(), 1)[0]
    return [
        dg.RunRequest(
            partition_key=dg.MultiPartitionKey({"region": region, "day": yesterday}),
            tags={FULL_REFRESH_TAG: "true"},
        )
        for region in region_partitions.get_partition_keys()
    ]


@dg.sensor(
    job=daily_marts_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING
)
def new_events_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult:
    """Refresh today's marts of a region as soon as new events land in its cell."""
    seen = decode_cursor(context.cursor)
    latest = {}
    for region in region_partitions.get_partition_keys():
        with warehouse.connection(region) as conn:
            row = conn.execute(
                "SELECT last_value, is_called FROM email_events_ingest_seq"
            ).fetchone()
        latest[region] = int(row[0]) if row and row[1] else 0
    regions = regions_with_new_events(seen, latest)
    today = datetime.now(UTC).date().isoformat()
    return dg.SensorResult(
        run_requests=_daily_requests([today], regions), cursor=encode_cursor(latest)
    )
