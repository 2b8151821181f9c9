"""Recipient context features for the click model, from ``marts.recipient_engagement_features``.

The context is what the policy may condition on when it picks a variant: engagement rates
over 7/30/90 days, frequency, recency of the last human open, the engagement trend, and
one-hot device, mailbox provider and time-zone area (the part of the IANA name before the
slash: "America", "Europe", ...). Missing values are data, not errors: a rate without
deliveries in its window, or recency without any open, is imputed with the training mean
(recency: the longest seen) and flagged by an indicator column, so "never opened" is
something the model can learn from. Continuous columns are standardised with the training
moments, so one Gaussian prior scale fits every coefficient.

Column order is deterministic: the fixed numeric columns, then the one-hot blocks in
vocabulary order (vocabularies are sorted at fit time and frozen).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RATE_COLUMNS = (
    "open_rate_7d",
    "open_rate_30d",
    "open_rate_90d",
    "click_rate_7d",
    "click_rate_30d",
    "click_rate_90d",
)
COUNT_COLUMNS = ("delivered_30d", "delivered_90d")
CONTINUOUS = (
    *RATE_COLUMNS,
    "log_delivered_30d",
    "log_delivered_90d",
    "log_hours_since_open",
    "engagement_trend",
)
# The mart columns the featurizer reads (others are ignored), for input examples.
INPUT_COLUMNS = (
    "contact_id",
    "mailbox_provider",
    "time_zone",
    "device",
    *COUNT_COLUMNS,
    *RATE_COLUMNS,
    "hours_since_last_open",
    "engagement_trend",
)
DEVICES = ("desktop", "mobile", "unknown")  # the mart's values; anything else is unknown
OTHER = "other"
# A provider or time-zone area needs this many contacts to get its own column; rarer ones
# share OTHER, so a handful of people cannot carry a variant interaction of their own.
MIN_CATEGORY_COUNT = 20


@dataclass(frozen=True)
class ContextFeaturizer:
    """Frozen recipe turning feature-mart rows into a numeric context matrix."""

    providers: tuple[str, ...]
    tz_areas: tuple[str, ...]
    means: tuple[float, ...]  # of the continuous columns, in CONTINUOUS order
    scales: tuple[float, ...]
    recency_fill: float

    @classmethod
    def fit(cls, features: pd.DataFrame, min_count: int = MIN_CATEGORY_COUNT) -> ContextFeaturizer:
        """Learn vocabularies, imputation and scaling from feature rows (no labels used)."""
        providers = _vocabulary(_provider(features), min_count)
        tz_areas = _vocabulary(_tz_area(features), min_count)
        recency = np.log1p(_numeric(features, "hours_since_last_open"))
        recency_fill = float(np.nanmax(recency)) if np.isfinite(recency).any() else 0.0
        raw = _continuous(features, recency_fill, means=None)
        means = raw.mean(axis=0)
        scales = raw.std(axis=0)
        scales = np.where(scales > 1e-9, scales, 1.0)  # a constant column stays at 0
        return cls(providers, tz_areas, tuple(means.tolist()), tuple(scales.tolist()), recency_fill)

    @property
    def feature_names(self) -> list[str]:
        """Column names of ``transform``'s output, in order."""
        return (
            list(CONTINUOUS)
            + [f"missing_{c}" for c in ("rate_7d", "rate_30d", "rate_90d", "open")]
            + [f"device_{d}" for d in DEVICES]
            + [f"provider_{p}" for p in self.providers]
            + [f"tz_{a}" for a in self.tz_areas]
        )

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        """The context matrix of ``features`` (one row per input row, same index)."""
        raw = _continuous(features, self.recency_fill, means=np.asarray(self.means))
        scaled = (raw - np.asarray(self.means)) / np.asarray(self.scales)
        blocks = [
            scaled,
            _missing_indicators(features),
            _one_hot(_device(features), DEVICES),
            _one_hot(_fold(_provider(features), self.providers), self.providers),
            _one_hot(_fold(_tz_area(features), self.tz_areas), self.tz_areas),
        ]
        matrix = np.hstack(blocks).astype(np.float64)
        return pd.DataFrame(matrix, index=features.index, columns=self.feature_names)


def _numeric(features: pd.DataFrame, column: str) -> np.ndarray:
    if column not in features:
        return np.full(len(features), np.nan)
    return pd.to_numeric(features[column], errors="coerce").to_numpy(dtype=np.float64)


def _continuous(
    features: pd.DataFrame, recency_fill: float, means: np.ndarray | None
) -> np.ndarray:
    rates = np.column_stack([_numeric(features, c) for c in RATE_COLUMNS])
    if means is None:  # fitting: impute with the column's own mean (0 if all missing)
        valid = ~np.isnan(rates)
        n = valid.sum(axis=0)
        fill = np.where(valid, rates, 0.0).sum(axis=0) / np.maximum(n, 1)
    else:
        fill = means[: len(RATE_COLUMNS)]
    rates = np.where(np.isnan(rates), fill, rates)
    counts = [np.log1p(np.nan_to_num(_numeric(features, c), nan=0.0)) for c in COUNT_COLUMNS]
    recency = np.log1p(_numeric(features, "hours_since_last_open"))
    recency = np.where(np.isfinite(recency), recency, recency_fill)
    trend = np.nan_to_num(_numeric(features, "engagement_trend"), nan=0.0)
    return np.column_stack([rates, *counts, recency, trend])


def _missing_indicators(features: pd.DataFrame) -> np.ndarray:
    cols = [np.isnan(_numeric(features, f"open_rate_{w}")) for w in ("7d", "30d", "90d")]
    cols.append(np.isnan(_numeric(features, "hours_since_last_open")))
    return np.column_stack(cols).astype(np.float64)


def _text(features: pd.DataFrame, column: str) -> pd.Series:
    if column not in features:
        return pd.Series([""] * len(features), index=features.index, dtype=object)
    return features[column].astype(object).where(features[column].notna(), "").astype(str)


def _device(features: pd.DataFrame) -> np.ndarray:
    device = _text(features, "device").str.lower().to_numpy()
    return np.where(np.isin(device, DEVICES[:-1]), device, "unknown")


def _provider(features: pd.DataFrame) -> np.ndarray:
    provider = _text(features, "mailbox_provider").str.lower().to_numpy()
    return np.where(provider == "", OTHER, provider)


def _tz_area(features: pd.DataFrame) -> np.ndarray:
    area = _text(features, "time_zone").str.split("/").str[0].to_numpy()
    return np.where(area == "", OTHER, area)


def _vocabulary(values: np.ndarray, min_count: int) -> tuple[str, ...]:
    names, counts = np.unique(values, return_counts=True)
    kept = sorted(
        str(n) for n, c in zip(names, counts, strict=True) if c >= min_count and n != OTHER
    )
    return (*kept, OTHER)


def _fold(values: np.ndarray, vocabulary: tuple[str, ...]) -> np.ndarray:
    return np.where(np.isin(values, vocabulary), values, OTHER)


def _one_hot(values: np.ndarray, vocabulary: tuple[str, ...]) -> np.ndarray:
    return (values[:, None] == np.asarray(vocabulary, dtype=object)[None, :]).astype(np.float64)
