"""Validation of a trained model on its own training frame, after the warm-up.

Real histories carry no incident labels, so validation plants them: each series' rows
after the warm-up are scored twice, as given (the share of steps alerted there is the
false-alarm rate, an upper bound if real incidents happened) and with synthetic incidents
injected (event precision, recall, F1 and delay). Sender series get the four sender
incidents at the count level; any other numeric series gets spikes and level shifts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .evaluation import EventCounts, evaluate_alerts
from .features import hourly_counts, numeric_frame, split_senders
from .synthetic import Incident, inject, inject_generic, plan_incidents

if TYPE_CHECKING:
    from .model import AnomalyModel

MIN_VALIDATION_STEPS = 96  # after the warm-up: room for four incidents a day apart
MAX_VALIDATION_SERIES = 20  # the longest ones; validation must not dominate training time


def validate(model: AnomalyModel, frame: pd.DataFrame, *, seed: int) -> dict[str, float]:
    """``validation_*`` metrics over the series of ``frame`` that are long enough."""
    warmup = model.config.warmup_steps
    series = [
        hourly_counts(part) if model.config.features == "sender" else numeric_frame(part)
        for part in split_senders(frame).values()
    ]
    series = [s for s in series if len(s) - warmup >= MIN_VALIDATION_STEPS]
    series = sorted(series, key=len, reverse=True)[:MAX_VALIDATION_SERIES]
    counts = EventCounts()
    alerted, steps = 0, 0
    for i, raw in enumerate(series):
        clean = model.scorer().score_frame(model.features(raw))["is_alert"].to_numpy()
        alerted += int(clean[warmup:].sum())
        steps += len(clean) - warmup
        planted, incidents = _plant(model, raw, seed=seed + i)
        alerts = model.scorer().score_frame(model.features(planted))["is_alert"].to_numpy()
        counts = counts + evaluate_alerts(alerts, incidents, start=warmup)
    return {
        "validation_f1": counts.f1,
        "validation_precision": counts.precision,
        "validation_recall": counts.recall,
        "validation_mean_delay": counts.mean_delay if counts.delays else float("nan"),
        "validation_false_alarm_rate": alerted / steps if steps else float("nan"),
        "validation_incidents": float(counts.incidents),
        "validation_series": float(len(series)),
    }


def _plant(
    model: AnomalyModel, raw: pd.DataFrame, *, seed: int
) -> tuple[pd.DataFrame, list[Incident]]:
    """``raw`` with incidents after the warm-up, and their labels (row positions)."""
    warmup = model.config.warmup_steps
    if model.config.features == "sender":
        incidents = plan_incidents(warmup, len(raw), seed=seed)
        planted = raw
        for k, incident in enumerate(incidents):
            planted = inject(planted, incident, seed=seed * 100 + k)
        return planted, incidents
    return inject_generic(raw, warmup, seed=seed)
