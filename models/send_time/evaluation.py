"""Send-time evaluation against a ground truth of open probabilities.

Given the model's scores for recipients not used in training and a callable giving the
true P(open within 24 h | send at a UTC instant) for a recipient, compare the mean true
24-hour open rate of these policies over the same 24 local slots of ``day``:

(a) the model's best hour;
(b) one fixed hour for everyone, the best on training recipients: a local hour (everyone
    at, say, 18:00 their time), and (b') a UTC hour (one send time for the whole list);
(c) each recipient's most frequent past open hour (the fixed local hour without opens);
(d) a random hour (the exact expectation: the mean over the 24 slots);
(e) the oracle (the best slot under the truth).

Reported: each rate, the uplifts over (b) and the share of the oracle's uplift ``(e - b)``
that the model captures (also against (b')). Nothing here imports the simulator: the truth
comes in as a callable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from .features import HOURS
from .recipients import local_day_slots, modal_open_hour, open_hour_counts, population_histogram

TrueProbability = Callable[[Any, datetime], float]
_NS_PER_HOUR = 3_600_000_000_000


@dataclass(frozen=True)
class SendTimeEvaluation:
    """Mean true 24-hour open rates of the policies, over ``n_recipients``."""

    n_recipients: int
    fixed_local_hour: int
    fixed_utc_hour: int
    model: float
    fixed_local: float
    fixed_utc: float
    modal_hour: float
    random_hour: float
    oracle: float

    @staticmethod
    def _share(gain: float, room: float) -> float:
        return gain / room if room > 0 else float("nan")

    @property
    def share_of_oracle_uplift(self) -> float:
        """(a - b) / (e - b) with the fixed local hour: 1 is the oracle, 0 the fixed hour."""
        return self._share(self.model - self.fixed_local, self.oracle - self.fixed_local)

    @property
    def share_of_oracle_uplift_utc(self) -> float:
        """(a - b') / (e - b') with the fixed UTC hour as the baseline."""
        return self._share(self.model - self.fixed_utc, self.oracle - self.fixed_utc)

    def as_metrics(self) -> dict[str, float]:
        """Flat name -> value, e.g. for MLflow metrics or a benchmark's JSON."""
        out = {f"truth_{k}": float(v) for k, v in asdict(self).items()}
        for name in ("model", "modal_hour", "random_hour", "oracle"):
            out[f"truth_{name}_uplift"] = getattr(self, name) - self.fixed_local
        out["truth_share_of_oracle_uplift"] = self.share_of_oracle_uplift
        out["truth_share_of_oracle_uplift_utc"] = self.share_of_oracle_uplift_utc
        out["truth_modal_share_of_oracle_uplift"] = self._share(
            self.modal_hour - self.fixed_local, self.oracle - self.fixed_local
        )
        return out


def evaluation_recipients(
    features: pd.DataFrame, population: np.ndarray | None = None
) -> pd.DataFrame:
    """``contact_id``, ``time_zone`` and ``modal_open_hour`` (-1 without opens) from rows of
    ``marts.recipient_engagement_features`` of one cell."""
    population = population_histogram(features) if population is None else population
    if population is None:
        raise ValueError("no population histogram: pass one or include a contact without opens")
    counts = open_hour_counts(features, population)
    return pd.DataFrame(
        {
            "contact_id": features["contact_id"].to_numpy(),
            "time_zone": features["time_zone"].to_numpy(),
            "modal_open_hour": modal_open_hour(counts),
        }
    )


def true_slot_probabilities(
    contact_ids: Iterable[Any], time_zones: pd.Series, day: date, truth: TrueProbability
) -> np.ndarray:
    """``(n, 24)`` true probabilities of sending at the local hours 0..23 of ``day``."""
    slots = local_day_slots(time_zones.reset_index(drop=True), day)
    out = np.empty(slots.shape)
    for i, contact_id in enumerate(contact_ids):
        for hour in range(HOURS):
            out[i, hour] = truth(contact_id, datetime.fromtimestamp(slots[i, hour] / 1e9, UTC))
    return out


def utc_hour_columns(time_zones: pd.Series, day: date) -> np.ndarray:
    """``(n, 24)``: for each UTC hour, the index of the local slot starting in that hour
    (the nearest slot when a DST change leaves none)."""
    slots = local_day_slots(time_zones.reset_index(drop=True), day)
    utc_hour = (slots // _NS_PER_HOUR) % HOURS
    distance = np.abs(utc_hour[:, None, :] - np.arange(HOURS)[None, :, None])
    distance = np.minimum(distance, HOURS - distance)
    return distance.argmin(axis=2)


def best_fixed_local_hour(truth: np.ndarray) -> int:
    """The local hour with the highest mean true rate over the given (training) recipients."""
    return int(truth.mean(axis=0).argmax())


def best_fixed_utc_hour(truth: np.ndarray, time_zones: pd.Series, day: date) -> int:
    """The UTC hour with the highest mean true rate over the given (training) recipients."""
    columns = utc_hour_columns(time_zones, day)
    return int(np.take_along_axis(truth, columns, axis=1).mean(axis=0).argmax())


def evaluate_send_times(
    scores: pd.DataFrame,
    true_probability: TrueProbability,
    *,
    recipients: pd.DataFrame,
    day: date,
    fixed_local_hour: int,
    fixed_utc_hour: int,
    truth: np.ndarray | None = None,
) -> SendTimeEvaluation:
    """Compare the model's hours in ``scores`` (from ``scoring.score`` for ``day``) with the
    reference policies, on the recipients of ``recipients`` (see ``evaluation_recipients``).

    ``truth`` may pass precomputed ``true_slot_probabilities`` in the order of ``recipients``
    (``true_probability`` is then not called).
    """
    merged = recipients[["contact_id", "time_zone", "modal_open_hour"]].merge(
        scores[["contact_id", "best_local_hour"]], on="contact_id", how="inner", validate="1:1"
    )
    if merged.empty:
        raise ValueError("no scored recipient among the evaluation recipients")
    if truth is None:
        truth = true_slot_probabilities(
            merged["contact_id"], merged["time_zone"], day, true_probability
        )
    else:
        truth = truth[pd.Index(recipients["contact_id"]).get_indexer(merged["contact_id"])]
    rows = np.arange(len(merged))
    modal = merged["modal_open_hour"].fillna(-1).to_numpy(np.int64)
    modal = np.where(modal < 0, fixed_local_hour, modal)
    utc_slot = utc_hour_columns(merged["time_zone"], day)[:, fixed_utc_hour]
    return SendTimeEvaluation(
        n_recipients=len(merged),
        fixed_local_hour=int(fixed_local_hour),
        fixed_utc_hour=int(fixed_utc_hour),
        model=float(truth[rows, merged["best_local_hour"].to_numpy(np.int64)].mean()),
        fixed_local=float(truth[:, fixed_local_hour].mean()),
        fixed_utc=float(truth[rows, utc_slot].mean()),
        modal_hour=float(truth[rows, modal].mean()),
        random_hour=float(truth.mean()),
        oracle=float(truth.max(axis=1).mean()),
    )
