"""Personalization: selectors, features, the Thompson bandit, off-policy evaluation, the
stopping rule, the pyfunc wrapper, and the learned policy against the simulator's truth."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature

from models.personalization import (
    ContextFeaturizer,
    ContextualBandit,
    PersonalizationError,
    SpecError,
    choose_all,
    choose_variant,
    doubly_robust,
    effective_counts,
    evaluate_against_truth,
    ips,
    parse_dynamic_content,
    snips,
    stopping_decision,
    train,
)
from models.training import TrainingResult
from simulator.ground_truth import true_click_rate
from warehouse.db import Cells

log = logging.getLogger(__name__)
VARIANTS = ["A", "B", "C"]


# ---------------------------------------------------------------------------------------
# Synthetic logs with a planted affinity: B for mobile readers, A for desktop readers.


def planted_contexts(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Feature-mart-like rows: half mobile, half desktop, noise in the other columns."""
    rate = rng.beta(2, 8, n)
    return pd.DataFrame(
        {
            "contact_id": [str(uuid.UUID(int=int(i) + 1)) for i in range(n)],
            "mailbox_provider": rng.choice(["gmail", "yahoo", "outlook"], n),
            "time_zone": rng.choice(["America/New_York", "Europe/Berlin"], n),
            "device": np.where(np.arange(n) % 2 == 0, "mobile", "desktop"),
            "delivered_30d": rng.integers(1, 12, n),
            "delivered_90d": rng.integers(12, 30, n),
            "open_rate_7d": rate,
            "open_rate_30d": rate,
            "open_rate_90d": rate,
            "click_rate_7d": rate / 5,
            "click_rate_30d": rate / 5,
            "click_rate_90d": rate / 5,
            "hours_since_last_open": rng.exponential(200, n),
            "engagement_trend": rng.normal(0, 0.1, n),
        }
    )


def planted_click_rate(device: Any, variant: str) -> float:
    best = "B" if device == "mobile" else "A"
    return 0.12 if variant == best else 0.03


def planted_exposures(
    contexts: pd.DataFrame, per_contact: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Uniformly randomised A/B/C exposures, clicks drawn from ``planted_click_rate``."""
    rows = contexts.loc[contexts.index.repeat(per_contact)].reset_index(drop=True)
    variant = rng.choice(VARIANTS, len(rows))
    p = np.array([planted_click_rate(d, v) for d, v in zip(rows["device"], variant, strict=True)])
    n_campaigns = 6
    return pd.DataFrame(
        {
            "message_id": [str(uuid.uuid4()) for _ in range(len(rows))],
            "campaign_id": [f"campaign-{i % n_campaigns}" for i in range(len(rows))],
            "campaign_type": "marketing",
            "contact_id": rows["contact_id"],
            "variant": variant,
            "variant_probability": 1.0 / 3.0,
            "delivered": True,
            "clicked": rng.random(len(rows)) < p,
        }
    )


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, pd.DataFrame, ContextualBandit]:
    rng = np.random.default_rng(3)
    contexts = planted_contexts(1200, rng)
    exposures = planted_exposures(contexts, 6, rng)
    rows = exposures.merge(contexts, on="contact_id")
    bandit = ContextualBandit.fit(rows, rows["variant"], rows["clicked"], rows["campaign_id"])
    return contexts, exposures, bandit


# ---------------------------------------------------------------------------------------
# Selectors


SPEC = {
    "hero_image": {
        "options": [{"key": "A"}, {"key": "B"}, {"key": "C"}],
        "selector": {
            "rule": [
                {"if": {"attribute": "country", "in": ["DE", "FR"]}, "then": "B"},
                {
                    "if": {
                        "all": [
                            {"attribute": "device", "equals": "mobile"},
                            {"attribute": "orders", "gte": 3},
                        ]
                    },
                    "then": "C",
                },
            ],
            "default": "A",
        },
    },
    "subject": {"options": ["A", "B"], "selector": "learned"},
    "footer": {"options": ["A", "B", "C", "D"], "selector": "random"},
}


def test_rule_selectors_choose_per_recipient_attribute() -> None:
    slot = parse_dynamic_content(SPEC)["hero_image"]
    rng = np.random.default_rng(0)

    def pick(**attributes: Any) -> str:
        choice = choose_variant(slot, attributes, rng)
        assert choice.probability == 1.0 and choice.selector == "rule"
        return choice.variant

    assert pick(country="DE") == "B"
    assert pick(country="FR", device="mobile", orders=9) == "B"  # first matching rule wins
    assert pick(country="US", device="mobile", orders=3) == "C"
    assert pick(country="US", device="mobile", orders=2) == "A"
    assert pick(country="US", device="mobile", orders="many") == "A"  # wrong type: no match
    assert pick() == "A"  # nothing known: the default


def test_random_and_learned_selectors_log_the_probability_of_their_choice() -> None:
    spec = parse_dynamic_content(SPEC)
    rng = np.random.default_rng(1)

    def learned(slot: str, options: tuple[str, ...], attrs: Any, g: Any) -> tuple[str, float]:
        return options[-1], 0.8

    choices = choose_all(spec, {"country": "DE"}, rng, learned)
    assert choices["hero_image"].variant == "B"
    assert (choices["subject"].variant, choices["subject"].probability) == ("B", 0.8)
    assert choices["footer"].probability == 0.25 and choices["footer"].selector == "random"
    # No trained policy yet: a learned slot explores uniformly, and says so.
    fallback = choose_variant(spec["subject"], {}, rng)
    assert fallback.selector == "random" and fallback.probability == 0.5
    seen = {choose_variant(spec["footer"], {}, rng).variant for _ in range(200)}
    assert seen == {"A", "B", "C", "D"}


@pytest.mark.parametrize(
    "spec",
    [
        [],
        {"slot": "learned"},
        {"slot": {"options": [], "selector": "random"}},
        {"slot": {"options": ["A", "A"], "selector": "random"}},
        {"slot": {"options": [{"name": "A"}], "selector": "random"}},
        {"slot": {"options": ["A"], "selector": "bandit"}},
        {"slot": {"options": ["A"], "selector": "random", "weights": [1]}},
        {"slot": {"options": ["A", "B"], "selector": {"rule": [], "default": "Z"}}},
        {"slot": {"options": ["A", "B"], "selector": {"rule": [{"if": {}, "then": "B"}]}}},
        {
            "slot": {
                "options": ["A", "B"],
                "selector": {
                    "rule": [{"if": {"attribute": "country", "in": ["DE"]}, "then": "Z"}],
                    "default": "A",
                },
            }
        },
        {
            "slot": {
                "options": ["A", "B"],
                "selector": {
                    "rule": [{"if": {"attribute": "country", "in": "DE"}, "then": "B"}],
                    "default": "A",
                },
            }
        },
        {
            "slot": {
                "options": ["A", "B"],
                "selector": {
                    "rule": [{"if": {"attribute": "age", "gt": "old"}, "then": "B"}],
                    "default": "A",
                },
            }
        },
        {
            "slot": {
                "options": ["A", "B"],
                "selector": {
                    "rule": [{"if": {"attribute": "age", "gt": 3, "lt": 9}, "then": "B"}],
                    "default": "A",
                },
            }
        },
    ],
)
def test_bad_specs_are_rejected_with_the_typed_error(spec: Any) -> None:
    with pytest.raises(PersonalizationError) as info:
        parse_dynamic_content(spec)
    assert isinstance(info.value, SpecError)


# ---------------------------------------------------------------------------------------
# Features


def test_context_features_have_a_fixed_column_order_and_no_missing_values() -> None:
    rng = np.random.default_rng(2)
    frame = planted_contexts(200, rng)
    frame.loc[:9, ["open_rate_7d", "click_rate_7d", "hours_since_last_open"]] = np.nan
    frame.loc[10:14, "device"] = None
    frame.loc[15:19, "mailbox_provider"] = "unheard-of"
    featurizer = ContextFeaturizer.fit(frame, min_count=10)
    matrix = featurizer.transform(frame)
    assert list(matrix.columns) == featurizer.feature_names
    assert np.isfinite(matrix.to_numpy()).all()
    assert matrix.loc[:9, "missing_rate_7d"].eq(1.0).all()
    assert matrix.loc[10:14, "device_unknown"].eq(1.0).all()
    assert matrix.loc[15:19, "provider_other"].eq(1.0).all()
    # Row order and column order of the input do not matter.
    shuffled = frame.sample(frac=1.0, random_state=0)[frame.columns[::-1]]
    again = ContextFeaturizer.fit(shuffled, min_count=10)
    assert again.feature_names == featurizer.feature_names
    pd.testing.assert_frame_equal(again.transform(shuffled).loc[frame.index], matrix, atol=1e-12)


# ---------------------------------------------------------------------------------------
# The bandit


def test_the_bandit_learns_a_planted_affinity(planted: Any) -> None:
    contexts, _, bandit = planted
    choices = bandit.choose(contexts, VARIANTS, np.random.default_rng(4))
    device = contexts["device"].to_numpy()
    mobile_b = (choices["variant"][device == "mobile"] == "B").mean()
    desktop_a = (choices["variant"][device == "desktop"] == "A").mean()
    log.info("planted affinity: mobile -> B %.2f, desktop -> A %.2f", mobile_b, desktop_a)
    assert mobile_b > 0.8 and desktop_a > 0.8
    greedy = bandit.greedy_propensities(contexts, VARIANTS)
    assert greedy["B"][device == "mobile"].mean() > 0.95
    assert greedy["A"][device == "desktop"].mean() > 0.95


def test_logged_propensities_are_the_sampling_probabilities_and_sum_to_one(planted: Any) -> None:
    contexts, _, bandit = planted
    floor = bandit.config.floor
    probs = bandit.propensities(contexts, VARIANTS, np.random.default_rng(5))
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert (probs.to_numpy() >= floor - 1e-12).all()
    # choose() logs exactly the probability it sampled the chosen arm with.
    chosen = bandit.choose(contexts, VARIANTS, np.random.default_rng(5))
    column = probs.columns.get_indexer(chosen["variant"])
    assert np.allclose(chosen["probability"], probs.to_numpy()[np.arange(len(probs)), column])
    # And the choices follow those probabilities: one context, many draws.
    one = contexts.iloc[[0] * 6000].reset_index(drop=True)
    expected = bandit.propensities(one, VARIANTS, np.random.default_rng(6)).iloc[0]
    drawn = bandit.choose(one, VARIANTS, np.random.default_rng(6))["variant"]
    share = drawn.value_counts(normalize=True).reindex(VARIANTS, fill_value=0.0)
    assert np.allclose(share, expected, atol=4 * np.sqrt(0.25 / len(one)))


def test_an_unseen_variant_is_explored_and_two_arm_sets_are_floored(planted: Any) -> None:
    contexts, _, bandit = planted
    probs = bandit.propensities(contexts, ["A", "B", "NEW"], np.random.default_rng(7))
    assert probs["NEW"].mean() > 0.1  # prior-only posterior: wide, so it wins draws
    two = bandit.propensities(contexts, ["A", "C"], np.random.default_rng(7))
    assert np.allclose(two.sum(axis=1), 1.0) and (two.to_numpy() >= 0.05 - 1e-12).all()


def test_the_bandit_serves_as_the_learned_selector_of_a_template_slot(planted: Any) -> None:
    contexts, _, bandit = planted
    slot = parse_dynamic_content(SPEC)["subject"]  # options A and B, selector "learned"
    rng = np.random.default_rng(8)
    mobile = contexts[contexts["device"] == "mobile"].iloc[0].to_dict()
    choices = [choose_variant(slot, mobile, rng, bandit.as_chooser()) for _ in range(40)]
    assert all(c.selector == "learned" and c.variant in slot.options for c in choices)
    assert sum(c.variant == "B" for c in choices) > 30  # B is this mobile reader's best
    assert all(0.05 - 1e-9 <= c.probability <= 0.95 + 1e-9 for c in choices)


# ---------------------------------------------------------------------------------------
# Off-policy evaluation


TRUE_CLICK = np.array([[0.05, 0.10, 0.02], [0.08, 0.03, 0.15]])  # P(click | x, arm)
LOGGING_POLICY = np.array([[0.6, 0.2, 0.2], [0.2, 0.5, 0.3]])  # not uniform, on purpose
TARGET_POLICY = np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
# x is 0 or 1 with probability 1/2: the target's value is 0.5 * (0.087 + 0.131) = 0.109.
TARGET_VALUE = float((TARGET_POLICY * TRUE_CLICK).sum(axis=1).mean())


def synthetic_logs(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Logs of ``LOGGING_POLICY``, with what the estimators need to value ``TARGET_POLICY``."""
    x = rng.integers(0, 2, n)
    true, logging_policy, target = TRUE_CLICK[x], LOGGING_POLICY[x], TARGET_POLICY[x]
    arm = (rng.random(n)[:, None] > logging_policy.cumsum(axis=1)).sum(axis=1)
    rows = np.arange(n)
    reward = (rng.random(n) < true[rows, arm]).astype(float)
    q_bad = np.full_like(true, 0.07)  # a useless reward model: DR must stay unbiased
    return {
        "reward": reward,
        "mu": logging_policy[rows, arm],
        "pi": target[rows, arm],
        "q_a": true[rows, arm],
        "q_pi": (target * true).sum(axis=1),
        "q_bad_a": q_bad[rows, arm],
        "q_bad_pi": (target * q_bad).sum(axis=1),
    }


def test_ips_snips_and_dr_intervals_cover_a_known_target_value() -> None:
    rng = np.random.default_rng(8)
    runs = [synthetic_logs(4000, rng) for _ in range(40)]
    value = TARGET_VALUE
    estimators = {
        "ips": lambda g, k: ips(g["reward"], g["mu"], g["pi"], **k),
        "snips": lambda g, k: snips(g["reward"], g["mu"], g["pi"], **k),
        "dr": lambda g, k: doubly_robust(g["reward"], g["mu"], g["pi"], g["q_a"], g["q_pi"], **k),
        "dr_bad_model": lambda g, k: doubly_robust(
            g["reward"], g["mu"], g["pi"], g["q_bad_a"], g["q_bad_pi"], **k
        ),
    }
    widths = {}
    for name, estimate in estimators.items():
        results = [estimate(g, {"n_boot": 200, "rng": rng}) for g in runs]
        coverage = np.mean([e.ci_low <= value <= e.ci_high for e in results])
        widths[name] = np.mean([e.ci_high - e.ci_low for e in results])
        log.info("%s: 95%% interval coverage %.2f, width %.4f", name, coverage, widths[name])
        assert coverage >= 0.85, name  # nominal 0.95; 40 runs put 0.85 three SDs below
    # A good reward model buys a tighter interval.
    assert widths["dr"] < widths["ips"]


def test_ips_and_dr_are_unbiased_over_repeated_logs() -> None:
    rng = np.random.default_rng(9)
    runs = [synthetic_logs(3000, rng) for _ in range(60)]
    value = TARGET_VALUE
    for name, estimate in {
        "ips": lambda g: ips(g["reward"], g["mu"], g["pi"], n_boot=1).value,
        "dr": lambda g: doubly_robust(
            g["reward"], g["mu"], g["pi"], g["q_bad_a"], g["q_bad_pi"], n_boot=1
        ).value,
    }.items():
        values = np.array([estimate(g) for g in runs])
        standard_error = values.std(ddof=1) / np.sqrt(len(values))
        assert abs(values.mean() - value) < 3 * standard_error, name


# ---------------------------------------------------------------------------------------
# Stopping rule


def test_the_stopping_rule_stops_on_a_clear_winner() -> None:
    decision = stopping_decision(
        {"A": 300, "B": 420, "C": 310}, {"A": 10_000, "B": 10_000, "C": 10_000}
    )
    assert decision.stop and decision.best == "B"
    assert decision.prob_best["B"] > 0.99 and decision.relative_expected_loss < 0.01


def test_the_stopping_rule_does_not_stop_on_a_tie_or_on_too_little_data() -> None:
    tie = stopping_decision({"A": 400, "B": 400}, {"A": 10_000, "B": 10_000})
    assert not tie.stop and 0.3 < tie.prob_best["A"] < 0.7
    early = stopping_decision({"A": 3, "B": 6}, {"A": 100, "B": 100})
    assert not early.stop and early.relative_expected_loss > 0.01


def test_effective_counts_are_raw_counts_under_uniform_logging_and_reweight_otherwise() -> None:
    variants = ["A", "A", "B", "B", "B"]
    clicks = [True, False, True, False, False]
    assert effective_counts(variants, clicks, [0.5] * 5) == (
        {"A": 1.0, "B": 1.0},
        {"A": 2.0, "B": 3.0},
    )
    skewed_clicks, skewed_n = effective_counts(variants, clicks, [0.5, 0.5, 0.9, 0.1, 0.9])
    assert skewed_n["B"] < 3.0  # unequal weights: fewer effective exposures


# ---------------------------------------------------------------------------------------
# Training and the pyfunc wrapper


@pytest.fixture(scope="module")
def trained(planted: Any) -> TrainingResult:
    contexts, exposures, _ = planted
    return train(exposures, contexts, seed=11)


def test_training_returns_holdout_quality_off_policy_values_and_the_stopping_figures(
    trained: TrainingResult,
) -> None:
    m = trained.metrics
    assert trained.validation_metric == "dr_policy_value" and np.isfinite(trained.score)
    assert m["holdout_log_loss"] < m["holdout_log_loss_baseline"] and m["holdout_auc"] > 0.6
    for name in ("ips_policy_value", "snips_policy_value", "dr_policy_value"):
        assert m[f"{name}_ci_low"] <= m[name] <= m[f"{name}_ci_high"]
    # The planted policy is worth 0.12 per exposure against 0.06 for uniform assignment.
    assert m["dr_policy_value_ci_low"] > m["logged_policy_value"]
    assert 0.0 <= m["prob_best"] <= 1.0 and m["expected_loss"] >= 0.0
    assert trained.params["variants"] == "A,B,C"


def test_the_pyfunc_chooses_among_each_rows_offered_variants(trained: TrainingResult) -> None:
    model = trained.python_model
    frame = trained.input_example.head(4).copy()
    frame["variants"] = ["A,B", ["C", "A"], None, "B"]
    out = model.predict(None, frame, params={"seed": 3})
    assert list(out.columns) == ["contact_id", "variant", "probability"]
    assert out["contact_id"].tolist() == frame["contact_id"].tolist()
    assert out["variant"][0] in {"A", "B"} and out["variant"][1] in {"A", "C"}
    assert out["variant"][3] == "B" and out["probability"][3] == 1.0
    assert out["probability"].between(0.0, 1.0, inclusive="right").all()
    again = cloudpickle.loads(cloudpickle.dumps(model)).predict(None, frame, params={"seed": 3})
    pd.testing.assert_frame_equal(out, again)
    bare = model.predict(None, pd.DataFrame({"contact_id": ["someone"]}))  # features imputed
    assert bare["variant"][0] in VARIANTS
    with pytest.raises(PersonalizationError):
        model.predict(None, frame.drop(columns="contact_id"))


def test_the_pyfunc_survives_an_mlflow_save_and_load(
    trained: TrainingResult, tmp_path: Path
) -> None:
    example = trained.input_example
    signature = infer_signature(example, trained.python_model.predict(None, example))
    path = tmp_path / "model"
    mlflow.pyfunc.save_model(
        path,
        python_model=trained.python_model,
        input_example=example,
        signature=signature,
        pip_requirements=["scikit-learn", "pandas"],  # skips the slow requirement inference
    )
    loaded = mlflow.pyfunc.load_model(str(path))
    out = loaded.predict(example)
    assert len(out) == len(example) and set(out["variant"]) <= set(VARIANTS)


# ---------------------------------------------------------------------------------------
# Against the simulator's truth, on the marts of a simulated history


def read_mart(cells: Cells, region: str, table: str, org_id: uuid.UUID) -> pd.DataFrame:
    with cells.connection(region) as conn:
        cursor = conn.execute(f"SELECT * FROM marts.{table} WHERE org_id = %s", (org_id,))
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])


def test_the_learned_policy_beats_uniform_random_and_trails_the_oracle_on_simulated_truth(
    marts_history: Any,  # tests/conftest.py MartsHistory
    cells: Cells,
    record_property: Callable[[str, object], None],
) -> None:
    world = marts_history.world()
    recipients = {r.contact_id: r for r in world.recipients()}
    org_id = marts_history.result.org_id
    totals = {"policy": 0.0, "greedy": 0.0, "uniform": 0.0, "oracle": 0.0, "best_fixed": 0.0}
    n_total = 0
    for region in cells.regions:
        exposures = read_mart(cells, region, "variant_exposures", org_id)
        features = read_mart(cells, region, "recipient_engagement_features", org_id)
        result = train(exposures, features, seed=0)
        bandit = result.python_model.bandit
        propensities = bandit.propensities(features, VARIANTS, np.random.default_rng(0))
        greedy = bandit.greedy_propensities(features, VARIANTS)
        comparison = evaluate_against_truth(
            features["contact_id"].tolist(),
            propensities,
            lambda contact, variant: true_click_rate(recipients[contact], variant),
            greedy=greedy,
        )
        figures = {
            **comparison.as_dict(),
            **{k: v for k, v in result.metrics.items() if "value" in k or "prob" in k},
            "expected_loss": result.metrics["expected_loss"],
            "n_exposures": result.metrics["n_exposures"],
            "n_clicks": result.metrics["n_clicks"],
            "prior_sd_interaction": result.params["prior_sd_interaction"],
            "best_variant": result.tags["best_variant"],
        }
        record_property(f"personalization_{region}", figures)
        log.info("personalization %s: %s", region, figures)
        assert comparison.oracle >= comparison.policy
        assert comparison.oracle >= comparison.best_fixed >= comparison.uniform
        for key in totals:
            totals[key] += getattr(comparison, key) * comparison.n
        n_total += comparison.n
    overall = {k: v / n_total for k, v in totals.items()}
    record_property("personalization_all_regions", overall)
    log.info("personalization, all regions: %s", overall)
    assert overall["oracle"] >= overall["policy"] >= overall["uniform"]
