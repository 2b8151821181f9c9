"""Training: one region's logged exposures and recipient features in, a ``TrainingResult`` out.

1. Exposures are the delivered rows of ``marts.variant_exposures`` with a logged propensity;
   each campaign's offered variants are the variants seen in it (2 or 3 in the history).
2. Contacts are split (seeded) into training and holdout: the holdout's exposures are
   recipients the model never saw, and exposures of one person never straddle the split.
3. The bandit's click model is fitted on the training part; the holdout measures it
   (log-loss vs the constant rate, AUC) and evaluates the learned policy off-policy (IPS,
   SNIPS, DR with the training model as ``q̂``; bootstrap intervals resampling contacts).
4. The stopping rule runs on every exposure of the campaigns that offered every variant
   (a head-to-head comparison: a variant offered only in some campaigns would otherwise
   inherit those campaigns' click rates).
5. The served bandit is refitted on all exposures; the metrics describe the same recipe
   fitted on less data, the usual (slightly conservative) convention.

Caveat: the feature mart is a snapshot as of the end of the history, so its 7/30/90-day
rates include the clicks being modelled. The leak mostly lifts the context main effects,
which every variant shares; point-in-time features would remove it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from models.training import TrainingResult

from . import ope
from .bandit import BanditConfig, ContextualBandit
from .errors import ModelInputError, require_columns
from .features import INPUT_COLUMNS, ContextFeaturizer
from .pyfunc import PersonalizationPyfunc
from .stopping import StoppingDecision, effective_counts, stopping_decision

EXPOSURE_COLUMNS = ("campaign_id", "contact_id", "variant", "variant_probability", "clicked")


@dataclass(frozen=True)
class TrainConfig:
    """The bandit's hyper-parameters and the evaluation protocol."""

    bandit: BanditConfig = field(default_factory=BanditConfig)
    holdout_share: float = 0.3
    n_boot: int = 500


def prepare_exposures(exposures: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Delivered, propensity-logged exposures joined to their recipient's features, with
    ``action_set`` (the campaign's offered variants) and ``propensity``."""
    require_columns("exposures", list(exposures.columns), EXPOSURE_COLUMNS)
    require_columns("features", list(features.columns), ["contact_id"])
    rows = exposures
    if "delivered" in rows:
        rows = rows[rows["delivered"].eq(True)]  # null (not delivered) is not an exposure
    rows = rows[rows["variant_probability"].notna() & (rows["variant_probability"] > 0)]
    rows = rows[rows["variant"].notna()].copy()
    if rows.empty:
        raise ModelInputError("no delivered exposures with a logged propensity")
    rows["variant"] = rows["variant"].astype(str)
    rows["campaign_id"] = rows["campaign_id"].astype(str)
    rows["clicked"] = rows["clicked"].eq(True)
    rows["propensity"] = rows["variant_probability"].astype(float)
    sets = rows.groupby("campaign_id")["variant"].agg(lambda v: tuple(sorted(set(v))))
    rows["action_set"] = rows["campaign_id"].map(sets)
    rows["contact_id"] = rows["contact_id"].astype(str)  # uuid or text: join on one type
    context = features.drop_duplicates("contact_id").drop(
        columns=[c for c in features.columns if c in rows.columns and c != "contact_id"]
    )
    context = context.assign(contact_id=context["contact_id"].astype(str))
    merged = rows.merge(context, on="contact_id", how="left", validate="many_to_one")
    return merged.reset_index(drop=True)


def train(
    exposures: pd.DataFrame,
    features: pd.DataFrame,
    *,
    seed: int = 0,
    config: TrainConfig | None = None,
) -> TrainingResult:
    """Fit and evaluate the learned variant policy of one region (see the module docstring)."""
    config = config or TrainConfig()
    rng = np.random.default_rng(seed)
    data = prepare_exposures(exposures, features)
    variants = tuple(sorted(data["variant"].unique()))
    featurizer = ContextFeaturizer.fit(features)
    train_rows, holdout = _split(data, config.holdout_share, rng)

    bandit = _fit(train_rows, featurizer, config.bandit)
    metrics = _holdout_metrics(bandit, train_rows, holdout)
    metrics.update(_off_policy(bandit, holdout, config.n_boot, rng))
    decision = _stopping(data, variants, rng)
    metrics.update(
        prob_best=max(decision.prob_best.values()),
        expected_loss=decision.relative_expected_loss,
        expected_loss_abs=decision.expected_loss,
        stop=float(decision.stop),
        **{f"prob_best_{v}": p for v, p in decision.prob_best.items()},
        n_exposures=float(len(data)),
        n_clicks=float(data["clicked"].sum()),
        n_contacts=float(data["contact_id"].nunique()),
        n_train_exposures=float(len(train_rows)),
        n_holdout_exposures=float(len(holdout)),
    )

    served = _fit(data, featurizer, bandit.config)  # the prior chosen on the training part
    example = _input_example(features, variants)
    return TrainingResult(
        python_model=PersonalizationPyfunc(served, variants),
        input_example=example,
        params=_params(config, bandit.config, seed, featurizer, variants),
        metrics={k: float(v) for k, v in metrics.items()},
        validation_metric="dr_policy_value",
        higher_is_better=True,
        tags={
            "model": "personalization",
            "policy": "thompson-sampling/laplace-logistic",
            "best_variant": decision.best,
            "stopping": "stop" if decision.stop else "continue",
        },
    )


def _split(
    data: pd.DataFrame, share: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    contacts = np.asarray(sorted(data["contact_id"].astype(str).unique()), dtype=object)
    held = set(rng.permutation(contacts)[: int(round(share * len(contacts)))].tolist())
    mask = data["contact_id"].astype(str).isin(held).to_numpy()
    if mask.all() or not mask.any():
        raise ModelInputError("too few contacts to hold some out for evaluation")
    return data[~mask].reset_index(drop=True), data[mask].reset_index(drop=True)


def _fit(
    rows: pd.DataFrame, featurizer: ContextFeaturizer, config: BanditConfig
) -> ContextualBandit:
    return ContextualBandit.fit(
        rows, rows["variant"], rows["clicked"], rows["campaign_id"], config, featurizer
    )


def _logged_click_probability(bandit: ContextualBandit, rows: pd.DataFrame) -> np.ndarray:
    probs = bandit.click_probabilities(rows, bandit.variants, rows["campaign_id"])
    column = probs.columns.get_indexer(rows["variant"])
    out = np.full(len(rows), float(rows["clicked"].mean()))
    known = column >= 0
    out[known] = probs.to_numpy()[np.flatnonzero(known), column[known]]
    return out


def _holdout_metrics(
    bandit: ContextualBandit, train_rows: pd.DataFrame, holdout: pd.DataFrame
) -> dict[str, float]:
    y = holdout["clicked"].to_numpy()
    p = _logged_click_probability(bandit, holdout)
    base = np.full(len(y), train_rows["clicked"].mean())
    return {
        "holdout_log_loss": log_loss(y, p, labels=[False, True]),
        "holdout_log_loss_baseline": log_loss(y, base, labels=[False, True]),
        "holdout_auc": roc_auc_score(y, p) if 0 < y.sum() < len(y) else float("nan"),
    }


def _off_policy(
    bandit: ContextualBandit, holdout: pd.DataFrame, n_boot: int, rng: np.random.Generator
) -> dict[str, float]:
    """IPS/SNIPS/DR of the Thompson and greedy policies on the holdout, each row's target
    propensities taken over the variants its campaign offered."""
    n = len(holdout)
    cols = {k: np.zeros(n) for k in ("pi", "q_a", "q_pi", "greedy", "q_greedy")}
    for action_set, index in holdout.groupby("action_set").indices.items():
        rows = holdout.iloc[index]
        pi = bandit.propensities(rows, action_set, rng).to_numpy()
        greedy = bandit.greedy_propensities(rows, action_set).to_numpy()
        q = bandit.click_probabilities(rows, action_set, rows["campaign_id"]).to_numpy()
        shown = pd.Index(action_set).get_indexer(rows["variant"])
        at = (np.arange(len(rows)), shown)
        cols["pi"][index], cols["greedy"][index], cols["q_a"][index] = pi[at], greedy[at], q[at]
        cols["q_pi"][index] = (pi * q).sum(axis=1)
        cols["q_greedy"][index] = (greedy * q).sum(axis=1)
    r = holdout["clicked"].to_numpy(dtype=float)
    mu = holdout["propensity"].to_numpy()
    kw: dict[str, Any] = {"groups": holdout["contact_id"].astype(str), "n_boot": n_boot, "rng": rng}
    logged = ope.on_policy(r, **kw)
    dr = ope.doubly_robust(r, mu, cols["pi"], cols["q_a"], cols["q_pi"], **kw)
    out = {
        **logged.as_metrics("logged_policy_value"),
        **ope.ips(r, mu, cols["pi"], **kw).as_metrics("ips_policy_value"),
        **ope.snips(r, mu, cols["pi"], **kw).as_metrics("snips_policy_value"),
        **dr.as_metrics("dr_policy_value"),
        **ope.doubly_robust(r, mu, cols["greedy"], cols["q_a"], cols["q_greedy"], **kw).as_metrics(
            "dr_greedy_value"
        ),
    }
    out["dr_lift_vs_logged"] = dr.value / logged.value - 1.0 if logged.value > 0 else float("nan")
    return out


def _stopping(
    data: pd.DataFrame, variants: tuple[str, ...], rng: np.random.Generator
) -> StoppingDecision:
    full = data[data["action_set"].map(lambda offered: offered == variants)]
    rows = full if len(full) else data
    clicks, exposures = effective_counts(rows["variant"], rows["clicked"], rows["propensity"])
    return stopping_decision(clicks, exposures, rng=rng)


def _input_example(features: pd.DataFrame, variants: tuple[str, ...]) -> pd.DataFrame:
    columns = [c for c in INPUT_COLUMNS if c in features.columns]
    example = features[columns].head(5).copy()
    example["contact_id"] = example["contact_id"].astype(str)
    # Counts as doubles: MLflow warns that integer columns cannot hold missing values, and
    # upcasts integer input to a double schema column anyway.
    for column in example.select_dtypes("integer").columns:
        example[column] = example[column].astype(np.float64)
    example["variants"] = ",".join(variants)
    return example.reset_index(drop=True)


def _params(
    config: TrainConfig,
    chosen: BanditConfig,
    seed: int,
    featurizer: ContextFeaturizer,
    variants: tuple[str, ...],
) -> dict[str, Any]:
    priors = asdict(chosen.priors)
    return {
        **{f"prior_sd_{k}": v for k, v in priors.items()},
        "interaction_grid": ",".join(str(sd) for sd in config.bandit.interaction_grid),
        "thompson_draws": config.bandit.draws,
        "exploration_floor": config.bandit.floor,
        "holdout_share": config.holdout_share,
        "bootstrap_replicates": config.n_boot,
        "seed": seed,
        "n_context_features": len(featurizer.feature_names),
        "variants": ",".join(variants),
    }
