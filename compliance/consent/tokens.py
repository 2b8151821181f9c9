"""Signed, expiring opt-in confirmation tokens.

A token stands for one step (2: the email confirmation link, 3: the preference
confirmation) of one contact's opt-in for one channel and purpose. Its claims are signed
with a key derived from the settings' secret (so it differs from the tracking links' key)
and carry their expiry time; :meth:`OptInTokens.read` refuses a forged, altered or expired
token with a typed error. Each token has its own id: the workflow records the id when the
token is used, so a token works once (see :mod:`.workflow`).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from ..errors import OptInTokenExpired, OptInTokenInvalid

_SALT = "postwise-opt-in"
_KEY_LABEL = b"postwise opt-in tokens v1"


@dataclass(frozen=True)
class OptInClaims:
    """What an opt-in token stands for."""

    token_id: uuid.UUID
    contact_id: uuid.UUID
    org_id: uuid.UUID
    region: str
    channel: str
    purpose: str
    step: int
    expires_at: int  # epoch seconds


class OptInTokens:
    """Issues and reads opt-in tokens; ``ttl_seconds`` is how long one works."""

    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        if len(secret_key) < 16:
            raise ValueError("the opt-in token secret must have at least 16 characters")
        key = hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).hexdigest()
        self._serializer = URLSafeSerializer(key, salt=_SALT)
        self.ttl_seconds = ttl_seconds

    def issue(
        self,
        *,
        contact_id: uuid.UUID,
        org_id: uuid.UUID,
        region: str,
        channel: str,
        purpose: str,
        step: int,
        now: float | None = None,
    ) -> str:
        """A new token for ``step`` (2 or 3), valid for ``ttl_seconds`` from ``now``."""
        issued = time.time() if now is None else now
        payload = {
            "j": uuid.uuid4().hex,
            "c": str(contact_id),
            "o": str(org_id),
            "r": region,
            "ch": channel,
            "p": purpose,
            "s": step,
            "x": int(issued) + self.ttl_seconds,
        }
        return str(self._serializer.dumps(payload))

    def read(self, token: str, *, now: float | None = None) -> OptInClaims:
        """The token's claims; :class:`OptInTokenInvalid` or :class:`OptInTokenExpired`."""
        try:
            payload = self._serializer.loads(token)
        except BadSignature:
            raise OptInTokenInvalid("this confirmation link is not valid") from None
        try:
            claims = OptInClaims(
                token_id=uuid.UUID(payload["j"]),
                contact_id=uuid.UUID(payload["c"]),
                org_id=uuid.UUID(payload["o"]),
                region=str(payload["r"]),
                channel=str(payload["ch"]),
                purpose=str(payload["p"]),
                step=int(payload["s"]),
                expires_at=int(payload["x"]),
            )
        except (KeyError, TypeError, ValueError):
            raise OptInTokenInvalid("this confirmation link is not valid") from None
        if claims.step not in (2, 3):
            raise OptInTokenInvalid("this confirmation link is not valid")
        if (time.time() if now is None else now) >= claims.expires_at:
            raise OptInTokenExpired("this confirmation link has expired; sign up again")
        return claims
