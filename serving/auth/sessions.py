"""The API process's user sessions: login, token refresh with rotation, logout through the
Redis denylist, and ``Authorization: Bearer`` authentication as a :class:`Principal`.

Users are looked up in the control database (cached for ``USER_CACHE_SECONDS``, so a
removal or a role change holds within seconds even for live access tokens), together with
any live break-glass grant raising their role (:mod:`.break_glass`; its expiry holds to
the second, a revocation within the cache time).

A user with a second factor (:mod:`.mfa`) does not get tokens from a password alone:
:meth:`Sessions.login` raises :class:`SecondFactorNeeded` with a short-lived ``mfa`` ticket
that the second step (``/v1/auth/mfa/...``) trades for tokens.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import psycopg

from warehouse.db import Cells

from ..errors import AuthenticationFailed, ValidationFailed
from .break_glass import Grant, live_grant
from .mfa.store import factor_methods
from .passwords import hash_password, needs_rehash, verify_password
from .roles import Principal
from .tokens import Denylist, TokenClaims, TokenIssuer, TokenPair
from .users import ActiveUser, active_user, login_candidates, set_password_hash

USER_CACHE_SECONDS = 5.0
# Called with (user id, organization id, second-factor methods) once the password is right,
# before anything is issued; it may raise to refuse the login (account protection).
Screen = Callable[[uuid.UUID, uuid.UUID, list[str]], object]


class SecondFactorNeeded(AuthenticationFailed):
    """The password was right, and the user has a second factor still to prove."""

    def __init__(self, mfa_token: str, methods: list[str], expires_in: int) -> None:
        super().__init__(
            "mfa_required", "prove your second factor: POST the mfa_token to /v1/auth/mfa/..."
        )
        self.mfa_token = mfa_token
        self.methods = methods
        self.expires_in = expires_in


class Sessions:
    def __init__(
        self,
        cells: Cells,
        issuer: TokenIssuer,
        denylist: Denylist,
        *,
        user_cache_seconds: float = USER_CACHE_SECONDS,
    ) -> None:
        self._cells = cells
        self.issuer = issuer
        self.denylist = denylist
        self._cache_seconds = user_cache_seconds
        self._users: dict[uuid.UUID, tuple[float, ActiveUser | None, Grant | None]] = {}
        self._lock = threading.Lock()

    def login(
        self, email: str, password: str, org_slug: str | None, *, screen: Screen | None = None
    ) -> TokenPair:
        """A token pair for the user with ``email`` and ``password``; 401 otherwise
        (``screen`` may refuse a right password, see :data:`Screen`)."""
        with self._control() as conn:
            candidates = login_candidates(conn, email, org_slug)
        matching = [c for c in candidates if verify_password(c.password_hash, password)]
        if not candidates:
            verify_password(None, password)  # the same work as for a known address
        if not matching:
            raise AuthenticationFailed("invalid_credentials", "the email or password is wrong")
        if len(matching) > 1:
            raise ValidationFailed(
                "organization_required",
                "this address has accounts in several organizations: send `org` (its slug)",
            )
        user = matching[0]
        with self._control() as conn:
            if user.password_hash and needs_rehash(user.password_hash):
                set_password_hash(conn, user.user_id, hash_password(password))
            methods = factor_methods(conn, user.user_id)
        if screen is not None:
            screen(user.user_id, user.org_id, methods)
        if methods:
            ticket = self.issuer.issue_mfa(user.user_id, user.org_id)
            raise SecondFactorNeeded(ticket, methods, self.issuer.mfa_ttl)
        return self.issuer.issue(user.user_id, user.org_id)

    def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for a live refresh token, which is used up (a second use fails)."""
        claims = self.issuer.decode(refresh_token, "refresh")
        self._active(claims)
        if not claims.second_factor:
            with self._control() as conn:
                if factor_methods(conn, claims.user_id):
                    raise AuthenticationFailed(
                        "second_factor_required",
                        "this account has a second factor now: log in again and prove it",
                    )
        if not self.denylist.revoke(claims):
            raise AuthenticationFailed("revoked_token", "this refresh token was already used")
        return self.issuer.issue(claims.user_id, claims.org_id, amr=claims.amr)

    def logout(self, access: TokenClaims, refresh_token: str | None) -> None:
        """Revoke the access token and, when given, the same user's refresh token."""
        refresh = None
        if refresh_token is not None:
            refresh = self.issuer.decode(refresh_token, "refresh")
            if refresh.user_id != access.user_id:
                raise ValidationFailed("token_mismatch", "the refresh token is another user's")
        self.denylist.revoke(access)
        if refresh is not None:
            self.denylist.revoke(refresh)

    def access_claims(self, token: str) -> TokenClaims:
        """The claims of a live, unrevoked access token."""
        claims = self.issuer.decode(token, "access")
        if self.denylist.is_revoked(claims):
            raise AuthenticationFailed("revoked_token", "this token was revoked (logged out)")
        return claims

    def authenticate(self, token: str) -> Principal:
        """The caller of ``Authorization: Bearer <token>``."""
        claims = self.access_claims(token)
        user, grant = self._active_with_grant(claims)
        role, grant_id = user.role, None
        if grant is not None and grant.live(datetime.now(UTC)) and grant.role.rank > role.rank:
            role, grant_id = grant.role, grant.grant_id
        return Principal(
            user.org_id, role, f"user:{user.user_id}", user.home_region, claims.amr, grant_id
        )

    def _active(self, claims: TokenClaims) -> ActiveUser:
        return self._active_with_grant(claims)[0]

    def _active_with_grant(self, claims: TokenClaims) -> tuple[ActiveUser, Grant | None]:
        user, grant = self._user(claims.user_id)
        if user is None or user.org_id != claims.org_id:
            raise AuthenticationFailed("inactive_user", "this user no longer has access")
        return user, grant

    def _user(self, user_id: uuid.UUID) -> tuple[ActiveUser | None, Grant | None]:
        now = time.monotonic()
        with self._lock:
            cached = self._users.get(user_id)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1], cached[2]
        with self._control() as conn:
            user = active_user(conn, user_id)
            grant = live_grant(conn, user_id) if user is not None else None
        with self._lock:
            self._users[user_id] = (now, user, grant)
        return user, grant

    def _control(self) -> AbstractContextManager[psycopg.Connection]:
        # A control database that cannot answer raises psycopg.OperationalError, which the
        # API's guard answers 503 database_unavailable.
        return self._cells.connection("control")
