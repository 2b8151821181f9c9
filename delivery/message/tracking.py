"""Signed tracking tokens: what an open pixel, a click link, an unsubscribe link or a
preference-center link stands for, signed with the secret key so nobody can forge one (a
click redirect goes only to the URL signed into its token: no open redirect)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from .errors import InvalidToken

KINDS = ("open", "click", "unsubscribe", "preferences")


@dataclass(frozen=True)
class TrackingUrls:
    """Where the tracking endpoints live (the API's public base URL)."""

    base_url: str

    def open_pixel(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/t/o/{token}.gif"

    def click(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/t/c/{token}"

    def unsubscribe(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/t/u/{token}"

    def preferences(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/t/p/{token}"


class TrackingSigner:
    """Signs and checks tokens, one salt per kind (a click token is no unsubscribe token)."""

    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < 16:
            raise ValueError("the tracking secret must have at least 16 characters")
        self._serializers = {kind: URLSafeSerializer(secret_key, salt=kind) for kind in KINDS}

    def sign(self, kind: str, payload: dict[str, Any]) -> str:
        return str(self._serializers[kind].dumps(payload))

    def verify(self, kind: str, token: str) -> dict[str, Any]:
        try:
            payload = self._serializers[kind].loads(token)
        except BadSignature:
            raise InvalidToken(f"not a valid {kind} token") from None
        if not isinstance(payload, dict):
            raise InvalidToken(f"not a valid {kind} token")
        return payload
