"""The learned selector: a contextual bandit choosing variants by Thompson sampling.

Thompson sampling picks, for each recipient, the variant that is best under one draw from
the click model's posterior; the probability of picking variant ``v`` is therefore the
posterior probability that ``v`` is the best for that context. That probability is
estimated by Monte Carlo (``draws`` posterior draws per call), then floored:

    π(v | x) = (1 - k·f) · P̂(v is best | x) + f,        f = min(floor, 1/k)

so every offered variant keeps at least ``f`` (5% by default). The floor keeps exploring
after the posterior has concentrated, and bounds inverse-propensity weights by ``1/f`` so
off-policy estimates from this policy's own logs stay finite. The variant is then drawn
from ``π``, and ``π`` of the drawn variant is the logged propensity: exact for the
distribution actually sampled from, whatever the Monte Carlo error of ``P̂``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .clickmodel import LaplaceClickModel, PriorScales
from .errors import ModelInputError
from .features import ContextFeaturizer
from .selectors import LearnedChooser

_CHUNK_ROWS = 4096  # bounds the (rows x draws x variants) score array to a few MB


@dataclass(frozen=True)
class BanditConfig:
    """Hyper-parameters of the learned policy."""

    priors: PriorScales = PriorScales()
    draws: int = 256  # posterior draws per propensity estimate
    floor: float = 0.05  # minimum probability of every offered variant
    # Candidate prior SDs of the variant x context interactions, chosen by Laplace evidence
    # (empty: use priors.interaction as given). How much personalization the data supports
    # differs by region and volume; a fixed wide prior lets noise pose as personalization.
    interaction_grid: tuple[float, ...] = (0.01, 0.05, 0.25)


class ContextualBandit:
    """Featurizer + Laplace click model + floored Thompson sampling."""

    def __init__(
        self,
        featurizer: ContextFeaturizer,
        model: LaplaceClickModel,
        config: BanditConfig | None = None,
    ) -> None:
        self.featurizer = featurizer
        self.model = model
        self.config = config or BanditConfig()

    @classmethod
    def fit(
        cls,
        contexts: pd.DataFrame,
        variants: Sequence[str],
        clicks: Sequence[bool],
        campaigns: Sequence[str] | None = None,
        config: BanditConfig | None = None,
        featurizer: ContextFeaturizer | None = None,
    ) -> ContextualBandit:
        """Fit on logged exposures: one row of recipient features per exposure.

        With an ``interaction_grid``, one model per candidate is fitted and the one with the
        highest evidence kept; the returned bandit's config records the chosen prior (and an
        empty grid, so refitting it reuses the choice).
        """
        config = config or BanditConfig()
        featurizer = featurizer or ContextFeaturizer.fit(contexts)
        z = featurizer.transform(contexts).to_numpy()
        candidates = [replace(config.priors, interaction=sd) for sd in config.interaction_grid]
        best: LaplaceClickModel | None = None
        for priors in candidates or [config.priors]:
            model = LaplaceClickModel(priors).fit(z, variants, clicks, campaigns)
            if best is None or model.log_evidence_ > best.log_evidence_:
                best = model
        assert best is not None  # at least one candidate was fitted
        chosen = replace(config, priors=best.priors, interaction_grid=())
        return cls(featurizer, best, chosen)

    @property
    def variants(self) -> tuple[str, ...]:
        """The variants seen in training."""
        return self.model.variants_

    def click_probabilities(
        self,
        contexts: pd.DataFrame,
        variants: Sequence[str],
        campaigns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """MAP P(click) per row of ``contexts`` (index kept) and variant (columns)."""
        z = self.featurizer.transform(contexts).to_numpy()
        probs = self.model.click_probability(z, list(variants), campaigns)
        return pd.DataFrame(probs, index=contexts.index, columns=list(variants))

    def propensities(
        self, contexts: pd.DataFrame, variants: Sequence[str], rng: np.random.Generator
    ) -> pd.DataFrame:
        """π(v | x) of the floored Thompson policy (rows sum to 1), index kept."""
        variants = _check_variants(variants)
        z = self.featurizer.transform(contexts).to_numpy()
        alpha, gamma = self.model.sample_variant_effects(variants, self.config.draws, rng)
        wins = np.zeros((len(z), len(variants)))
        for lo in range(0, len(z), _CHUNK_ROWS):
            scores = alpha[None, :, :] + np.einsum("nd,mkd->nmk", z[lo : lo + _CHUNK_ROWS], gamma)
            best = scores.argmax(axis=2)
            for j in range(len(variants)):
                wins[lo : lo + _CHUNK_ROWS, j] = (best == j).mean(axis=1)
        return pd.DataFrame(self._floored(wins), index=contexts.index, columns=list(variants))

    def greedy_propensities(self, contexts: pd.DataFrame, variants: Sequence[str]) -> pd.DataFrame:
        """The exploit-only policy: all mass on the MAP-best variant (no floor)."""
        variants = _check_variants(variants)
        z = self.featurizer.transform(contexts).to_numpy()
        scores = self.model.map_variant_scores(z, variants)
        onehot = np.eye(len(variants))[scores.argmax(axis=1)]
        return pd.DataFrame(onehot, index=contexts.index, columns=list(variants))

    def choose(
        self, contexts: pd.DataFrame, variants: Sequence[str], rng: np.random.Generator
    ) -> pd.DataFrame:
        """Draw one variant per row; returns contact_id, variant and its propensity."""
        if "contact_id" not in contexts:
            raise ModelInputError("contexts lack contact_id", columns=["contact_id"])
        probs = self.propensities(contexts, variants, rng).to_numpy()
        cumulative = probs.cumsum(axis=1)
        u = rng.random(len(probs))[:, None]
        picked = np.minimum((u >= cumulative).sum(axis=1), probs.shape[1] - 1)
        names = np.asarray(list(variants), dtype=object)
        return pd.DataFrame(
            {
                "contact_id": contexts["contact_id"].to_numpy(),
                "variant": names[picked],
                "probability": probs[np.arange(len(probs)), picked],
            }
        )

    def as_chooser(self) -> LearnedChooser:
        """This policy as the ``learned`` selector of ``selectors.choose_variant``: one
        recipient's attributes (feature-mart columns) in, (variant, propensity) out."""

        def chooser(
            slot: str, options: tuple[str, ...], attributes: Mapping[str, Any], rng: Any
        ) -> tuple[str, float]:
            row = pd.DataFrame([{"contact_id": None, **attributes}])
            chosen = self.choose(row, options, rng).iloc[0]
            return str(chosen["variant"]), float(chosen["probability"])

        return chooser

    def _floored(self, wins: np.ndarray) -> np.ndarray:
        k = wins.shape[1]
        f = min(self.config.floor, 1.0 / k)
        return (1.0 - k * f) * wins + f


def _check_variants(variants: Sequence[str]) -> list[str]:
    variants = [str(v) for v in variants]
    if not variants or len(set(variants)) != len(variants):
        raise ModelInputError(f"variants must be non-empty and unique, got {variants}")
    return variants
