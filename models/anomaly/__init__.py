"""Anomaly detection on send and engagement series: an LSTM forecaster with calibrated scores.

Public API:

- ``train(series_df, *, warmup_steps, epochs, seed) -> TrainingResult`` (``model``): fit on
  the warm-up of one series, one sender's mart rows or the whole mart, validate afterwards;
- ``AnomalyModel`` (``model``): fit on numeric series, score, serialise;
  ``AnomalyConfig`` / ``make_config`` (``config``): its settings, chosen to suit a series;
- ``StreamingScorer`` (``scoring``): ``update(timestamp, row) -> score`` one row at a time,
  ``score_frame(frame)`` for a whole series; scores lie in [0, 1], alerts at
  ``1 - false_alarm_rate``;
- ``sender_features`` (``features``): the mart's counts as volume, rates and mixes;
- ``AnomalyPyfunc`` (``pyfunc``, imports MLflow): the MLflow wrapper;
- ``RollingZScore``, ``EwmaChart`` (``baselines``), ``evaluate_alerts`` (``evaluation``),
  ``evaluation_case`` (``synthetic``): the evaluation tooling.

``python -m models.anomaly score --input IN.csv --output OUT.csv`` scores any CSV series.
"""

from .config import AnomalyConfig, make_config
from .features import InputError, sender_features
from .model import AnomalyModel, train
from .scoring import StreamingScorer

__all__ = [
    "AnomalyConfig",
    "AnomalyModel",
    "InputError",
    "StreamingScorer",
    "make_config",
    "sender_features",
    "train",
]
