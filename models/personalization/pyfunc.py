"""The MLflow pyfunc wrapper serving and delivery load: recipient features in, choices out.

``predict`` takes one row per recipient with the columns of
``marts.recipient_engagement_features`` (at least ``contact_id``; missing feature columns
are imputed like missing values) and optionally ``variants``: the options offered for that
row, as a list or a comma-separated string ("A,B,C"); without it the variants seen in
training are offered. It returns ``contact_id``, ``variant`` and ``probability`` (the
propensity to log with the exposure), in input order. ``params={"seed": n}`` makes the draws
reproducible; otherwise every call draws fresh randomness, as a live policy must.

The fitted bandit is an attribute, so MLflow's cloudpickle of the instance carries it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModel

from .bandit import ContextualBandit
from .errors import ModelInputError


class PersonalizationPyfunc(PythonModel):
    """Floored Thompson sampling over a template slot's variants, per recipient."""

    def __init__(self, bandit: ContextualBandit, default_variants: tuple[str, ...]) -> None:
        self.bandit = bandit
        self.default_variants = tuple(default_variants)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """One chosen variant and its propensity per input row (see the module docstring)."""
        frame = pd.DataFrame(model_input).reset_index(drop=True)
        if "contact_id" not in frame:
            raise ModelInputError("model input lacks contact_id", columns=["contact_id"])
        seed = (params or {}).get("seed")
        rng = np.random.default_rng(None if seed is None else int(seed))
        offered = [self._variants_of(value) for value in self._variant_column(frame)]
        out = pd.DataFrame(
            {
                "contact_id": frame["contact_id"],
                "variant": pd.Series([None] * len(frame), dtype=object),
                "probability": np.nan,
            }
        )
        for variants in dict.fromkeys(offered):  # distinct option sets, first-seen order
            rows = np.flatnonzero([o == variants for o in offered])
            chosen = self.bandit.choose(frame.iloc[rows], variants, rng)
            out.loc[rows, "variant"] = chosen["variant"].to_numpy()
            out.loc[rows, "probability"] = chosen["probability"].to_numpy()
        return out

    def _variant_column(self, frame: pd.DataFrame) -> list[Any]:
        if "variants" not in frame:
            return [None] * len(frame)
        return frame["variants"].tolist()

    def _variants_of(self, value: Any) -> tuple[str, ...]:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return self.default_variants
        if isinstance(value, str):
            parts = tuple(p.strip() for p in value.split(",") if p.strip())
        else:
            parts = tuple(str(p) for p in value)
        if not parts or len(set(parts)) != len(parts):
            raise ModelInputError(f"variants must be non-empty and unique, got {value!r}")
        return parts
