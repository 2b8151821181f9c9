"""The operational side of an API process, opened with its other clients at start-up:
circuit breakers, metrics, rate limits, live counters, user sessions, users' second factors,
account protection (login lockout and risk score) and model serving.

``Operations.admit(principal)`` is the rate-limit check every authenticated request passes
(``deps.get_principal`` calls it): the caller's own window (its API key, or its user) and
its organization's, ``RATE_LIMIT_PER_KEY`` and ``RATE_LIMIT_PER_ORG`` requests per
``RATE_LIMIT_WINDOW_SECONDS``.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from postwise.settings import Settings
from warehouse.db import Cells

from ..auth.mfa import SecondFactors
from ..auth.mfa.challenges import ChallengeStore
from ..auth.mfa.sealing import FactorSealer
from ..auth.mfa.security_keys import RelyingParty
from ..auth.protection.lockout import Lockout, LockoutPolicy
from ..auth.protection.risk import RiskPolicy
from ..auth.protection.service import AccountProtection
from ..auth.roles import Principal
from ..auth.sessions import Sessions
from ..auth.tokens import Denylist, TokenIssuer
from ..errors import RateLimited
from ..limits import LiveCounters, RateLimiter
from ..limits.window import Limit
from ..modelserving import ChampionCache, mlflow_loader
from ..modelserving.service import ModelServing
from ..resilience import ApiMetrics, Breakers


@dataclass
class Operations:
    breakers: Breakers
    metrics: ApiMetrics
    limiter: RateLimiter
    counters: LiveCounters
    sessions: Sessions
    factors: SecondFactors
    protection: AccountProtection
    models: ModelServing
    per_key: int
    per_org: int
    per_login: int

    @classmethod
    def open(cls, settings: Settings, cells: Cells, client: redis.Redis | None) -> Operations:
        breakers = Breakers(
            failure_threshold=settings.breaker_failure_threshold,
            cool_down_seconds=settings.breaker_cool_down_seconds,
        )
        metrics = ApiMetrics(breakers)
        prefix = settings.database_prefix
        limiter = RateLimiter(
            client, prefix, breakers, window_seconds=settings.rate_limit_window_seconds
        )
        issuer = TokenIssuer(
            settings.secret_key,
            access_ttl=settings.jwt_access_ttl_seconds,
            refresh_ttl=settings.jwt_refresh_ttl_seconds,
            mfa_ttl=settings.mfa_ticket_seconds,
        )
        denylist = Denylist(client, prefix)
        sessions = Sessions(cells, issuer, denylist)
        factors = SecondFactors(
            cells,
            ChallengeStore(client, prefix),
            FactorSealer(settings.secret_key),
            RelyingParty(
                settings.webauthn_rp_id, settings.webauthn_rp_name, tuple(settings.webauthn_origins)
            ),
            issuer,
            denylist,
        )
        protection = AccountProtection(
            cells,
            Lockout(client, prefix, breakers, lockout_policy(settings)),
            risk_policy(settings),
            settings.secret_key,
            country_header=settings.login_country_header,
        )
        loader = (
            mlflow_loader(settings.mlflow_tracking_uri) if settings.mlflow_tracking_uri else None
        )
        champions = ChampionCache(
            loader,
            breakers,
            refresh_seconds=settings.model_refresh_seconds,
            wait_seconds=settings.model_load_wait_seconds,
            retry_seconds=settings.breaker_cool_down_seconds,
        )
        return cls(
            breakers=breakers,
            metrics=metrics,
            limiter=limiter,
            counters=LiveCounters(client, prefix),
            sessions=sessions,
            factors=factors,
            protection=protection,
            models=ModelServing(cells, champions, breakers, metrics),
            per_key=settings.rate_limit_per_key,
            per_org=settings.rate_limit_per_org,
            per_login=settings.rate_limit_logins,
        )

    def admit(self, principal: Principal) -> None:
        """Count one request of ``principal``; :class:`RateLimited` (429) over a limit."""
        decision = self.limiter.check(self._limits(principal))
        self._enforce(decision.admitted, decision.scope, decision.retry_after)

    async def claim_and_admit(
        self, principal: Principal, nonce_key: str, nonce_seconds: int
    ) -> bool:
        """Claim a signed request's nonce and count the request as :meth:`admit` does, in
        one Redis round trip; False when the nonce was already used (nothing counted)."""
        decision = await self.limiter.claim_and_check(
            nonce_key, nonce_seconds, self._limits(principal)
        )
        if decision is None:
            return False
        self._enforce(decision.admitted, decision.scope, decision.retry_after)
        return True

    def _limits(self, principal: Principal) -> list[Limit]:
        org = principal.org_id
        kind, _, subject = principal.subject.partition(":")
        return [
            Limit(kind, self.limiter.key(org, kind, subject), self.per_key),
            Limit("org", self.limiter.key(org, "org", "all"), self.per_org),
        ]

    def admit_login(self, client_ip: str | None, email: str) -> None:
        """Count one login attempt for this address from this client."""
        subject = f"{client_ip or '-'}|{email.strip().lower()}"
        decision = self.limiter.check(
            [Limit("login", self.limiter.key("login", "login", subject), self.per_login)]
        )
        self._enforce(decision.admitted, decision.scope, decision.retry_after)

    def _enforce(self, admitted: bool, scope: str | None, retry_after: int) -> None:
        if admitted:
            return
        self.metrics.rate_limited.labels(scope or "unknown").inc()
        raise RateLimited(scope or "unknown", retry_after)


def lockout_policy(settings: Settings) -> LockoutPolicy:
    """The login failure windows and locks that ``settings`` ask for."""
    return LockoutPolicy(
        window_seconds=settings.login_failure_window_seconds,
        lock_after=settings.login_lock_after_failures,
        lock_seconds=settings.login_lock_seconds,
        max_lock_seconds=settings.login_lock_max_seconds,
        client_failures=settings.login_client_failures,
    )


def risk_policy(settings: Settings) -> RiskPolicy:
    """The login-risk thresholds of ``settings`` (the weights are the policy's own)."""
    return RiskPolicy(
        challenge_at=settings.login_risk_challenge_at,
        block_at=settings.login_risk_block_at,
        max_travel_kmh=settings.login_risk_max_travel_kmh,
        min_history=settings.login_risk_min_history,
        burst_failures=settings.login_risk_burst_failures,
    )
