"""JWT access and refresh tokens of logged-in users (HS256 with SECRET_KEY).

An access token (15 minutes by default) authenticates requests as
``Authorization: Bearer <token>``; a refresh token (7 days) only buys a new pair at
``/v1/auth/refresh``, which revokes it (rotation: each refresh token works once). Both carry
a ``jti``; logging out puts the jtis on a Redis denylist until the tokens would expire
anyway (:class:`Denylist`).

Claims: ``sub`` (user id), ``org`` (organization id), ``typ`` (``access`` or ``refresh``),
``jti``, ``iat``, ``exp``, ``iss``, ``aud`` and ``amr``, how the user proved who they are
(``["pwd"]``, or ``["pwd", "mfa"]`` after a second factor; see :mod:`.mfa`). The role is not
in the token: it is read from the user's row, so a demotion or removal holds at once.

A third kind, ``mfa``, is the short-lived ticket a password login hands a user who has a
second factor: it buys tokens only together with a TOTP code or a WebAuthn assertion.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Literal

import jwt
import redis

from ..errors import AuthenticationFailed, ServiceUnavailable

ALGORITHM = "HS256"
ISSUER = "postwise"
AUDIENCE = "postwise-api"
TokenKind = Literal["access", "refresh", "mfa"]
PASSWORD = "pwd"
SECOND_FACTOR = "mfa"


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    org_id: uuid.UUID
    kind: TokenKind
    jti: str
    expires_at: int  # Unix seconds
    amr: tuple[str, ...] = (PASSWORD,)

    @property
    def second_factor(self) -> bool:
        """Whether the user proved a second factor when these tokens were issued."""
        return SECOND_FACTOR in self.amr


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_in: int
    refresh_expires_in: int


class TokenIssuer:
    """Issues and checks the tokens signed with one secret."""

    def __init__(
        self,
        secret: str,
        *,
        access_ttl: int = 900,
        refresh_ttl: int = 7 * 86400,
        mfa_ttl: int = 300,
    ) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.mfa_ttl = mfa_ttl

    def issue(
        self,
        user_id: uuid.UUID,
        org_id: uuid.UUID,
        *,
        now: float | None = None,
        amr: tuple[str, ...] = (PASSWORD,),
    ) -> TokenPair:
        issued = int(time.time() if now is None else now)
        return TokenPair(
            self._encode(user_id, org_id, "access", issued, self.access_ttl, amr),
            self._encode(user_id, org_id, "refresh", issued, self.refresh_ttl, amr),
            self.access_ttl,
            self.refresh_ttl,
        )

    def issue_mfa(self, user_id: uuid.UUID, org_id: uuid.UUID, *, now: float | None = None) -> str:
        """The ticket of a password login still owing its second factor."""
        issued = int(time.time() if now is None else now)
        return self._encode(user_id, org_id, "mfa", issued, self.mfa_ttl, (PASSWORD,))

    def _encode(
        self,
        user_id: uuid.UUID,
        org_id: uuid.UUID,
        kind: TokenKind,
        issued: int,
        ttl: int,
        amr: tuple[str, ...],
    ) -> str:
        claims = {
            "sub": str(user_id),
            "org": str(org_id),
            "typ": kind,
            "jti": secrets.token_urlsafe(16),
            "iat": issued,
            "exp": issued + ttl,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "amr": list(amr),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str, kind: TokenKind) -> TokenClaims:
        """The claims of a valid, unexpired ``kind`` token; 401 with a reason otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["sub", "org", "typ", "jti", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("token_expired", f"the {kind} token has expired") from None
        except jwt.InvalidTokenError:
            raise AuthenticationFailed("invalid_token", f"not a valid {kind} token") from None
        if claims["typ"] != kind:
            raise AuthenticationFailed("invalid_token", f"a {claims['typ']} token, not {kind}")
        amr = claims.get("amr", [PASSWORD])
        try:
            if not isinstance(amr, list) or not all(isinstance(m, str) for m in amr):
                raise TypeError("amr is not a list of names")
            return TokenClaims(
                uuid.UUID(claims["sub"]),
                uuid.UUID(claims["org"]),
                kind,
                str(claims["jti"]),
                int(claims["exp"]),
                tuple(amr),
            )
        except (ValueError, TypeError):
            raise AuthenticationFailed("invalid_token", f"not a valid {kind} token") from None


class Denylist:
    """Revoked token ids in Redis, each kept until its token would have expired.

    Checking fails closed: without Redis a token's revocation cannot be known, so the
    request is answered 503 rather than let a logged-out token through.
    """

    def __init__(self, client: redis.Redis | None, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, jti: str) -> str:
        return f"{self._prefix}:jwt:deny:{jti}"

    def revoke(self, claims: TokenClaims, *, now: float | None = None) -> bool:
        """Deny ``claims``'s token; False when it was denied already."""
        ttl = claims.expires_at - int(time.time() if now is None else now)
        if ttl <= 0:
            return False  # expired: nothing to deny
        client = self._client()
        try:
            return bool(client.set(self._key(claims.jti), 1, nx=True, ex=ttl))
        except redis.RedisError as exc:
            raise ServiceUnavailable(
                f"tokens cannot be revoked: Redis cannot answer ({exc})"
            ) from None

    def is_revoked(self, claims: TokenClaims) -> bool:
        client = self._client()
        try:
            return bool(client.exists(self._key(claims.jti)))
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"token revocation cannot be checked: {exc}") from None

    def _client(self) -> redis.Redis:
        if self._redis is None:
            raise ServiceUnavailable("user tokens need Redis (REDIS_URL) for their denylist")
        return self._redis
