"""Fitting lifelines survival models and reducing them to a few numbers for fast scoring.

Every model here ranks a row by one linear predictor ``x . beta``: Cox through
``S(t | x) = S0(t) ** exp((x - mean) . beta)``, the AFT models through their scale parameter.
``SurvivalPredictor`` keeps only the coefficients and the closed form of ``S(24 | x)``, so
scoring millions of (recipient, slot) pairs is a handful of numpy operations; the lifelines
fitter stays behind for diagnostics and the equivalence test.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, LogLogisticAFTFitter, WeibullAFTFitter
from lifelines.utils import concordance_index

from .features import HORIZON_HOURS

ModelKind = Literal["cox", "weibull_aft", "loglogistic_aft"]
AFT_KINDS: tuple[ModelKind, ...] = ("weibull_aft", "loglogistic_aft")
MIN_DURATION_HOURS = 1.0 / 60.0  # AFT likelihoods take log(t): an open "at delivery" is 1 min


@dataclass(frozen=True)
class SurvivalPredictor:
    """``P(T <= horizon | x)`` from a fitted model's coefficients, vectorised.

    Cox: ``1 - exp(-H0(h) * exp(lp + offset))``; Weibull AFT: ``1 - exp(-(h / lambda) ** rho)``
    with ``log lambda = lp + offset``; log-logistic AFT: ``1 - 1 / (1 + (h / alpha) ** beta)``
    with ``log alpha = lp + offset``. ``lp = x . coef`` over ``columns``.
    """

    kind: ModelKind
    columns: list[str]
    coef: np.ndarray
    offset: float
    baseline_cumulative_hazard: float = 0.0  # Cox: H0(horizon) (centred covariates)
    shape: float = 1.0  # AFT: rho (Weibull) or beta (log-logistic)
    horizon: float = HORIZON_HOURS

    def open_probability(self, lp: np.ndarray) -> np.ndarray:
        """P(first open within ``horizon`` hours) for linear predictors ``lp`` (any shape)."""
        eta = lp + self.offset
        if self.kind == "cox":
            return -np.expm1(-self.baseline_cumulative_hazard * np.exp(eta))
        log_ratio = self.shape * (np.log(self.horizon) - eta)
        if self.kind == "weibull_aft":
            return -np.expm1(-np.exp(log_ratio))
        return 1.0 / (1.0 + np.exp(-log_ratio))  # (h/a)^b / (1 + (h/a)^b)


def fit_survival(
    kind: ModelKind,
    design: pd.DataFrame,
    durations: np.ndarray,
    events: np.ndarray,
    penalizer: float,
    horizon: float = HORIZON_HOURS,
) -> tuple[SurvivalPredictor, Any, list[str]]:
    """Fit one lifelines model; returns the predictor, the fitter and any fit warnings.

    Warnings (convergence, low variance) are returned rather than raised or dropped so the
    caller can record them with the run.
    """
    frame = design.copy()
    frame["duration"] = np.clip(durations, MIN_DURATION_HOURS, None)
    frame["event"] = events.astype(bool)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "cox":
            fitter: Any = CoxPHFitter(penalizer=penalizer)
            fitter.fit(frame, duration_col="duration", event_col="event")
        else:
            cls = WeibullAFTFitter if kind == "weibull_aft" else LogLogisticAFTFitter
            fitter = cls(penalizer=penalizer)
            fitter.fit(frame, duration_col="duration", event_col="event")
    messages = sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught})
    return predictor_from_fitter(kind, fitter, list(design.columns), horizon), fitter, messages


def predictor_from_fitter(
    kind: ModelKind, fitter: Any, columns: list[str], horizon: float = HORIZON_HOURS
) -> SurvivalPredictor:
    """Read the closed-form parameters out of a fitted lifelines model."""
    if kind == "cox":
        coef = fitter.params_.loc[columns].to_numpy(np.float64)
        mean = fitter._norm_mean.loc[columns].to_numpy(np.float64)
        # lifelines interpolates the Breslow cumulative hazard linearly between event times.
        base = fitter.baseline_cumulative_hazard_
        h0 = float(np.interp(horizon, base.index.to_numpy(), base.iloc[:, 0].to_numpy()))
        return SurvivalPredictor(kind, columns, coef, -float(mean @ coef), h0, 1.0, horizon)
    scale, shape = ("lambda_", "rho_") if kind == "weibull_aft" else ("alpha_", "beta_")
    params = fitter.params_
    coef = params.loc[scale].loc[columns].to_numpy(np.float64)
    offset = float(params.loc[(scale, "Intercept")])
    shape_value = float(np.exp(params.loc[(shape, "Intercept")]))
    return SurvivalPredictor(kind, columns, coef, offset, 0.0, shape_value, horizon)


def holdout_concordance(
    predictor: SurvivalPredictor, design: pd.DataFrame, durations: np.ndarray, events: np.ndarray
) -> float:
    """Harrell's C on held-out rows, ranking by P(open within the horizon) (censoring-aware)."""
    lp = design[predictor.columns].to_numpy(np.float64) @ predictor.coef
    # concordance_index wants "higher = survives longer": the opposite of the open probability.
    return float(concordance_index(durations, -predictor.open_probability(lp), events))
