"""When to stop experimenting: a Bayesian stopping rule over per-variant click rates.

Each variant's click rate gets a Beta(1 + clicks, 1 + exposures - clicks) posterior. From
Monte Carlo draws of all of them at once:

- ``prob_best[v]``: the share of draws in which ``v`` has the highest rate;
- the expected loss of declaring the leader ``b`` the winner (Google's "value remaining"):
  E[max_v θ_v - θ_b], the click rate still given up on average if ``b`` is not the best,
  reported relative to E[θ_b].

Stop when ``prob_best[b] >= 0.95`` and the relative expected loss is under 1%: the winner is
very probably the best and, if it is not, the runner-up is worth almost nothing more. The
loss criterion alone would stop on a tie once the rates are known precisely (nothing left
to gain); the probability criterion keeps a true tie running, since no variant reaches 95%
(capping an experiment's length is the caller's business).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import ModelInputError


@dataclass(frozen=True)
class StoppingDecision:
    """The verdict and the figures behind it."""

    stop: bool
    best: str
    prob_best: dict[str, float]
    expected_loss: float  # absolute click-rate units
    relative_expected_loss: float  # expected_loss / E[rate of best]
    posterior_mean: dict[str, float]


def stopping_decision(
    clicks: Mapping[str, float],
    exposures: Mapping[str, float],
    *,
    prob_threshold: float = 0.95,
    loss_threshold: float = 0.01,
    draws: int = 20_000,
    rng: np.random.Generator | None = None,
) -> StoppingDecision:
    """Apply the rule to per-variant (possibly fractional, effective) click and exposure counts."""
    variants = sorted(exposures)
    if len(variants) < 2 or set(clicks) - set(variants):
        raise ModelInputError("the stopping rule needs exposures for at least two variants")
    n = np.array([float(exposures[v]) for v in variants])
    c = np.array([float(clicks.get(v, 0.0)) for v in variants])
    if (n < 0).any() or (c < 0).any() or (c > n).any():
        raise ModelInputError("clicks must lie between 0 and exposures")
    rng = rng if rng is not None else np.random.default_rng(0)
    theta = rng.beta(1.0 + c, 1.0 + n - c, size=(draws, len(variants)))
    winners = np.bincount(theta.argmax(axis=1), minlength=len(variants)) / draws
    best = int(winners.argmax())
    loss = float((theta.max(axis=1) - theta[:, best]).mean())
    mean_best = float(theta[:, best].mean())
    relative = loss / mean_best if mean_best > 0 else float("inf")
    return StoppingDecision(
        stop=bool(winners[best] >= prob_threshold and relative < loss_threshold),
        best=variants[best],
        prob_best=dict(zip(variants, winners.tolist(), strict=True)),
        expected_loss=loss,
        relative_expected_loss=relative,
        posterior_mean=dict(zip(variants, ((1.0 + c) / (2.0 + n)).tolist(), strict=True)),
    )


def effective_counts(
    variants: Sequence[str], clicks: Sequence[bool], propensities: Sequence[float]
) -> tuple[dict[str, float], dict[str, float]]:
    """Per-variant (clicks, exposures) corrected for non-uniform logging.

    Under uniform assignment these are the raw counts. When a policy favoured some
    contexts for a variant, each variant's rate is the self-normalised IPS estimate
    (weights 1/propensity) and its exposures the Kish effective sample size, so the
    posterior is neither biased towards the contexts the policy chose nor overconfident.
    """
    shown = np.asarray(variants, dtype=object)
    y = np.asarray(clicks, dtype=np.float64)
    w = 1.0 / np.asarray(propensities, dtype=np.float64)
    out_clicks, out_n = {}, {}
    for v in sorted({str(x) for x in shown}):
        wv, yv = w[shown == v], y[shown == v]
        ess = wv.sum() ** 2 / (wv**2).sum()
        out_n[v] = float(ess)
        out_clicks[v] = float(ess * (wv * yv).sum() / wv.sum())
    return out_clicks, out_n
