"""Second factors for the serving tests: a TOTP authenticator app that never reuses a time
step, a software WebAuthn authenticator (a P-256 key, "none" attestation), and the log-in
of an owner through enrolment and the second step, for tests that call owner routes as a
user."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import cbor2
import httpx
import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from live_api import TotpApp, bearer, enrol_totp
from ops_kit import PASSWORD

__all__ = ["TotpApp", "bearer", "enrol_totp"]


def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def amr_of(access_token: str) -> list[str]:
    """The ``amr`` claim of a token (read, not verified)."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return list(claims["amr"])


@dataclass
class SoftKey:
    """A software FIDO2 authenticator: a P-256 key pair and a signature counter."""

    rp_id: str
    origin: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    sign_count: int = 0

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def client_data(self, kind: str, options: dict[str, Any], origin: str | None = None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": options["challenge"],
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def register(self, options: dict[str, Any]) -> dict[str, Any]:
        """The PublicKeyCredential ``navigator.credentials.create(options)`` would give."""
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        attested = (
            bytes(16)
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self.cose_key()
        )
        auth_data = rp_hash + bytes([0x41]) + self.sign_count.to_bytes(4, "big") + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64u(self.credential_id),
            "rawId": b64u(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64u(self.client_data("webauthn.create", options)),
                "attestationObject": b64u(attestation),
            },
        }

    def assertion(
        self, options: dict[str, Any], *, count: int | None = None, origin: str | None = None
    ) -> dict[str, Any]:
        """The PublicKeyCredential ``navigator.credentials.get(options)`` would give; the
        counter moves forward unless ``count`` says what to report."""
        if count is None:
            self.sign_count += 1
            count = self.sign_count
        client_data = self.client_data("webauthn.get", options, origin)
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        auth_data = rp_hash + bytes([0x01]) + count.to_bytes(4, "big")
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64u(self.credential_id),
            "rawId": b64u(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64u(client_data),
                "authenticatorData": b64u(auth_data),
                "signature": b64u(signature),
            },
        }


def login(api_url: str, email: str, password: str = PASSWORD, **extra: str) -> httpx.Response:
    return httpx.post(
        f"{api_url}/v1/auth/login", json={"email": email, "password": password, **extra}
    )


def totp_login(api_url: str, email: str, app: TotpApp, **extra: str) -> dict[str, Any]:
    """Both steps of a login with a TOTP factor; the token pair."""
    first = login(api_url, email, **extra)
    assert (first.status_code, first.json()["code"]) == (401, "mfa_required"), first.text
    second = httpx.post(
        f"{api_url}/v1/auth/mfa/totp",
        json={"mfa_token": first.json()["mfa_token"], "code": app.code()},
    )
    assert second.status_code == 200, second.text
    tokens: dict[str, Any] = second.json()
    return tokens


def admin_tokens(api_url: str, email: str, **extra: str) -> tuple[dict[str, Any], TotpApp]:
    """Log a factor-less owner in, enrol TOTP and log in again with it: the owner's token
    pair (``amr`` with ``mfa``) and authenticator app."""
    first = login(api_url, email, **extra)
    assert first.status_code == 200, first.text
    app = enrol_totp(api_url, first.json()["access_token"])
    return totp_login(api_url, email, app, **extra), app


def user_id_of(api_url: str, access_token: str) -> uuid.UUID:
    me = httpx.get(f"{api_url}/v1/me", headers=bearer(access_token)).json()
    return uuid.UUID(me["subject"].removeprefix("user:"))
