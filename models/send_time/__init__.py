"""Send-time optimisation: when to send each recipient a message so that they open it.

Time to the first human open (hours since delivery, censored at 72 hours) is modelled with
lifelines from ``marts.send_time_training``: covariates are the candidate local send hour
(sin/cos), the weekday and the recipient as of the send (open-hour histogram around the
candidate hour, recency, frequency, provider, device). Cox PH and a parametric AFT model are
compared on a time-based holdout by concordance; the better one is the champion candidate.

Scoring reads ``marts.recipient_engagement_features`` and, for a given date, ranks the 24
local hours of each recipient's day by ``P(open within 24 h) = 1 - S(24 | x_t)`` in numpy
(no lifelines call per row), returning the best slot in UTC. Recipients with fewer than
two first opens take their cohort's hour curve instead (``fallback=True``).

Public API::

    result = train(training_rows)                  # models.training.TrainingResult
    scores = score(model, recipient_features, day) # contact_id, best_hour_utc, ...
    result.python_model.predict(None, features_with_day)  # the same, through MLflow pyfunc
    evaluate_send_times(scores, true_probability, ...)    # against a ground truth

Modules: ``features`` (design matrix, 24-slot expansion), ``recipients`` (scoring mart ->
training form, local-day slots), ``survival`` (lifelines fits and their closed forms),
``cohort`` (fallback curves), ``model`` (training), ``scoring``, ``pyfunc``, ``evaluation``.
"""

from .cohort import MIN_PRIOR_OPENS, CohortCurves
from .evaluation import (
    SendTimeEvaluation,
    best_fixed_local_hour,
    best_fixed_utc_hour,
    evaluate_send_times,
    evaluation_recipients,
    true_slot_probabilities,
)
from .features import FeatureSpec, design_matrix, fit_feature_spec
from .model import SendTimeModel, fit_model, prepare_training_rows, time_split, train
from .pyfunc import SendTimePyfunc
from .scoring import score, slot_probabilities
from .survival import SurvivalPredictor

__all__ = [
    "MIN_PRIOR_OPENS",
    "CohortCurves",
    "FeatureSpec",
    "SendTimeEvaluation",
    "SendTimeModel",
    "SendTimePyfunc",
    "SurvivalPredictor",
    "best_fixed_local_hour",
    "best_fixed_utc_hour",
    "design_matrix",
    "evaluate_send_times",
    "evaluation_recipients",
    "fit_feature_spec",
    "fit_model",
    "prepare_training_rows",
    "score",
    "slot_probabilities",
    "time_split",
    "train",
    "true_slot_probabilities",
]
