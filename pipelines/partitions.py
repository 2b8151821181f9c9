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
