"""Pure helpers behind the pipeline assets, sensors and schedules (unit-tested)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd

INCREMENTAL = "config.materialized:incremental"
FULL_REFRESH_TAG = "postwise/dbt_full_refresh"


def region_and_day(partition_key: str | dg.MultiPartitionKey) -> tuple[str, str | None]:
    """The region and (for region x day partitions) the day of a partition key."""
    if isinstance(partition_key, dg.MultiPartitionKey):
        keys = partition_key.keys_by_dimension
        return keys["region"], keys["day"]
    return str(partition_key), None


def dbt_build_args(region: str, day: str | None = None, *, full_refresh: bool = False) -> list[str]:
    """``dbt build`` inside one region cell: limited to one day of events when ``day`` is
    given, or rebuilding incremental models from scratch when ``full_refresh`` is set."""
    args = ["build", "--target", region]
    if full_refresh:
        return [*args, "--full-refresh"]
    if day is not None:
        date.fromisoformat(day)  # refuse anything that is not a day before it reaches SQL
        args += ["--vars", json.dumps({"day": day})]
    return args


def regions_with_new_events(seen: Mapping[str, int], latest: Mapping[str, int]) -> list[str]:
    """Regions whose newest event arrival number moved past what was last seen."""
    return sorted(region for region, mark in latest.items() if mark > seen.get(region, 0))


def days_to_refresh(today: date, lookback_days: int) -> list[str]:
    """The day partitions an hourly refresh rebuilds: today and the last few days, because
    opens, clicks and asynchronous bounces keep arriving for days after a send."""
    return [(today - timedelta(days=n)).isoformat() for n in range(lookback_days, -1, -1)]


def encode_cursor(marks: Mapping[str, int]) -> str:
    return json.dumps(dict(sorted(marks.items())))


def decode_cursor(cursor: str | None) -> dict[str, int]:
    if not cursor:
        return {}
    try:
        raw = json.loads(cursor)
    except json.JSONDecodeError:
        return {}
    return {str(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def complete_buckets(
    series: pd.DataFrame, now: datetime, bucket: timedelta = timedelta(hours=1)
) -> pd.DataFrame:
    """Rows of ``send_volume_timeseries`` whose hour is over at ``now``: the current hour is
    still filling up, and its low counts would read as a sudden drop in volume."""
    ends = pd.to_datetime(series["bucket_start"], utc=True) + bucket
    return series.loc[(ends <= pd.Timestamp(now)).to_numpy()]


def _utc(value: Any) -> datetime:
    """A timestamp as an aware UTC datetime (naive ones are UTC, as the models return them)."""
    stamp = pd.Timestamp(value)
    return (
        stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    ).to_pydatetime()


def send_time_rows(
    features: pd.DataFrame, scores: pd.DataFrame, model_name: str, version: str
) -> list[tuple[Any, ...]]:
    """``recipient_send_times`` rows from a champion's scores (org taken from features)."""
    # Scores may name contacts as text (MLflow schemas hold no UUIDs): match on the text.
    contact_of = {
        str(c): (c, o) for c, o in zip(features["contact_id"], features["org_id"], strict=True)
    }
    return [
        (
            *contact_of[str(row.contact_id)],
            _utc(row.best_hour_utc),
            int(row.best_local_hour),
            float(row.open_probability_24h),
            model_name,
            version,
            bool(row.fallback),
        )
        for row in scores.itertuples(index=False)
    ]


def anomaly_rows(scored: pd.DataFrame, model_name: str, version: str) -> list[tuple[Any, ...]]:
    """``anomaly_scores`` rows from a champion's scores of sender series."""
    return [
        (
            row.org_id,
            row.sending_domain,
            _utc(row.timestamp),
            float(row.anomaly_score),
            bool(row.is_alert),
            float(row.threshold),
            model_name,
            version,
        )
        for row in scored.itertuples(index=False)
    ]
