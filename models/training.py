"""What every model's training returns, so one piece of MLflow glue can track them all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class TrainingResult:
    """A trained model ready to be logged as one MLflow run.

    ``python_model`` is an ``mlflow.pyfunc.PythonModel`` whose ``predict`` takes a DataFrame
    like ``input_example``; ``validation_metric`` names the entry of ``metrics`` that decides
    promotion (higher is better unless ``higher_is_better`` is False).
    """

    python_model: Any
    input_example: pd.DataFrame
    params: dict[str, Any]
    metrics: dict[str, float]
    validation_metric: str
    higher_is_better: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> local file path

    @property
    def score(self) -> float:
        return self.metrics[self.validation_metric]
