"""The detectors the LSTM must beat: a rolling z-score and an EWMA control chart.

Both see the same numeric series as the LSTM, normalised by the same warm-up median / IQR,
know the same per-column noise floor (a Poisson score never has a standard deviation below
``NOISE_FLOOR``, so one complaint is not a 30-sigma event for them either), and score with
the same rule: their statistic (largest absolute z over columns) is calibrated on clean
warm-up steps by ``Calibration`` and alerts at ``1 - false_alarm_rate``. They do not train,
so they calibrate on every warm-up step after their own burn-in: more clean data than the
LSTM keeps for calibration. Their own parameters (window, smoothing, baseline memory) are
chosen on validation histories by ``benchmark.tune_baselines``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .calibration import Calibration
from .features import RobustScaler

STD_FLOOR = 0.1  # normalised units: a column flat over the window must not divide by zero


@dataclass(frozen=True)
class RollingZScore:
    """z of each value against the mean and std of the previous ``window`` steps."""

    window: int = 48
    name: str = "rolling_zscore"

    @property
    def burn_in(self) -> int:
        return self.window

    def statistic(self, z: np.ndarray, floor: np.ndarray, warmup_steps: int) -> np.ndarray:
        past = pd.DataFrame(z).shift(1).rolling(self.window, min_periods=self.window)
        mean, std = past.mean().to_numpy(), past.std().to_numpy()
        score = np.abs(z - mean) / np.maximum(np.nan_to_num(std), floor)
        return np.nan_to_num(score, nan=0.0).max(axis=1)


@dataclass(frozen=True)
class EwmaChart:
    """EWMA control chart per column: ``e = lam x + (1 - lam) e`` on deviations from the
    in-control mean, alarming on ``|e|`` in units of its in-control standard deviation.

    The in-control mean and variance come from the warm-up (the classical phase I) or,
    with ``baseline_halflife``, from an exponentially weighted history of past steps, so
    that a lasting change eventually becomes the new in-control state.
    """

    lam: float = 0.2
    baseline_halflife: int | None = None
    name: str = "ewma"

    @property
    def burn_in(self) -> int:
        return int(np.ceil(3 / self.lam)) + (self.baseline_halflife or 0)

    def statistic(self, z: np.ndarray, floor: np.ndarray, warmup_steps: int) -> np.ndarray:
        frame = pd.DataFrame(z).ffill().fillna(0.0)
        if self.baseline_halflife:
            ew = frame.ewm(halflife=self.baseline_halflife)
            mu = ew.mean().shift(1).bfill().to_numpy()
            sd = np.sqrt(ew.var().shift(1).bfill().fillna(0.0).to_numpy())
        else:
            phase1 = frame.iloc[:warmup_steps]
            mu = np.broadcast_to(phase1.mean().to_numpy(), frame.shape)
            sd = np.broadcast_to(phase1.std().fillna(0.0).to_numpy(), frame.shape)
        sd = np.maximum(sd, floor)
        e = lfilter([self.lam], [1.0, -(1.0 - self.lam)], frame.to_numpy() - mu, axis=0)
        return (np.abs(e) / (sd * np.sqrt(self.lam / (2 - self.lam)))).max(axis=1)


Baseline = RollingZScore | EwmaChart


def baseline_scores(
    detector: Baseline,
    frame: pd.DataFrame,
    warmup_steps: int,
    *,
    min_scales: tuple[float, ...] = (),
    noise_floor: tuple[float, ...] = (),
) -> np.ndarray:
    """Scores in [0, 1] for every row of a numeric series (0 during the warm-up)."""
    values = frame.to_numpy(dtype=float)
    scaler = RobustScaler.fit(values[:warmup_steps], np.asarray(min_scales))
    floor = np.maximum(STD_FLOOR, np.asarray(noise_floor or (0.0,) * values.shape[1]))
    statistic = detector.statistic(scaler.transform(values), floor, warmup_steps)
    calibration = Calibration.fit(
        statistic[min(detector.burn_in, warmup_steps // 2) : warmup_steps]
    )
    scores = calibration.score(statistic)
    scores[:warmup_steps] = 0.0
    return scores
