"""The click model: Bayesian logistic regression of P(click | context, variant), Laplace posterior.

    logit P(click) = b + z·β + α_v + z·γ_v + c_campaign

``z`` is the standardised context (``features.ContextFeaturizer``), ``β`` the context's main
effects shared by every variant, ``α_v`` and ``γ_v`` the variant's own intercept and
context interactions (what personalization exploits), ``c`` a nuisance effect per logged
campaign: campaigns differ threefold in click rate (send day, topic) and some offered fewer
variants, so without ``c`` a variant offered only in good campaigns would look better.

Independent Gaussian priors (``α`` wider than ``γ``: variant lifts are large and rare,
interactions small) make the MAP an L2-penalised logistic regression, fitted with
scikit-learn after scaling each column by its prior standard deviation (a unit-variance
prior on the scaled weight). The Laplace approximation ``N(MAP, H⁻¹)``, with ``H`` the
Hessian of the negative log posterior, is the posterior Thompson sampling draws from.
Only the variant block (``α``, ``γ``) is ever sampled: the shared terms cancel in an argmax
over variants, and its marginal is the matching sub-block of ``H⁻¹``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from .errors import ModelInputError


@dataclass(frozen=True)
class PriorScales:
    """Prior standard deviations of each coefficient block (log-odds units)."""

    context: float = 1.0
    variant: float = 0.5
    interaction: float = 0.15
    campaign: float = 1.0


class LaplaceClickModel:
    """Fit with ``fit``; then ``click_probability`` (MAP) and ``sample_variant_effects``."""

    def __init__(self, priors: PriorScales | None = None, max_iter: int = 200) -> None:
        self.priors = priors or PriorScales()
        self.max_iter = max_iter

    def fit(
        self,
        z: np.ndarray,
        variants: Sequence[str],
        clicks: Sequence[bool],
        campaigns: Sequence[str] | None = None,
    ) -> LaplaceClickModel:
        """Fit on logged exposures: context rows ``z``, shown variant, clicked or not."""
        z = np.asarray(z, dtype=np.float64)
        shown = np.asarray(variants, dtype=object)
        y = np.asarray(clicks, dtype=bool)
        if len(z) != len(shown) or len(z) != len(y):
            raise ModelInputError("context, variants and clicks differ in length")
        if y.all() or not y.any():
            raise ModelInputError("the click model needs both clicked and unclicked exposures")
        self.variants_ = tuple(sorted({str(v) for v in shown}))
        camp = np.asarray(campaigns if campaigns is not None else [], dtype=object)
        self.campaigns_ = tuple(sorted({str(c) for c in camp}))
        self.n_context_ = z.shape[1]

        design, scales = self._design(z, shown, camp)
        clf = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=self.max_iter, tol=1e-6)
        clf.fit(design * scales, y)  # unit prior on w = β / scale
        coef = clf.coef_[0] * scales
        self.theta_ = np.concatenate([[clf.intercept_[0]], coef])
        self._posterior(np.hstack([np.ones((len(z), 1)), design]), scales, y)
        return self

    # -- parameters by block ----------------------------------------------------------------

    @property
    def _k(self) -> int:
        return len(self.variants_)

    def _blocks(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        d, k = self.n_context_, self._k
        beta = theta[1 : 1 + d]
        alpha = theta[1 + d : 1 + d + k]
        gamma = theta[1 + d + k : 1 + d + k + k * d].reshape(k, d)
        return float(theta[0]), beta, alpha, gamma

    def _variant_slice(self) -> slice:
        d, k = self.n_context_, self._k
        return slice(1 + d, 1 + d + k + k * d)

    def campaign_effects(self) -> dict[str, float]:
        """MAP effect of every campaign seen in training (log-odds)."""
        start = 1 + self.n_context_ + self._k * (1 + self.n_context_)
        return dict(zip(self.campaigns_, self.theta_[start:].tolist(), strict=True))

    # -- prediction -------------------------------------------------------------------------

    def click_probability(
        self, z: np.ndarray, variants: Sequence[str], campaigns: Sequence[str] | None = None
    ) -> np.ndarray:
        """MAP P(click) for every row of ``z`` and every variant (n x len(variants)).

        A variant never seen in training gets no effect of its own (the prior mean); a
        campaign never seen (or none given) gets the average campaign.
        """
        z = np.asarray(z, dtype=np.float64)
        b, beta, alpha, gamma = self._blocks(self.theta_)
        base = b + z @ beta
        if campaigns is not None:
            effects = self.campaign_effects()
            base = base + np.array([effects.get(str(c), 0.0) for c in campaigns])
        own = self.variant_scores(z, variants, alpha, gamma)
        return 1.0 / (1.0 + np.exp(-(base[:, None] + own)))

    def map_variant_scores(self, z: np.ndarray, variants: Sequence[str]) -> np.ndarray:
        """``α_v + z·γ_v`` at the MAP: the part of the logit that differs between variants."""
        _, _, alpha, gamma = self._blocks(self.theta_)
        return self.variant_scores(np.asarray(z, dtype=np.float64), variants, alpha, gamma)

    def variant_scores(
        self, z: np.ndarray, variants: Sequence[str], alpha: np.ndarray, gamma: np.ndarray
    ) -> np.ndarray:
        """``α_v + z·γ_v`` for one parameter set (n x len(variants)); unknown variants 0."""
        index = {v: i for i, v in enumerate(self.variants_)}
        out = np.zeros((len(z), len(variants)))
        for j, v in enumerate(variants):
            if v in index:
                out[:, j] = alpha[index[v]] + z @ gamma[index[v]]
        return out

    def sample_variant_effects(
        self, variants: Sequence[str], draws: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior draws of ``α`` (draws x k) and ``γ`` (draws x k x d) for ``variants``.

        Known variants come from the Laplace posterior; unknown ones from the prior, which
        is what makes a brand-new variant get explored.
        """
        d, k = self.n_context_, self._k
        mean = self.theta_[self._variant_slice()]
        noise = rng.standard_normal((draws, len(mean)))
        known = mean + noise @ self.chol_variant_.T
        alpha_known = known[:, :k]
        gamma_known = known[:, k:].reshape(draws, k, d)
        alpha = np.empty((draws, len(variants)))
        gamma = np.empty((draws, len(variants), d))
        index = {v: i for i, v in enumerate(self.variants_)}
        for j, v in enumerate(variants):
            if v in index:
                alpha[:, j] = alpha_known[:, index[v]]
                gamma[:, j] = gamma_known[:, index[v]]
            else:
                alpha[:, j] = self.priors.variant * rng.standard_normal(draws)
                gamma[:, j] = self.priors.interaction * rng.standard_normal((draws, d))
        return alpha, gamma

    # -- internals --------------------------------------------------------------------------

    def _design(
        self, z: np.ndarray, shown: np.ndarray, campaigns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        p, d = self.priors, self.n_context_
        onehot = (shown[:, None] == np.asarray(self.variants_, dtype=object)[None, :]).astype(float)
        interactions = (onehot[:, :, None] * z[:, None, :]).reshape(len(z), -1)
        blocks = [z, onehot, interactions]
        scales = [
            np.full(d, p.context),
            np.full(self._k, p.variant),
            np.full(self._k * d, p.interaction),
        ]
        if self.campaigns_:
            names = np.asarray(self.campaigns_, dtype=object)
            blocks.append((campaigns[:, None] == names[None, :]).astype(float))
            scales.append(np.full(len(names), p.campaign))
        return np.hstack(blocks), np.concatenate(scales)

    def _posterior(self, design: np.ndarray, scales: np.ndarray, y: np.ndarray) -> None:
        """Laplace: H = XᵀWX + prior precision; keep the Cholesky factor of the variant
        block of H⁻¹ (the intercept's flat prior gets a tiny precision for stability)."""
        logit = design @ self.theta_
        prob = 1.0 / (1.0 + np.exp(-logit))
        weight = prob * (1.0 - prob)
        precision = np.concatenate([[1e-6], 1.0 / scales**2])
        hessian = design.T @ (design * weight[:, None])
        hessian[np.diag_indices_from(hessian)] += precision
        chol = np.linalg.cholesky(hessian)
        # Laplace log evidence (constants common to every prior dropped): the log-likelihood
        # at the MAP, minus the prior penalty, plus ½log|Λ| - ½log|H|. Comparing it across
        # prior scales is type-II maximum likelihood.
        loglik = float(np.sum(y * logit - np.logaddexp(0.0, logit)))
        self.log_evidence_ = (
            loglik
            - 0.5 * float(np.sum(precision * self.theta_**2))
            + 0.5 * float(np.sum(np.log(precision)))
            - float(np.sum(np.log(np.diag(chol))))
        )
        covariance = np.linalg.inv(hessian)
        block = covariance[self._variant_slice(), self._variant_slice()]
        self.chol_variant_ = np.linalg.cholesky((block + block.T) / 2.0)
        self.coef_sd_ = np.sqrt(np.diag(covariance))
