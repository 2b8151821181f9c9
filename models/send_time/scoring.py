"""Vectorised best-hour scoring: every recipient x the 24 local hours of one day.

For each recipient the 24 candidate slots are the local hours 0..23 of ``day`` in their
time zone. The linear predictor of all slots is built column by column on ``(n, 24)``
arrays (see ``features.slot_features``) and turned into ``P(open within 24 h)`` by the
predictor's closed form, so lifelines is never called per row. Recipients with fewer than
``min_prior_opens`` first opens (``fallback``) are scored without their own open hours, i.e.
on the model's population hour curve, scaled by their cohort's hourly ratios (``cohort``): their
hour profile comes from the cohort while the level still reflects their own frequency and
recency.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .cohort import time_zone_region
from .features import HOURS, RecipientState, linear_predictor, slot_features
from .recipients import (
    local_day_slots,
    open_hour_counts,
    population_histogram,
    scoring_state,
    slot_lag_hours,
)

if TYPE_CHECKING:
    from .model import SendTimeModel

SCORE_COLUMNS = (
    "contact_id",
    "best_hour_utc",
    "best_local_hour",
    "open_probability_24h",
    "fallback",
    "model_version",
)
FEATURE_COLUMNS = (
    "contact_id",
    "mailbox_provider",
    "time_zone",
    "device",
    "delivered_90d",
    "open_rate_90d",
    "hours_since_last_open",
    "opens_in_histogram",
    "open_hour_of_week_histogram",
)
CHUNK_ROWS = 100_000  # bounds memory: a chunk's (n, 24) float arrays are ~20 MB each


def slot_probabilities(
    model: SendTimeModel, features: pd.DataFrame, day: date, population: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(P (n, 24), slot UTC epoch-ns (n, 24), fallback (n,))`` for rows of ``features``.

    Fallback rows are scored without their own open hours (the histogram is then the
    population's) and scaled by their cohort's hourly ratios.
    """
    population = model.population if population is None else population
    counts = open_hour_counts(features, population, model.prior_strength)
    fallback = counts.sum(axis=1) < model.min_prior_opens
    state = scoring_state(features, counts)
    # Fallback rows keep their opens count (the level) but not their hour pattern.
    state = replace(state, open_counts=np.where(fallback[:, None], 0.0, counts))
    slots = local_day_slots(features["time_zone"], day)
    as_of = features["as_of"] if "as_of" in features.columns else None
    lag = slot_lag_hours(slots, as_of)
    weekday = np.full(len(features), day.weekday())
    probability = model_probabilities(model, state, np.arange(HOURS)[None, :], weekday, lag)
    if fallback.any():
        ratios = model.cohorts.ratios(
            features["mailbox_provider"].fillna("unknown").astype(str).to_numpy(object)[fallback],
            time_zone_region(features["time_zone"])[fallback],
        )
        probability[fallback] = np.clip(probability[fallback] * ratios, 0.0, 1.0)
    return probability, slots, fallback


def model_probabilities(
    model: SendTimeModel,
    state: RecipientState,
    hours: np.ndarray,
    weekday: np.ndarray,
    lag_hours: np.ndarray | None = None,
) -> np.ndarray:
    """The fitted model's P(open within 24 h) for every (recipient, slot hour), ``(n, s)``."""
    blocks = slot_features(model.spec, state, hours, weekday, lag_hours)
    predictor = model.predictor
    shape = (state.open_counts.shape[0], hours.shape[1])
    return predictor.open_probability(
        linear_predictor(blocks, predictor.columns, predictor.coef, shape)
    )


def score(model: SendTimeModel, features: pd.DataFrame, day: date) -> pd.DataFrame:
    """Best send hour on ``day`` for each row of ``marts.recipient_engagement_features``.

    Returns one row per recipient: ``contact_id``, ``best_hour_utc`` (UTC timestamp of the
    best slot), ``best_local_hour``, ``open_probability_24h`` (at that slot), ``fallback``
    (cohort curve used) and ``model_version`` (None: the caller fills it in).
    Pass the features of one region cell per call (the population histogram is per cell).
    """
    missing = [c for c in FEATURE_COLUMNS if c not in features.columns]
    if missing:
        raise ValueError(f"recipient features lack columns: {missing}")
    features = features.reset_index(drop=True)
    population = population_histogram(features)
    parts = [
        _score_chunk(model, features.iloc[lo : lo + CHUNK_ROWS], day, population)
        for lo in range(0, len(features), CHUNK_ROWS)
    ]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SCORE_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def _score_chunk(
    model: SendTimeModel, features: pd.DataFrame, day: date, population: np.ndarray | None
) -> pd.DataFrame:
    probability, slots, fallback = slot_probabilities(model, features, day, population)
    best = probability.argmax(axis=1)
    rows = np.arange(len(features))
    return pd.DataFrame(
        {
            "contact_id": features["contact_id"].to_numpy(),
            "best_hour_utc": pd.to_datetime(slots[rows, best], utc=True),
            "best_local_hour": best.astype(np.int64),
            "open_probability_24h": probability[rows, best],
            "fallback": fallback,
            "model_version": None,
        }
    )
