"""Pure helpers behind the pipeline: partition keys, dbt arguments, sensor cursors."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import pandas as pd
import pytest

from pipelines.logic import (
    complete_buckets,
    days_to_refresh,
    dbt_build_args,
    decode_cursor,
    encode_cursor,
    region_and_day,
    regions_with_new_events,
)


def test_a_region_day_key_splits_into_its_region_and_day() -> None:
    key = dg.MultiPartitionKey({"region": "eu", "day": "2026-11-20"})
    assert region_and_day(key) == ("eu", "2026-11-20")
    assert region_and_day("apac") == ("apac", None)


def test_dbt_is_built_inside_the_region_cell_and_limited_to_one_day() -> None:
    assert dbt_build_args("na") == ["build", "--target", "na"]
    assert dbt_build_args("eu", "2026-11-20") == [
        "build",
        "--target",
        "eu",
        "--vars",
        '{"day": "2026-11-20"}',
    ]
    assert dbt_build_args("eu", "2026-11-20", full_refresh=True) == [
        "build",
        "--target",
        "eu",
        "--full-refresh",
    ]


def test_a_day_that_is_not_a_date_never_reaches_dbt() -> None:
    with pytest.raises(ValueError):
        dbt_build_args("eu", "2026-11-20'; drop table x; --")


def test_only_regions_whose_events_moved_are_refreshed() -> None:
    assert regions_with_new_events({"na": 10, "eu": 5}, {"na": 10, "eu": 7, "apac": 1}) == [
        "apac",
        "eu",
    ]
    assert regions_with_new_events({"na": 10}, {"na": 10}) == []


def test_the_refresh_covers_today_and_the_late_event_lookback() -> None:
    assert days_to_refresh(date(2026, 11, 27), 1) == ["2026-11-26", "2026-11-27"]


def test_sensor_cursors_round_trip_and_garbage_starts_afresh() -> None:
    assert decode_cursor(encode_cursor({"eu": 3, "na": 9})) == {"eu": 3, "na": 9}
    assert decode_cursor(None) == {}
    assert decode_cursor("not json") == {}


def test_anomaly_series_leave_out_the_hour_still_filling_up() -> None:
    hours = pd.date_range("2026-03-01 10:00", periods=4, freq="h", tz="UTC")
    series = pd.DataFrame({"bucket_start": hours, "sends": [50, 52, 49, 3]})
    now = datetime(2026, 3, 1, 13, 20, tzinfo=UTC)
    assert complete_buckets(series, now)["sends"].tolist() == [50, 52, 49]
    assert len(complete_buckets(series, now.replace(hour=14, minute=0))) == 4
