"""Evaluation against the truth: a policy's expected click rate vs uniform random and oracle.

Only a simulation knows every recipient's true click rate for every variant; the caller
passes it in as ``true_click_rate(contact_id, variant)`` so this module (product code) never
imports the simulator. Each figure is the mean over recipients of the expected click rate
under a policy's (stochastic) choice:

- ``policy``: Σ_v π(v|x) · true(x, v), the learned policy as deployed (with exploration);
- ``greedy``: the same for the exploit-only policy, if given;
- ``uniform``: mean over variants (what the logged A/B/C split got);
- ``best_fixed``: the single best variant for everyone (what a classic A/B test ends with);
- ``oracle``: max over variants per recipient (an upper bound no policy can beat).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import ModelInputError


@dataclass(frozen=True)
class TruthComparison:
    """Mean true click rates per recipient under each policy."""

    policy: float
    greedy: float | None
    uniform: float
    best_fixed: float
    best_fixed_variant: str
    oracle: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        """The figures plus lifts relative to uniform random."""
        out = asdict(self)
        out["policy_lift_vs_uniform"] = self.policy / self.uniform - 1.0
        out["oracle_lift_vs_uniform"] = self.oracle / self.uniform - 1.0
        return out


def true_rate_matrix(
    contact_ids: Sequence[Any],
    variants: Sequence[str],
    true_click_rate: Callable[[Any, str], float],
) -> np.ndarray:
    """``true_click_rate`` for every contact (rows) and variant (columns)."""
    return np.array([[true_click_rate(c, v) for v in variants] for c in contact_ids], dtype=float)


def evaluate_against_truth(
    contact_ids: Sequence[Any],
    propensities: pd.DataFrame,
    true_click_rate: Callable[[Any, str], float],
    greedy: pd.DataFrame | None = None,
) -> TruthComparison:
    """Compare a policy (rows of ``propensities`` align with ``contact_ids``; columns are
    the variants, rows sum to 1) with uniform random, the best fixed variant and the oracle."""
    variants = [str(v) for v in propensities.columns]
    probs = propensities.to_numpy(dtype=float)
    if len(probs) != len(contact_ids) or len(probs) == 0:
        raise ModelInputError("propensities need one row per contact (and at least one)")
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-6):
        raise ModelInputError("propensities must sum to 1 across variants")
    truth = true_rate_matrix(contact_ids, variants, true_click_rate)
    column_means = truth.mean(axis=0)
    greedy_value = None
    if greedy is not None:
        greedy_value = float((greedy[variants].to_numpy(dtype=float) * truth).sum(axis=1).mean())
    return TruthComparison(
        policy=float((probs * truth).sum(axis=1).mean()),
        greedy=greedy_value,
        uniform=float(column_means.mean()),
        best_fixed=float(column_means.max()),
        best_fixed_variant=variants[int(column_means.argmax())],
        oracle=float(truth.max(axis=1).mean()),
        n=len(probs),
    )
