"""Current recipient features (``marts.recipient_engagement_features``) in the training form.

The scoring mart keeps a 168-hour (local hour-of-week) histogram smoothed toward the cell's
population, while the training mart's ``prior_open_hour_histogram`` has 24 local hours
smoothed toward a flat day. Both are turned back into the recipient's own first-open counts
by local hour (integers, so ``hist * (n + k) - k * prior`` rounds back exactly), which the
features then smooth one way for both. The population histogram is what a contact without
opens carries (all such rows of one cell hold the same one); a batch without such a row
uses the population the model saw in training.

Mapping of the other features: deliveries ``delivered_90d``, opens ``opens_in_histogram``,
open rate ``open_rate_90d`` (numerator and denominator from the same 90-day window), recency
``hours_since_last_open`` plus the slot's lag after ``as_of``, device ``device``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .features import HISTOGRAM_PRIOR_STRENGTH, HOURS, HOURS_PER_WEEK, RecipientState


def population_histogram(features: pd.DataFrame) -> np.ndarray | None:
    """The population hour-of-week histogram carried by contacts without opens, if any."""
    empty = features.loc[features["opens_in_histogram"].fillna(0) == 0]
    if empty.empty:
        return None
    return np.asarray(empty["open_hour_of_week_histogram"].iloc[0], dtype=np.float64)


def open_hour_counts(
    features: pd.DataFrame, population: np.ndarray, prior_strength: float = HISTOGRAM_PRIOR_STRENGTH
) -> np.ndarray:
    """Each contact's own first opens by local hour of day, ``(n, 24)``, un-smoothed."""
    n_rows = len(features)
    weekly = np.asarray(features["open_hour_of_week_histogram"].tolist(), dtype=np.float64)
    weekly = weekly.reshape(n_rows, HOURS_PER_WEEK)
    opens = features["opens_in_histogram"].fillna(0).to_numpy(np.float64)[:, None]
    counts = weekly * (opens + prior_strength) - prior_strength * population[None, :]
    # Counts are integers: rounding absorbs float noise (and small population mismatches).
    counts = np.clip(np.rint(counts), 0.0, None)
    return counts.reshape(n_rows, 7, HOURS).sum(axis=1)


def modal_open_hour(counts: np.ndarray) -> np.ndarray:
    """The local hour most first opens came in (earliest on ties), -1 without opens."""
    return np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1)


def scoring_state(features: pd.DataFrame, counts: np.ndarray) -> RecipientState:
    """The training-form state of each contact from its current features and open counts."""
    delivered = features["delivered_90d"].fillna(0).to_numpy(np.float64)
    rate = features["open_rate_90d"].fillna(0.0).to_numpy(np.float64)
    since = features["hours_since_last_open"].to_numpy(np.float64, na_value=np.nan)
    return RecipientState(
        open_counts=counts,
        prior_delivered=delivered,
        prior_opens=counts.sum(axis=1),
        rate_opens=np.rint(rate * delivered),
        rate_delivered=delivered,
        hours_since_last_open=since,
        provider=features["mailbox_provider"].fillna("unknown").astype(str).to_numpy(object),
        device=features["device"].fillna("unknown").astype(str).to_numpy(object),
        campaign_type=np.full(len(features), "marketing", dtype=object),
    )


@cache
def _zone_slots(zone_name: str, day: date) -> np.ndarray:
    """UTC instants (epoch ns) of local hours 0..23 of ``day`` in ``zone_name``.

    A local hour skipped by a DST change maps like zoneinfo's fold=0 (the earlier offset),
    a repeated one to its first occurrence: every day keeps 24 slots.
    """
    tz = ZoneInfo(zone_name)
    stamps = [datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC) for hour in range(HOURS)]
    return np.array([int(s.timestamp() * 1e6) * 1000 for s in stamps], dtype=np.int64)


def local_day_slots(time_zones: pd.Series, day: date) -> np.ndarray:
    """``(n, 24)`` UTC epoch-ns of each recipient's local hours 0..23 on ``day``."""
    codes, zones = pd.factorize(time_zones.fillna("UTC").astype(str))
    if not len(zones):
        return np.zeros((0, HOURS), dtype=np.int64)
    return np.stack([_zone_slots(zone_name, day) for zone_name in zones])[codes]


def slot_lag_hours(slots_ns: np.ndarray, as_of: pd.Series | None) -> np.ndarray | None:
    """Hours from each row's ``as_of`` to each slot (0 before it or without ``as_of``)."""
    if as_of is None:
        return None
    stamps = pd.DatetimeIndex(pd.to_datetime(as_of, utc=True)).as_unit("ns")
    lag = (slots_ns - stamps.asi8[:, None]) / 3.6e12
    lag[np.asarray(stamps.isna())] = 0.0
    return np.clip(lag, 0.0, None)
