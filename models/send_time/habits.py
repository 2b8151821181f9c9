"""Open-hour habits: a mixture of multinomials over the 24 local hours of first opens.

People read mail on a few typical rhythms (early risers, office hours, lunch, evenings on
the phone). A recipient with two or three opens says little on their own, but enough to
tell which rhythm they probably follow. The mixture is fitted by EM on the open-hour counts
of the training contacts; a recipient's *expected habit* is the posterior mix of the
classes given their own counts, which is what their histogram is smoothed toward (instead
of the population's single curve). With no opens the posterior is the class weights, i.e.
close to the population; with many opens the own counts dominate the histogram anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_CLASSES = 8
EM_ITERATIONS = 300
CURVE_PSEUDO_COUNT = 0.5  # per hour and class: no class ever rules an hour out


@dataclass(frozen=True)
class HourHabits:
    """Class weights ``(K,)`` and hour curves ``(K, 24)`` (rows sum to 1), as tuples so the
    fitted feature spec stays plain, hashable data."""

    weights: tuple[float, ...]
    curves: tuple[tuple[float, ...], ...]

    def expected_curve(self, counts: np.ndarray) -> np.ndarray:
        """Each row's posterior mix of the class curves given its counts ``(n, 24)``."""
        return _responsibilities(
            counts, np.asarray(self.weights), np.asarray(self.curves)
        ) @ np.asarray(self.curves)


def fit_hour_habits(
    counts: np.ndarray,
    classes: int = DEFAULT_CLASSES,
    *,
    iterations: int = EM_ITERATIONS,
    seed: int = 0,
) -> HourHabits | None:
    """EM for a ``classes``-component mixture of multinomials on per-contact open-hour
    ``counts`` ``(n, 24)``; contacts without opens carry no information and are skipped.
    None when fewer contacts have opens than there are classes."""
    counts = np.asarray(counts, dtype=np.float64)
    counts = counts[counts.sum(axis=1) > 0]
    if len(counts) < classes:
        return None
    rng = np.random.default_rng(seed)
    resp = rng.dirichlet(np.ones(classes), size=len(counts))
    weights = np.full(classes, 1.0 / classes)
    for _ in range(iterations):
        weights = (resp.sum(axis=0) + 1.0) / (len(counts) + classes)
        curves = resp.T @ counts + CURVE_PSEUDO_COUNT
        curves /= curves.sum(axis=1, keepdims=True)
        resp = _responsibilities(counts, weights, curves)
    order = np.argsort(-weights)  # a stable presentation: the largest class first
    return HourHabits(
        weights=tuple(weights[order].tolist()),
        curves=tuple(tuple(row) for row in curves[order].tolist()),
    )


def _responsibilities(counts: np.ndarray, weights: np.ndarray, curves: np.ndarray) -> np.ndarray:
    log_p = counts @ np.log(curves).T + np.log(weights)[None, :]
    log_p -= log_p.max(axis=1, keepdims=True)
    p = np.exp(log_p)
    return p / p.sum(axis=1, keepdims=True)
