"""Training: Cox PH against a parametric AFT model on a time-based holdout.

Time to first human open (hours since delivery) is censored at 72 hours, or earlier at the
mart's ``as_of`` for recent sends. Both models are fitted on the earlier 80% of deliveries
(by ``delivered_at``) and compared by Harrell's concordance on the later 20%; the better one
is refitted on every row (the newest weeks matter most for a behaviour that drifts) and
becomes the champion candidate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from models.training import TrainingResult

from .cohort import MIN_PRIOR_OPENS, CohortCurves, fit_cohort_curves, opened_within_horizon
from .features import (
    CENSOR_HOURS,
    HISTOGRAM_PRIOR_STRENGTH,
    FeatureSpec,
    design_matrix,
    fit_feature_spec,
    population_open_shares,
)
from .pyfunc import SendTimePyfunc, input_example
from .survival import (
    AFT_KINDS,
    ModelKind,
    SurvivalPredictor,
    fit_survival,
    holdout_concordance,
)

REQUIRED_COLUMNS = (
    "contact_id",
    "campaign_type",
    "delivered_at",
    "time_zone",
    "local_send_hour",
    "local_send_weekday",
    "first_human_open_at",
    "hours_to_first_open",
    "opened",
    "duration_hours",
    "prior_delivered",
    "prior_opens",
    "hours_since_last_prior_open",
    "prior_open_hour_histogram",
    "prior_device",
    "mailbox_provider",
)
DEFAULT_PENALIZER = 0.01


@dataclass(frozen=True)
class SendTimeModel:
    """Everything scoring needs: the fitted predictor, the feature spec, the cohort curves
    for low-history recipients and the population histogram (to read scoring features in
    the training form). ``fitter`` is the lifelines object, kept for diagnostics only."""

    predictor: SurvivalPredictor
    spec: FeatureSpec
    cohorts: CohortCurves
    population: np.ndarray
    min_prior_opens: int = MIN_PRIOR_OPENS
    prior_strength: float = HISTOGRAM_PRIOR_STRENGTH
    fitter: Any = None

    def without_fitter(self) -> SendTimeModel:
        """A copy without the lifelines fitter: small to pickle, enough to score."""
        return replace(self, fitter=None)


def prepare_training_rows(training: pd.DataFrame) -> pd.DataFrame:
    """Mart rows fit for survival fitting: complete, with a positive censoring-aware duration."""
    missing = [c for c in REQUIRED_COLUMNS if c not in training.columns]
    if missing:
        raise ValueError(f"send_time_training rows lack columns: {missing}")
    durations = pd.to_numeric(training["duration_hours"], errors="coerce")
    rows = training.loc[durations.notna() & (durations > 0)]
    rows = rows.assign(
        opened=rows["opened"].astype(bool),
        duration_hours=durations.loc[rows.index].clip(upper=CENSOR_HOURS).astype(np.float64),
        # Database drivers may hand timestamps over as objects: make them UTC datetimes.
        delivered_at=pd.to_datetime(rows["delivered_at"], utc=True),
        first_human_open_at=pd.to_datetime(rows["first_human_open_at"], utc=True),
        hours_to_first_open=pd.to_numeric(rows["hours_to_first_open"], errors="coerce"),
        hours_since_last_prior_open=pd.to_numeric(
            rows["hours_since_last_prior_open"], errors="coerce"
        ),
    )
    return rows.sort_values("delivered_at", kind="stable").reset_index(drop=True)


def time_split(rows: pd.DataFrame, holdout_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Earlier deliveries for fitting, the latest ``holdout_fraction`` for validation."""
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError("holdout_fraction must be between 0 and 1")
    cutoff = rows["delivered_at"].quantile(1.0 - holdout_fraction)
    return rows.loc[rows["delivered_at"] <= cutoff], rows.loc[rows["delivered_at"] > cutoff]


def fit_model(
    rows: pd.DataFrame,
    kind: ModelKind,
    spec: FeatureSpec,
    penalizer: float = DEFAULT_PENALIZER,
) -> tuple[SurvivalPredictor, Any, list[str]]:
    """Fit one survival model of ``kind`` on prepared mart rows."""
    design = design_matrix(rows, spec)
    return fit_survival(
        kind,
        design,
        rows["duration_hours"].to_numpy(np.float64),
        rows["opened"].to_numpy(bool),
        penalizer,
    )


def expected_open_probability(
    predictor: SurvivalPredictor,
    rows: pd.DataFrame,
    spec: FeatureSpec,
    without_hours: np.ndarray | None = None,
) -> np.ndarray:
    """The model's P(open within 24 h) for each mart row at its own send hour (rows flagged
    in ``without_hours`` scored without their own open hours, like fallback recipients)."""
    design = design_matrix(rows, spec, without_hours)
    return predictor.open_probability(
        design[predictor.columns].to_numpy(np.float64) @ predictor.coef
    )


def calibration_24h(
    predictor: SurvivalPredictor, rows: pd.DataFrame, spec: FeatureSpec
) -> dict[str, float]:
    """Predicted vs observed 24-hour opens on rows whose 24-hour outcome is known."""
    known, opened = opened_within_horizon(rows)
    predicted = expected_open_probability(predictor, rows.loc[known], spec)
    observed = opened[known].astype(np.float64)
    return {
        "holdout_mean_p24": float(predicted.mean()) if known.any() else float("nan"),
        "holdout_observed_24h_rate": float(observed.mean()) if known.any() else float("nan"),
        "holdout_brier_24h": float(((predicted - observed) ** 2).mean())
        if known.any()
        else float("nan"),
    }


def concordance(predictor: SurvivalPredictor, rows: pd.DataFrame, spec: FeatureSpec) -> float:
    """Censoring-aware concordance of ``predictor`` on prepared mart rows."""
    return holdout_concordance(
        predictor,
        design_matrix(rows, spec),
        rows["duration_hours"].to_numpy(np.float64),
        rows["opened"].to_numpy(bool),
    )


def train(
    training: pd.DataFrame,
    *,
    holdout_fraction: float = 0.2,
    penalizer: float = DEFAULT_PENALIZER,
    aft: ModelKind = "weibull_aft",
    refit: bool = True,
    min_prior_opens: int = MIN_PRIOR_OPENS,
) -> TrainingResult:
    """Fit Cox PH and ``aft`` on ``marts.send_time_training`` rows, pick the better by
    holdout concordance and return it wrapped for MLflow.

    ``refit`` fits the chosen model again on all rows (holdout included) before wrapping it;
    the reported concordances are always those of the holdout fits.
    """
    if aft not in AFT_KINDS:
        raise ValueError(f"aft must be one of {AFT_KINDS}")
    started = time.monotonic()
    rows = prepare_training_rows(training)
    fit_rows, holdout = time_split(rows, holdout_fraction)
    if fit_rows.empty or holdout.empty or not fit_rows["opened"].any():
        raise ValueError("too few rows (or no opens) to fit and validate a send-time model")
    spec = fit_feature_spec(fit_rows)

    fits: dict[str, tuple[SurvivalPredictor, Any, list[str]]] = {}
    scores: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for kind in ("cox", aft):
        began = time.monotonic()
        fits[kind] = fit_model(fit_rows, kind, spec, penalizer)
        seconds[kind] = time.monotonic() - began
        scores[kind] = concordance(fits[kind][0], holdout, spec)
    chosen: ModelKind = "cox" if scores["cox"] >= scores[aft] else aft
    calibration = calibration_24h(fits[chosen][0], holdout, spec)
    predictor, fitter, fit_warnings = fits[chosen]
    if refit:
        spec = fit_feature_spec(rows)
        predictor, fitter, fit_warnings = fit_model(rows, chosen, spec, penalizer)

    low_history = rows["prior_opens"].to_numpy() < min_prior_opens
    expected = expected_open_probability(predictor, rows, spec, without_hours=low_history)
    model = SendTimeModel(
        predictor=predictor,
        spec=spec,
        cohorts=fit_cohort_curves(rows, expected, min_prior_opens),
        population=population_open_shares(rows),
        min_prior_opens=min_prior_opens,
        fitter=fitter,
    )
    metrics = {
        "concordance_cox": scores["cox"],
        "concordance_aft": scores[aft],
        "holdout_concordance": scores[chosen],
        "n_train": float(len(fit_rows)),
        "n_holdout": float(len(holdout)),
        "holdout_open_rate": float(holdout["opened"].mean()),
        **calibration,
        "holdout_low_history_share": float((holdout["prior_opens"] < min_prior_opens).mean()),
        "fit_seconds_cox": seconds["cox"],
        "fit_seconds_aft": seconds[aft],
        "training_seconds": time.monotonic() - started,
    }
    params = {
        "chosen": chosen,
        "aft_kind": aft,
        "penalizer": penalizer,
        "holdout_fraction": holdout_fraction,
        "holdout_cutoff": str(fit_rows["delivered_at"].max()),
        "refit_on_all_rows": refit,
        "n_train": len(fit_rows),
        "n_holdout": len(holdout),
        "n_features": len(spec.columns),
        "providers": ",".join(spec.providers),
        "min_prior_opens": model.min_prior_opens,
        "horizon_hours": predictor.horizon,
    }
    tags = {"model": "send_time", "survival_model": chosen}
    if fit_warnings:
        tags["fit_warnings"] = " | ".join(fit_warnings)[:500]
    return TrainingResult(
        python_model=SendTimePyfunc(model.without_fitter()),
        input_example=input_example(rows, model),
        params=params,
        metrics=metrics,
        validation_metric="holdout_concordance",
        higher_is_better=True,
        tags=tags,
    )
