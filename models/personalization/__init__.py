"""Personalization: which dynamic-content variant each recipient gets.

A template's dynamic content names, per slot, its options and a selector
(``selectors``): a rule on recipient attributes, ``"random"``, or ``"learned"``. The
learned selector is a contextual bandit (``bandit``): a Bayesian logistic click model of
P(click | recipient features, variant) (``clickmodel``, features from ``features``) with
floored Thompson sampling, so every choice comes with the propensity to log. Logged
exposures evaluate any policy off-line (``ope``: IPS, SNIPS, doubly robust), a Bayesian
stopping rule says when a winner is clear (``stopping``), ``model.train`` turns one
region's marts into a ``TrainingResult`` wrapping ``PersonalizationPyfunc``, and
``evaluation`` scores a policy against true click rates when a simulation knows them.

Pure ML: DataFrames in, models and metrics out; no database, settings or MLflow calls.
"""

from .bandit import BanditConfig, ContextualBandit
from .clickmodel import LaplaceClickModel, PriorScales
from .errors import ModelInputError, PersonalizationError, SpecError
from .evaluation import TruthComparison, evaluate_against_truth
from .features import ContextFeaturizer
from .model import TrainConfig, prepare_exposures, train
from .ope import Estimate, doubly_robust, ips, on_policy, snips
from .pyfunc import PersonalizationPyfunc
from .selectors import (
    LEARNED,
    RANDOM,
    Choice,
    RuleSelector,
    SlotSpec,
    choose_all,
    choose_variant,
    parse_dynamic_content,
)
from .stopping import StoppingDecision, effective_counts, stopping_decision

__all__ = [
    "LEARNED",
    "RANDOM",
    "BanditConfig",
    "Choice",
    "ContextFeaturizer",
    "ContextualBandit",
    "Estimate",
    "LaplaceClickModel",
    "ModelInputError",
    "PersonalizationError",
    "PersonalizationPyfunc",
    "PriorScales",
    "RuleSelector",
    "SlotSpec",
    "SpecError",
    "StoppingDecision",
    "TrainConfig",
    "TruthComparison",
    "choose_all",
    "choose_variant",
    "doubly_robust",
    "effective_counts",
    "evaluate_against_truth",
    "ips",
    "on_policy",
    "parse_dynamic_content",
    "prepare_exposures",
    "snips",
    "stopping_decision",
    "train",
]
