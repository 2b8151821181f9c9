"""Map any detector's raw statistic to a score in [0, 1] with a calibrated alert threshold.

The score is the estimated probability that clean data gives a smaller statistic: the
empirical distribution of the statistic on clean calibration data up to its 90th
percentile, and beyond it an exponential tail fitted to the excesses (peaks over
threshold). The tail keeps scores strictly increasing where the data run out, so a
burst ten times larger than anything seen still scores higher than one twice as large.
With this scale, alerting at ``score >= 1 - false_alarm_rate`` fires on about that share
of clean steps, whichever detector produced the statistic: the LSTM and the baselines are
thresholded the same way.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr

TAIL_SHARE = 0.1
# A column's tail decays at most e-fold per half a sigma of residual, however flat it was on
# the calibration steps.
MIN_COLUMN_TAIL = 0.5
DRIFT_CLIP = 4.0
MIN_CENTER_ROWS = 8
SMALLEST_P = 1e-12  # caps a step's surprise at -log(1e-12) ~ 27.6
_LEVELS = np.linspace(0.0, 1.0 - TAIL_SHARE, 91)


@dataclass(frozen=True)
class Calibration:
    """Empirical body plus exponential tail of a statistic on clean data."""

    quantiles: tuple[float, ...]
    tail_scale: float

    @classmethod
    def fit(cls, statistics: np.ndarray, *, min_tail_scale: float = 0.0) -> Calibration:
        """Fit on the statistic of clean steps (NaN ignored; at least 10 values needed).

        ``min_tail_scale`` keeps a statistic that never moved on clean data (a column that
        is always zero) from making the tiniest later change infinitely surprising.
        """
        s = np.asarray(statistics, dtype=float)
        s = s[np.isfinite(s)]
        if len(s) < 10:
            raise ValueError(f"calibration needs at least 10 clean steps, got {len(s)}")
        q = np.quantile(s, _LEVELS)
        q = np.maximum.accumulate(q)  # guard against rounding making the body non-monotone
        excess = s[s > q[-1]] - q[-1]
        spread = float(np.std(s)) or 1.0
        # Too few excesses to estimate a tail: fall back to a fraction of the spread.
        scale = float(excess.mean()) if len(excess) >= 3 else 0.5 * spread
        return cls(tuple(float(x) for x in q), max(scale, min_tail_scale, 1e-6 * spread, 1e-12))

    def score(self, statistic: np.ndarray | float) -> np.ndarray:
        """Scores in [0, 1] for raw statistics (NaN scores 0)."""
        s = np.nan_to_num(np.asarray(statistic, dtype=float), nan=-np.inf)
        q = np.asarray(self.quantiles)
        body = np.interp(s, q, _LEVELS, left=0.0)
        with np.errstate(over="ignore"):
            tail = 1.0 - TAIL_SHARE * np.exp(-(np.maximum(s, q[-1]) - q[-1]) / self.tail_scale)
        return np.clip(np.where(s > q[-1], tail, body), 0.0, 1.0)

    def statistic_at(self, score: float) -> float:
        """The statistic whose score is ``score`` (inverse of ``score``)."""
        q = np.asarray(self.quantiles)
        if score <= 1.0 - TAIL_SHARE:
            return float(np.interp(score, _LEVELS, q))
        return float(q[-1] + self.tail_scale * np.log(TAIL_SHARE / max(1.0 - score, 1e-300)))

    def to_dict(self) -> dict[str, Any]:
        return {"quantiles": list(self.quantiles), "tail_scale": self.tail_scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(tuple(float(x) for x in data["quantiles"]), float(data["tail_scale"]))


@dataclass(frozen=True)
class ColumnCalibration:
    """Calibrate each column's statistics, then the most surprising one of each step.

    Each column has two statistics: its standardised residual now (a burst, a spike) and
    the exponentially weighted mean of its recent signed residuals (a drift: a level
    shift too small to stand out in any single hour, which an EWMA chart would catch).
    Columns differ in their tails (complaints are rare events, so their residuals are
    spiky); calibrating each statistic first turns it into a tail probability, and the
    step's statistic is the surprise ``-log p`` of its most improbable one.
    """

    columns: tuple[Calibration, ...]  # instant statistics, then drift statistics
    log_reference: tuple[float, ...]  # mean log of each statistic on clean steps

    @classmethod
    def fit(cls, statistics: np.ndarray) -> ColumnCalibration:
        """Fit on ``residual_statistics`` of clean steps, shape (steps, 2 x columns)."""
        s = np.asarray(statistics, dtype=float)
        columns = tuple(
            Calibration.fit(s[:, j], min_tail_scale=MIN_COLUMN_TAIL) for j in range(s.shape[1])
        )
        return cls(columns, tuple(float(x) for x in log_residual(s).mean(axis=0)))

    def column_surprise(self, statistics: np.ndarray) -> np.ndarray:
        """Per statistic ``-log(tail probability)``, shape (steps, 2 x columns).

        A statistic is never more surprising than it would be from a standard normal: a
        column that never moved on the calibration steps (no complaint in those days) must
        not make its first ordinary event look impossible.
        """
        s = np.atleast_2d(np.asarray(statistics, dtype=float))
        p = np.stack([1.0 - c.score(s[:, j]) for j, c in enumerate(self.columns)], axis=1)
        p = np.maximum(p, 2.0 * ndtr(-s))
        return -np.log(np.clip(p, SMALLEST_P, 1.0))

    def score(self, statistics: np.ndarray) -> np.ndarray:
        """Scores in [0, 1] per step, from ``residual_statistics``."""
        return self.score_surprise(self.column_surprise(statistics).max(axis=1))

    def score_surprise(self, surprise: np.ndarray | float) -> np.ndarray:
        """Score of a step whose most surprising statistic has ``surprise``.

        Bonferroni over the statistics: the chance that any of ``k`` clean statistics is
        this improbable is at most ``k`` times the chance for one, so ``1 - k p`` is a
        conservative probability that clean data would look less surprising.
        """
        k = len(self.columns)
        return np.clip(1.0 - k * np.exp(-np.asarray(surprise, dtype=float)), 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.to_dict() for c in self.columns],
            "log_reference": list(self.log_reference),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnCalibration:
        columns = tuple(Calibration.from_dict(c) for c in data["columns"])
        reference = tuple(float(x) for x in data["log_reference"])
        return cls(columns, reference)


class ResidualTracker:
    """Turns a series' standardised residuals into the statistics ``ColumnCalibration``
    calibrates: per column, the residual now and its recent drift, both relative to the
    series' recent normal.

    - Centre: each residual is taken relative to the median of the previous
      ``center_window`` residuals. A burst shorter than half that window does not move the
      median; a lasting shift (executables now attached for good) does, so after a day or
      two its residuals are centred again and stop alerting. A forecaster that keeps
      expecting the old normal cannot alert for ever.
    - Drift: an EWMA (weight ``drift_smoothing``) of the centred residuals clipped at
      ``DRIFT_CLIP`` (one huge spike, alerted on its own, must not hold it up), in units
      of its standard deviation for white residuals: a level shift too small to stand out
      in any single step, the kind an EWMA chart catches.
    - Scale (with ``log_reference``): each statistic is divided by how much larger its
      recent values are than on clean data (a geometric mean over about
      ``adapt_halflife`` steps, never below 1), so a new regime's own noise, or a daily
      rhythm the forecaster has not learnt yet, becomes normal after a day or two.

    Statistics depend only on earlier residuals; the tracker keeps its state between calls.
    """

    def __init__(
        self,
        n_columns: int,
        *,
        center_window: int,
        adapt_halflife: int,
        drift_smoothing: float,
        log_reference: tuple[float, ...] | None = None,
    ) -> None:
        self.center_window = center_window
        self.drift_smoothing = drift_smoothing
        self._alpha = 1.0 - 0.5 ** (1.0 / adapt_halflife) if adapt_halflife else 0.0
        self._reference: np.ndarray | None = None
        self._log_level: np.ndarray | None = None
        if log_reference is not None:
            self._reference = np.asarray(log_reference, dtype=float)
            self._log_level = self._reference.copy()
        self._recent: deque[np.ndarray] = deque(maxlen=max(center_window, 1))
        self._drift = np.zeros(n_columns)

    def statistics(self, residuals: np.ndarray) -> np.ndarray:
        """Shape (steps, 2 x columns): absolute centred residuals, then absolute drifts."""
        r = np.atleast_2d(np.asarray(residuals, dtype=float))
        out = np.empty((len(r), 2 * r.shape[1]))
        unit = np.sqrt(self.drift_smoothing / (2.0 - self.drift_smoothing))
        for t, row in enumerate(r):
            centred = row - self._center()
            if self.center_window:
                self._recent.append(row)
            clipped = np.clip(centred, -DRIFT_CLIP, DRIFT_CLIP)
            self._drift = self.drift_smoothing * clipped + (1 - self.drift_smoothing) * self._drift
            raw = np.concatenate([np.abs(centred), np.abs(self._drift) / unit])
            out[t] = raw
            if self._log_level is not None and self._reference is not None and self._alpha:
                out[t] = raw / np.exp(np.maximum(self._log_level - self._reference, 0.0))
                self._log_level += self._alpha * (log_residual(raw) - self._log_level)
        return out

    def _center(self) -> np.ndarray | float:
        if len(self._recent) < MIN_CENTER_ROWS:
            return 0.0
        return np.median(np.stack(self._recent), axis=0)


def log_residual(residuals: np.ndarray) -> np.ndarray:
    """Log of absolute residuals, floored so that exact forecasts do not read as -inf."""
    return np.log(np.maximum(np.asarray(residuals, dtype=float), 0.1))


def alerts_from_scores(scores: np.ndarray, threshold: float, *, hold: int = 0) -> np.ndarray:
    """Alert where ``scores >= threshold``, kept on ``hold`` more steps after each firing.

    Holding bridges the quiet steps inside one incident (a level shift the forecaster has
    half absorbed) so they read as one alert, not a flicker of separate ones.
    """
    fired = np.asarray(scores) >= threshold
    if hold <= 0:
        return fired
    out = fired.copy()
    last = -(10**9)
    for t, f in enumerate(fired):
        if f:
            last = t
        elif t - last <= hold:
            out[t] = True
    return out
