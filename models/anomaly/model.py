"""The anomaly model: an LSTM forecaster, its score calibration, and ``train``.

``AnomalyModel.fit`` learns from the warm-up rows of one or more numeric series: each
series is normalised by its own warm-up median and IQR, the forecaster trains on the first
70 % of every warm-up, and the remaining 30 % (never trained on) calibrates the score, so
that the alert threshold ``1 - false_alarm_rate`` fires on about that share of clean steps.

``train`` is the entry point for the pipelines: a DataFrame in (one sender's mart rows, the
whole mart with its ``org_id`` / ``sending_domain`` keys, or any numeric series), a
``TrainingResult`` out, with validation metrics measured after the warm-up: the false-alarm
rate on the series as given, and event F1 with incidents planted into it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from models.training import TrainingResult

from . import network
from .calibration import ColumnCalibration, ResidualTracker
from .config import AnomalyConfig, make_config
from .features import (
    CALENDAR_FEATURES,
    InputError,
    RobustScaler,
    calendar_features,
    carry_forward,
    is_sender_frame,
    numeric_frame,
    sender_features,
    split_senders,
)
from .scoring import StreamingScorer, signed_residuals


@dataclass
class AnomalyModel:
    """A fitted forecaster (weights as numpy arrays) plus its calibration."""

    config: AnomalyConfig
    state: dict[str, np.ndarray]
    calibration: ColumnCalibration
    losses: list[float] = field(default_factory=list)
    training_seconds: float = 0.0

    def network(self) -> network.Forecaster:
        """A forecaster with this model's weights, in eval mode."""
        c = self.config
        net = network.Forecaster(
            len(c.columns),
            CALENDAR_FEATURES,
            c.hidden_size,
            c.window,
            c.noise_floor,
            c.exposure_index,
        )
        net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in self.state.items()})
        return net.eval()

    def scorer(self, *, finetune_every: int | None = None) -> StreamingScorer:
        """A fresh streaming scorer for one series."""
        return StreamingScorer(self, finetune_every=finetune_every)

    def residual_tracker(self) -> ResidualTracker:
        """A fresh tracker turning one series' residuals into calibrated statistics."""
        c = self.config
        return ResidualTracker(
            len(c.columns),
            center_window=c.center_window,
            adapt_halflife=c.adapt_halflife,
            drift_smoothing=c.drift_smoothing,
            log_reference=self.calibration.log_reference,
        )

    @property
    def threshold(self) -> float:
        """Alert when the score reaches this."""
        return 1.0 - self.config.false_alarm_rate

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The numeric series this model scores, from a raw input frame of one series."""
        if self.config.features == "sender":
            return sender_features(frame)
        return numeric_frame(frame)

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Scores for one raw series (features derived as in training); time-indexed."""
        return self.scorer().score_frame(self.features(frame))

    @classmethod
    def fit(cls, series: list[pd.DataFrame], config: AnomalyConfig) -> AnomalyModel:
        """Fit on the warm-up rows of each time-indexed numeric series (same columns)."""
        started = time.perf_counter()
        ctx, w = config.context, config.window
        n_fit = int(config.warmup_steps * (1 - config.calibration_fraction))
        train_parts, calib_parts = [], []
        for frame in series:
            if len(frame) < config.warmup_steps:
                raise InputError(
                    f"a series has {len(frame)} rows, fewer than the warm-up "
                    f"({config.warmup_steps})"
                )
            warm = frame[list(config.columns)].to_numpy(dtype=float)[: config.warmup_steps]
            scaler = RobustScaler.fit(warm, np.asarray(config.min_scales))
            z = carry_forward(scaler.transform(warm))
            cal = calendar_features(pd.DatetimeIndex(frame.index[: config.warmup_steps]))
            samples = network.windows(z, cal, ctx, w, config.seasonal_lag)
            # Sample i forecasts row ctx + i: the first rows train, the rest calibrate.
            train_parts.append(samples.select(slice(0, n_fit - ctx)))
            calib_parts.append(samples.select(slice(n_fit - ctx, None)))
        train_data = _concat(train_parts)
        calib_data = _concat(calib_parts)
        torch.manual_seed(config.seed)
        with network.torch_threads(config.num_threads):
            net = network.Forecaster(
                len(config.columns),
                CALENDAR_FEATURES,
                config.hidden_size,
                w,
                config.noise_floor,
                config.exposure_index,
            )
            losses = network.fit(
                net,
                train_data,
                epochs=config.epochs,
                seed=config.seed,
                lr=config.learning_rate,
                batch_size=config.batch_size,
                weight_decay=config.weight_decay,
                validation=calib_data,
            )
            statistics = []
            for part in calib_parts:
                # Each series' drift starts at 0, as it does for its scorer after warm-up.
                mean, sigma = network.predict(net, part)
                tracker = ResidualTracker(
                    len(config.columns),
                    center_window=config.center_window,
                    adapt_halflife=0,  # no clean reference yet; the factor is 1 on clean data
                    drift_smoothing=config.drift_smoothing,
                )
                statistics.append(tracker.statistics(signed_residuals(part.target, mean, sigma)))
        calibration = ColumnCalibration.fit(np.concatenate(statistics))
        state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        return cls(config, state, calibration, losses, time.perf_counter() - started)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (config, weights as nested lists, calibration) for serialisation."""
        return {
            "config": asdict(self.config),
            "state": {k: v.tolist() for k, v in self.state.items()},
            "calibration": self.calibration.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnomalyModel:
        raw = dict(data["config"])
        raw["columns"] = tuple(raw["columns"])
        raw["min_scales"] = tuple(raw["min_scales"])
        state = {k: np.asarray(v, dtype=np.float32) for k, v in data["state"].items()}
        return cls(AnomalyConfig(**raw), state, ColumnCalibration.from_dict(data["calibration"]))


def prepare_series(frame: pd.DataFrame) -> tuple[str, dict[tuple[Any, ...], pd.DataFrame]]:
    """The feature mode and the numeric series (one per sender) of a training frame."""
    if is_sender_frame(frame):
        return "sender", {k: sender_features(v) for k, v in split_senders(frame).items()}
    return "raw", {(): numeric_frame(frame)}


def train(
    series_df: pd.DataFrame,
    *,
    warmup_steps: int | None = None,
    epochs: int = AnomalyConfig.epochs,
    seed: int = 0,
    **options: Any,
) -> TrainingResult:
    """Train the LSTM anomaly model on ``series_df`` and validate it after the warm-up.

    ``series_df`` is one numeric series (timestamp column or index), one sender's rows of
    ``marts.send_volume_timeseries``, or the whole mart (one model for all its senders,
    each normalised by its own warm-up). ``options`` are further ``AnomalyConfig`` fields
    (``false_alarm_rate``, ``hidden_size``, ...). Validation F1 plants incidents after the
    warm-up of each series (sender incidents for mart frames, spikes and shifts otherwise).
    """
    from .pyfunc import AnomalyPyfunc
    from .validation import validate

    mode, prepared = prepare_series(series_df)
    series = list(prepared.values())
    config = make_config(
        series, mode, warmup_steps=warmup_steps, epochs=epochs, seed=seed, **options
    )
    usable = [s for s in series if len(s) >= config.warmup_steps]
    if not usable:
        raise InputError(f"no series has the {config.warmup_steps} rows the warm-up needs")
    model = AnomalyModel.fit(usable, config)
    metrics = validate(model, series_df, seed=seed)
    metrics.update(
        {
            "training_seconds": round(model.training_seconds, 3),
            "final_training_loss": float(model.losses[-1]) if model.losses else float("nan"),
            "series": float(len(usable)),
        }
    )
    params = {
        k: ",".join(map(str, v)) if isinstance(v, tuple) else v for k, v in asdict(config).items()
    }
    return TrainingResult(
        python_model=AnomalyPyfunc(model),
        input_example=series_df.head(5).reset_index(drop=not _has_time_index(series_df)),
        params=params,
        metrics=metrics,
        validation_metric="validation_f1",
        higher_is_better=True,
        tags={"model": "lstm_forecaster", "features": mode},
    )


def _has_time_index(frame: pd.DataFrame) -> bool:
    return isinstance(frame.index, pd.DatetimeIndex)


def _concat(parts: list[network.Samples]) -> network.Samples:
    return network.Samples(*(np.concatenate(arrays) for arrays in zip(*parts, strict=True)))
