"""Streaming scoring: one row in, one score out, using only the rows seen so far.

``StreamingScorer`` walks a series row by row. During the first ``warmup_steps`` rows it
only learns (each score is 0): it collects the rows and, at the end of the warm-up, fits the
series' own ``RobustScaler``. After that each row is compared with the LSTM's forecast from
the rows before it; each column's standardised residual, now and smoothed over the last
steps (a drift), becomes a tail probability (``ColumnCalibration``), and the step's score is
a Bonferroni bound over them that clean data would look less surprising, in [0, 1]. It
alerts at ``1 - false_alarm_rate``.

``update`` takes one row; ``score_frame`` takes many and batches the forecasts. Both give
bit-identical scores: forecasts are always computed in blocks of ``BLOCK`` samples aligned
on the row's position in the series (padded when a block is incomplete), so a row's numbers
never depend on how many rows came with it. That is what makes the scores of a prefix
exactly the first scores of the whole series.

Optionally (``finetune_every``) the scorer keeps adapting the forecaster to its series:
every so many steps it trains one pass on recent windows whose target did not alert, so
incidents are not learned as normal. Fine-tuning scorers score row by row.
"""

from __future__ import annotations

import copy
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import network
from .features import RobustScaler, calendar_features, carry_forward

if TYPE_CHECKING:
    from .model import AnomalyModel

FINETUNE_HISTORY = 24 * 14
BLOCK = 64


def signed_residuals(target: np.ndarray, mean: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Standardised residuals per column (a missing value counts 0)."""
    return np.nan_to_num((target - mean) / sigma, nan=0.0, posinf=1e6, neginf=-1e6)


class StreamingScorer:
    """Scores one series in time order; create one per series (it learns that series' scale)."""

    def __init__(self, model: AnomalyModel, *, finetune_every: int | None = None) -> None:
        self.model = model
        self.config = c = model.config
        self.finetune_every = finetune_every
        self._net = model.network()
        if finetune_every:
            self._net = copy.deepcopy(self._net)  # adapting must not alter the shared model
        self._threshold = 1.0 - c.false_alarm_rate
        self._warmup_rows: list[np.ndarray] = []
        self._warmup_calendar: list[np.ndarray] = []
        self._scaler: RobustScaler | None = None
        # The context and one season before the window, plus history to fine-tune on.
        keep = max(c.context, c.seasonal_lag + c.window)
        keep += FINETUNE_HISTORY if finetune_every else 0
        self._values: deque[np.ndarray] = deque(maxlen=keep)
        self._seasonal: deque[np.ndarray] = deque(maxlen=keep)
        self._calendar: deque[np.ndarray] = deque(maxlen=keep)
        self._alerted: deque[bool] = deque(maxlen=keep)
        self._steps = 0
        self._last_fired = -(10**9)
        self._tracker = model.residual_tracker()
        self.is_alert = False
        self.last_score = 0.0
        # Per column, how improbable its last value was (-log tail probability).
        self.last_surprise = np.zeros(len(c.columns))

    @property
    def warming_up(self) -> bool:
        return self._scaler is None

    def update(self, timestamp: pd.Timestamp, row: np.ndarray | pd.Series) -> float:
        """Take the row at ``timestamp`` (the model's columns, in order); return its score."""
        values = np.asarray(row, dtype=float).reshape(1, -1)
        if values.shape[1] != len(self.config.columns):
            raise ValueError(f"expected {len(self.config.columns)} values, got {values.shape[1]}")
        calendar = calendar_features(pd.DatetimeIndex([pd.Timestamp(timestamp)]))
        with network.torch_threads(self.config.num_threads):
            return float(self._feed(values, calendar)[0][0])

    def score_frame(self, frame: pd.DataFrame, *, explain: bool = False) -> pd.DataFrame:
        """Feed every row of a time-indexed numeric frame; ``anomaly_score`` and ``is_alert``.

        With ``explain``, also ``top_feature``: the column whose residual (or, suffixed
        ``:drift``, whose recent drift) was the most improbable ("" during the warm-up).
        """
        missing = [c for c in self.config.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks the model's columns: {', '.join(missing)}")
        values = frame[list(self.config.columns)].to_numpy(dtype=float)
        calendar = calendar_features(pd.DatetimeIndex(frame.index))
        with network.torch_threads(self.config.num_threads):
            if self.finetune_every:
                parts = [
                    self._feed(values[i : i + 1], calendar[i : i + 1]) for i in range(len(values))
                ]
                scores, alerts, top = (
                    np.concatenate([p[k] for p in parts]) if parts else np.zeros(0, int)
                    for k in range(3)
                )
            else:
                scores, alerts, top = self._feed(values, calendar)
        out = pd.DataFrame({"anomaly_score": scores, "is_alert": alerts}, index=frame.index)
        if explain:
            names = np.array(
                ["", *self.config.columns, *(f"{c}:drift" for c in self.config.columns)]
            )
            out["top_feature"] = names[np.asarray(top, dtype=int) + 1]
        return out

    def _feed(
        self, values: np.ndarray, calendar: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scores, alerts and most surprising statistic (-1: warm-up) for consecutive rows."""
        n = len(values)
        scores, alerts, top = np.zeros(n), np.zeros(n, dtype=bool), np.full(n, -1)
        i = 0
        while i < n and self._scaler is None:
            self._learn(values[i], calendar[i])
            i += 1
        if i < n:
            scores[i:], alerts[i:], top[i:] = self._score(values[i:], calendar[i:])
        elif n:
            self.is_alert, self.last_score = False, 0.0
            self.last_surprise = np.zeros(len(self.config.columns))
        return scores, alerts, top

    def _score(
        self, values: np.ndarray, calendar: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        assert self._scaler is not None
        z = self._scaler.transform(values)
        remembered = carry_forward(z, self._values[-1])
        # A row's seasonal inputs are at least a season old: within a part of at most one
        # season, none depends on whether an earlier row of the same part alerted.
        step = self.config.seasonal_lag or len(z)
        parts = [
            self._score_part(z[i : i + step], remembered[i : i + step], calendar[i : i + step])
            for i in range(0, len(z), step)
        ]
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]

    def _score_part(
        self, z: np.ndarray, remembered: np.ndarray, calendar: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = self.config
        history = np.stack(self._values)
        samples = network.windows(
            np.concatenate([history, remembered]),
            np.concatenate([np.stack(self._calendar), calendar]),
            c.context,
            c.window,
            c.seasonal_lag,
            seasonal=np.concatenate([np.stack(self._seasonal), remembered]),
        ).select(slice(len(history) - c.context, None))
        mean, sigma = self._forecast(samples, first=self._steps)
        statistics = self._tracker.statistics(signed_residuals(z, mean, sigma))
        surprise = self.model.calibration.column_surprise(statistics)
        scores = self.model.calibration.score_surprise(surprise.max(axis=1))
        alerts = np.zeros(len(scores), dtype=bool)
        for k, score in enumerate(scores):
            self._steps += 1
            fired = bool(score >= self._threshold)
            if fired:
                self._last_fired = self._steps
            alerts[k] = self._steps - self._last_fired <= c.alert_hold
            self._values.append(remembered[k])
            # Next season this row is remembered as expected, not as the incident it was.
            self._seasonal.append(mean[k].astype(float) if fired else remembered[k])
            self._calendar.append(calendar[k])
            self._alerted.append(fired)
            if self.finetune_every and self._steps % self.finetune_every == 0:
                self._finetune()
        self.is_alert, self.last_score = bool(alerts[-1]), float(scores[-1])
        width = len(c.columns)
        self.last_surprise = np.maximum(surprise[-1, :width], surprise[-1, width:])
        return scores, alerts, surprise.argmax(axis=1)

    def _forecast(self, samples: network.Samples, *, first: int) -> tuple[np.ndarray, np.ndarray]:
        """Forecasts for samples at rows ``first``, ``first + 1``, ... in aligned blocks."""
        n = len(samples.target)
        mean = np.empty(samples.target.shape, np.float32)
        sigma = np.empty(samples.target.shape, np.float32)
        k = 0
        while k < n:
            offset = (first + k) % BLOCK
            take = min(BLOCK - offset, n - k)
            # Pad with copies of the first sample so the block always has BLOCK rows.
            rows = np.full(BLOCK, k)
            rows[offset : offset + take] = np.arange(k, k + take)
            m, s = network.predict(self._net, samples.select(rows))
            mean[k : k + take], sigma[k : k + take] = (
                m[offset : offset + take],
                s[offset : offset + take],
            )
            k += take
        return mean, sigma

    def _learn(self, values: np.ndarray, calendar: np.ndarray) -> None:
        self._steps += 1
        self._warmup_rows.append(values)
        self._warmup_calendar.append(calendar)
        self.is_alert, self.last_score = False, 0.0
        if len(self._warmup_rows) < self.config.warmup_steps:
            return
        raw = np.stack(self._warmup_rows)
        self._scaler = RobustScaler.fit(raw, np.asarray(self.config.min_scales))
        z = carry_forward(self._scaler.transform(raw))
        for zi, ci in zip(z, self._warmup_calendar, strict=True):
            self._values.append(zi)
            self._seasonal.append(zi)
            self._calendar.append(ci)
            self._alerted.append(False)
        self._warmup_rows, self._warmup_calendar = [], []

    def _finetune(self) -> None:
        c = self.config
        samples = network.windows(
            np.stack(self._values),
            np.stack(self._calendar),
            c.context,
            c.window,
            c.seasonal_lag,
            seasonal=np.stack(self._seasonal),
        )
        clean = ~np.asarray(self._alerted, dtype=bool)[c.context :]
        if clean.sum() >= 16:
            network.fit(
                self._net, samples.select(clean), epochs=1, seed=c.seed + self._steps, lr=3e-4
            )
