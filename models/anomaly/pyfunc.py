"""The MLflow wrapper: a trained anomaly model as an ``mlflow.pyfunc.PythonModel``.

The wrapper holds plain data only (the config as a dict, the forecaster's weights as numpy
arrays, the calibration as a dict), so MLflow pickles numbers, not torch modules, and the
model is rebuilt on first use. ``predict`` takes what ``train`` took: one series (a
timestamp column or index plus numeric columns), one sender's mart rows, or the mart with
``org_id`` / ``sending_domain`` keys (scored per sender). Every series is scored in
streaming order from its own first row; its first ``warmup_steps`` rows only teach the
scorer the series' scale and score 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModel

from .features import SENDER_KEYS, split_senders
from .model import AnomalyModel

OUTPUT_COLUMNS = ("timestamp", "anomaly_score", "is_alert", "threshold")


class AnomalyPyfunc(PythonModel):
    """``predict`` returns ``timestamp, anomaly_score, is_alert, threshold`` (plus the sender
    keys); ``threshold`` is the calibrated alert threshold the score was compared with."""

    def __init__(self, model: AnomalyModel) -> None:
        data = model.to_dict()
        self.config: dict[str, Any] = data["config"]
        self.state: dict[str, np.ndarray] = {k: v.copy() for k, v in model.state.items()}
        self.calibration: dict[str, Any] = data["calibration"]
        self._model: AnomalyModel | None = model

    def __getstate__(self) -> dict[str, Any]:
        # Pickle the plain data only; the model object is rebuilt after loading.
        state = dict(self.__dict__)
        state["_model"] = None
        return state

    def load_context(self, context: Any) -> None:
        self._model = None

    @property
    def model(self) -> AnomalyModel:
        if self._model is None:
            self._model = AnomalyModel.from_dict(
                {"config": self.config, "state": self.state, "calibration": self.calibration}
            )
        return self._model

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Streaming scores for every series in ``model_input``, oldest row first."""
        frames = []
        for key, part in split_senders(model_input).items():
            scored = self.model.score(part).rename_axis("timestamp").reset_index()
            scored["threshold"] = self.model.threshold
            for name, value in zip(SENDER_KEYS, key, strict=False):
                scored.insert(0, name, value)
            frames.append(scored)
        keys = [k for k in SENDER_KEYS if k in model_input.columns]
        columns = [*keys, *OUTPUT_COLUMNS]
        if not frames:
            return pd.DataFrame(columns=columns)
        out = pd.concat(frames, ignore_index=True)
        return out[[k for k in SENDER_KEYS if k in out.columns] + list(OUTPUT_COLUMNS)]
