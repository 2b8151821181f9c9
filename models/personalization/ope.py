"""Off-policy evaluation: a target policy's click rate estimated from another policy's logs.

For logged exposures ``i`` (context ``x_i``, variant ``a_i`` chosen with logged propensity
``μ_i``, reward ``r_i`` = clicked) and a target policy ``π``, with ``w_i = π(a_i|x_i) / μ_i``:

- IPS:  mean(w_i r_i), unbiased whenever μ_i > 0 wherever π puts mass;
- SNIPS: Σ w_i r_i / Σ w_i, self-normalised: slightly biased, much less variance;
- DR:   mean(Σ_a π(a|x_i) q̂(x_i,a) + w_i (r_i - q̂(x_i,a_i))), unbiased if either the
  propensities or the reward model ``q̂`` are right, and lower variance than IPS when ``q̂``
  is decent. ``q̂`` must not have been fitted on the rows being evaluated (cross-fit it),
  or its errors correlate with the residuals.

Confidence intervals are percentile bootstraps. Exposures of one recipient are correlated
(the same person clicks or not), so ``groups`` (e.g. contact ids) resamples whole groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .errors import ModelInputError

_BOOT_BATCH = 50  # bootstrap replicates per batch: bounds memory at batch x groups


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap confidence interval."""

    method: str
    value: float
    ci_low: float
    ci_high: float
    n: int

    def as_metrics(self, name: str) -> dict[str, float]:
        """``{name: value, name_ci_low: ..., name_ci_high: ...}`` for MLflow."""
        return {name: self.value, f"{name}_ci_low": self.ci_low, f"{name}_ci_high": self.ci_high}


def on_policy(
    rewards: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | None = None,
) -> Estimate:
    """The logging policy's own value: the mean reward, with its bootstrap interval."""
    r = _floats(rewards)
    return _ratio("on_policy", r, np.ones_like(r), groups, n_boot, confidence, rng)


def ips(
    rewards: ArrayLike,
    logged_propensity: ArrayLike,
    target_propensity: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | None = None,
) -> Estimate:
    """Inverse propensity scoring; ``target_propensity`` is π(a_i | x_i) of the logged a_i."""
    r, w = _weights(rewards, logged_propensity, target_propensity)
    return _ratio("ips", w * r, np.ones_like(r), groups, n_boot, confidence, rng)


def snips(
    rewards: ArrayLike,
    logged_propensity: ArrayLike,
    target_propensity: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | None = None,
) -> Estimate:
    """Self-normalised IPS: Σ w r / Σ w."""
    r, w = _weights(rewards, logged_propensity, target_propensity)
    return _ratio("snips", w * r, w, groups, n_boot, confidence, rng)


def doubly_robust(
    rewards: ArrayLike,
    logged_propensity: ArrayLike,
    target_propensity: ArrayLike,
    q_logged: ArrayLike,
    q_target: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | None = None,
) -> Estimate:
    """Doubly robust: ``q_logged`` = q̂(x_i, a_i), ``q_target`` = Σ_a π(a|x_i) q̂(x_i, a)."""
    r, w = _weights(rewards, logged_propensity, target_propensity)
    q_a, q_pi = _floats(q_logged), _floats(q_target)
    if len(q_a) != len(r) or len(q_pi) != len(r):
        raise ModelInputError("reward-model predictions differ in length from the rewards")
    terms = q_pi + w * (r - q_a)
    return _ratio("dr", terms, np.ones_like(r), groups, n_boot, confidence, rng)


def _floats(values: ArrayLike) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64)
    if out.ndim != 1 or not np.isfinite(out).all():
        raise ModelInputError("estimator inputs must be finite one-dimensional arrays")
    return out


def _weights(
    rewards: ArrayLike, logged: ArrayLike, target: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    r, mu, pi = _floats(rewards), _floats(logged), _floats(target)
    if not len(r) == len(mu) == len(pi) or len(r) == 0:
        raise ModelInputError("rewards and propensities must be non-empty and equally long")
    if (mu <= 0).any() or (mu > 1).any() or (pi < 0).any() or (pi > 1).any():
        raise ModelInputError("propensities must lie in (0, 1] (logged) and [0, 1] (target)")
    return r, pi / mu


def _ratio(
    method: str,
    numerator: np.ndarray,
    denominator: np.ndarray,
    groups: ArrayLike | None,
    n_boot: int,
    confidence: float,
    rng: np.random.Generator | None,
) -> Estimate:
    """Σ numerator / Σ denominator with a (group) bootstrap percentile interval."""
    rng = rng if rng is not None else np.random.default_rng(0)
    if groups is None:
        num, den = numerator, denominator
    else:
        _, codes = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
        num = np.bincount(codes, weights=numerator)
        den = np.bincount(codes, weights=denominator)
    value = float(num.sum() / den.sum()) if den.sum() > 0 else float("nan")
    stats = []
    n = len(num)
    for lo in range(0, n_boot, _BOOT_BATCH):
        size = min(_BOOT_BATCH, n_boot - lo)
        picks = rng.integers(0, n, size=(size, n))  # resample units with replacement
        d = den[picks].sum(axis=1)
        stats.append(np.divide(num[picks].sum(axis=1), d, out=np.full(size, np.nan), where=d > 0))
    boot = np.concatenate(stats) if stats else np.array([value])
    boot = boot[np.isfinite(boot)]
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(boot, [tail, 100.0 - tail]) if len(boot) else (value, value)
    return Estimate(method, value, float(low), float(high), int(len(numerator)))
