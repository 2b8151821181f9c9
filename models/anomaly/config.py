"""What defines an anomaly model besides its weights, and how it is chosen for a series.

``make_config`` picks the shape that suits the data: the warm-up (half the series, at most
four weeks of hourly steps), a context and window that fit in it, a season (a week, else a
day) when the cadence has one and the warm-up holds enough of them, and for sender series
the volume as the exposure the other columns are forecast given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .features import InputError, min_scales

MAX_DEFAULT_WARMUP = 24 * 28
MIN_WARMUP = 40  # enough for a short context, training samples and calibration
MIN_CONTEXT = 8
EXPOSURE = {"sender": "log_messages"}  # per feature mode: the volume drives the rest
NOISE_FLOOR = 0.8


@dataclass(frozen=True)
class AnomalyConfig:
    """Everything that defines a model besides its weights (all plain values, for MLflow)."""

    columns: tuple[str, ...]
    features: str = "raw"  # "sender": derive rates from mart counts first
    min_scales: tuple[float, ...] = ()  # per column, see features.min_scales
    exposure: str = ""  # column the others are forecast given (see network.Forecaster)
    warmup_steps: int = 24 * 21
    context: int = 72
    window: int = 24
    seasonal_lag: int = 0  # steps in a season (168 for hourly data with a weekly rhythm)
    hidden_size: int = 32
    false_alarm_rate: float = 0.002
    alert_hold: int = 0
    adapt_halflife: int = 24
    drift_smoothing: float = 0.1
    center_window: int = 72
    calibration_fraction: float = 0.3
    epochs: int = 60
    learning_rate: float = 3e-3
    batch_size: int = 64
    weight_decay: float = 0.0
    seed: int = 0
    num_threads: int = 1

    @property
    def noise_floor(self) -> tuple[float, ...]:
        """Least forecast sigma per column: columns with a known noise scale get 0.8 of it."""
        return tuple(NOISE_FLOOR if m > 0 else 0.0 for m in self.min_scales)

    @property
    def exposure_index(self) -> int:
        return self.columns.index(self.exposure) if self.exposure else -1

    def __post_init__(self) -> None:
        if self.exposure and self.exposure not in self.columns:
            raise ValueError(f"exposure column {self.exposure!r} is not among the columns")
        if not 1 <= self.window <= self.context:
            raise ValueError(f"window ({self.window}) must be between 1 and context")
        if self.warmup_steps < 3 * self.context:
            raise ValueError(
                f"warm-up ({self.warmup_steps} steps) must be at least 3 contexts "
                f"({3 * self.context}) to train and calibrate"
            )


def default_warmup(length: int) -> int:
    """Half the series, at most four weeks of hourly steps, at least ``MIN_WARMUP``."""
    return max(MIN_WARMUP, min(length // 2, MAX_DEFAULT_WARMUP))


def series_shape(index: pd.DatetimeIndex, warmup: int) -> dict[str, int]:
    """Context, window and season (in steps) that suit a warm-up of ``warmup`` rows.

    Context and window shrink for short warm-ups (a quarter of it at most, so that the
    forecaster has samples to learn from). The season is a week, else a day, when the
    cadence divides it and the warm-up's training part holds at least two of them.
    """
    context = max(MIN_CONTEXT, min(AnomalyConfig.context, warmup // 4))
    window = min(AnomalyConfig.window, context)
    lag = 0
    steps = np.diff(index[: warmup + 1].asi8)
    if len(steps):
        cadence = float(np.median(steps))
        trainable = int(warmup * (1 - AnomalyConfig.calibration_fraction))
        for period in (7 * 86_400e9, 86_400e9):
            k = round(period / cadence) if cadence > 0 else 0
            fits = k >= 2 and abs(k * cadence - period) <= 0.01 * period
            if fits and k + window <= trainable // 2:
                lag = k
                break
    return {"context": context, "window": window, "seasonal_lag": lag}


def make_config(
    series: list[pd.DataFrame],
    mode: str,
    *,
    warmup_steps: int | None = None,
    **options: Any,
) -> AnomalyConfig:
    """The config for numeric ``series`` (same columns): shape inferred unless given."""
    shortest = min(len(s) for s in series)
    warmup = warmup_steps if warmup_steps is not None else default_warmup(shortest)
    if warmup < MIN_WARMUP:
        raise InputError(f"the warm-up needs at least {MIN_WARMUP} rows, got {warmup}")
    columns = tuple(str(c) for c in series[0].columns)
    shape = series_shape(pd.DatetimeIndex(series[0].index), warmup)
    shape.update({k: v for k, v in options.items() if k in shape})
    rest = {k: v for k, v in options.items() if k not in shape}
    return AnomalyConfig(
        columns=columns,
        features=mode,
        min_scales=min_scales(columns, mode),
        exposure=EXPOSURE.get(mode, "") if "exposure" not in rest else rest.pop("exposure"),
        warmup_steps=warmup,
        **shape,
        **rest,
    )
