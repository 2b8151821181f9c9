"""Partitions: every asset is built per region cell; large marts also per day."""

from __future__ import annotations

import dagster as dg

from postwise.settings import DEFAULT_REGIONS

# Daily partitions start well before any simulated history; backfills fill what is needed.
FIRST_DAY = "2026-01-01"

region_partitions = dg.StaticPartitionsDefinition(list(DEFAULT_REGIONS))
daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1)
region_day_partitions = dg.MultiPartitionsDefinition(
    {"region": region_partitions, "day": daily_partitions}
)


def run_per_region(tick: str) -> list[dg.RunRequest]:
    """One run request per region cell for a schedule's ``tick`` (its day or hour), keyed
    ``<tick>-<region>`` so a tick evaluated twice starts each run once."""
    return [
        dg.RunRequest(run_key=f"{tick}-{region}", partition_key=region)
        for region in region_partitions.get_partition_keys()
    ]
