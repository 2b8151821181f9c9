"""The MLflow pyfunc wrapper: recipient features + ``day`` in, best send hours out.

lifelines has no MLflow flavour, so the model travels as a ``PythonModel`` whose attributes
hold the fitted ``SendTimeModel`` (numpy arrays and small dataclasses); MLflow's cloudpickle
saves it with the run and ``predict`` needs nothing else.

Input: rows of ``marts.recipient_engagement_features`` (of one region cell) plus ``day``, the
local date to schedule (date, datetime or ISO string). MLflow schemas accept only naive
datetimes, so ``as_of`` is passed naive and read as UTC. Output: one row per input row, in
input order, as ``scoring.score``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModel

from .features import HOURS
from .recipients import HOURS_PER_WEEK
from .scoring import FEATURE_COLUMNS, SCORE_COLUMNS, score

if TYPE_CHECKING:
    from .model import SendTimeModel

EXAMPLE_ROWS = 3


class SendTimePyfunc(PythonModel):
    """``predict(features + 'day') -> contact_id, best_hour_utc, best_local_hour,
    open_probability_24h, fallback, model_version`` (see ``scoring.score``)."""

    def __init__(self, model: SendTimeModel) -> None:
        self.model = model

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score each row on its own ``day`` (a date, datetime or ISO string column)."""
        if "day" not in model_input.columns:
            raise ValueError("model_input needs a 'day' column (the local date to schedule)")
        frame = model_input.reset_index(drop=True)
        days = pd.to_datetime(frame["day"]).dt.date
        parts = []
        for day, group in frame.groupby(days, sort=True):
            part = score(self.model, group, day)
            part.index = group.index
            parts.append(part)
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in SCORE_COLUMNS})
        return pd.concat(parts).sort_index().reset_index(drop=True)


def input_example(training: pd.DataFrame, model: SendTimeModel) -> pd.DataFrame:
    """A few rows shaped like ``marts.recipient_engagement_features`` plus ``day``, built from
    the latest training rows of some contacts (their opens spread over Monday's hours)."""
    latest = training.sort_values("delivered_at").groupby("contact_id").tail(1)
    latest = latest.sort_values("prior_opens", ascending=False).head(EXAMPLE_ROWS)
    k = model.prior_strength
    rows = []
    for row in latest.itertuples(index=False):
        n = float(row.prior_opens)
        counts = np.rint(np.asarray(row.prior_open_hour_histogram) * (n + k) - k / HOURS)
        weekly = np.zeros(HOURS_PER_WEEK)
        weekly[:HOURS] = np.clip(counts, 0.0, None)
        rows.append(
            {
                "contact_id": str(row.contact_id),
                "mailbox_provider": row.mailbox_provider,
                "time_zone": row.time_zone,
                "device": row.prior_device,
                "delivered_90d": int(row.prior_delivered),
                "open_rate_90d": float(row.prior_opens) / max(float(row.prior_delivered), 1.0),
                "hours_since_last_open": float(row.hours_since_last_prior_open)
                if pd.notna(row.hours_since_last_prior_open)
                else None,
                "opens_in_histogram": int(weekly.sum()),
                "open_hour_of_week_histogram": (
                    (weekly + k * model.population) / (weekly.sum() + k)
                )
                .astype(float)
                .tolist(),
                # MLflow schemas take only naive datetimes: naive means UTC here.
                "as_of": pd.Timestamp(row.delivered_at).tz_convert("UTC").tz_localize(None),
                "day": (pd.Timestamp(row.delivered_at) + pd.Timedelta(days=1)).date().isoformat(),
            }
        )
    return pd.DataFrame(rows, columns=[*FEATURE_COLUMNS, "as_of", "day"])
