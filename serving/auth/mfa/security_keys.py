"""WebAuthn / FIDO2 ceremonies, verified server-side by the ``webauthn`` library: options
for a browser's ``navigator.credentials.create()`` and ``.get()``, and the checks of what the
authenticator answered (challenge, origin, relying-party id, user presence, signature, and a
signature counter that must move forward).

The relying party is the site the API serves the dashboard on (``WEBAUTHN_RP_ID``, the
origins allowed in ``WEBAUTHN_ORIGINS``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import PublicKeyCredentialDescriptor

from .store import StoredCredential

TIMEOUT_MS = 300_000
# What the library raises on an answer that does not verify, or is not shaped as one.
UNVERIFIED = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError, IndexError)


class AssertionRejected(ValueError):
    """An authenticator's answer that does not verify; the message says why."""


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str
    name: str
    origins: tuple[str, ...]


@dataclass(frozen=True)
class Ceremony:
    """Options to hand the browser, and the challenge they carry (kept server-side)."""

    options: dict[str, Any]
    challenge: bytes


def registration_options(
    rp: RelyingParty, user_id: uuid.UUID, user_name: str, registered: list[bytes]
) -> Ceremony:
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=rp.name,
        user_id=user_id.bytes,
        user_name=user_name,
        timeout=TIMEOUT_MS,
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in registered],
    )
    return Ceremony(json.loads(options_to_json(options)), options.challenge)


def verify_registration(
    rp: RelyingParty, credential: dict[str, Any], challenge: bytes
) -> StoredCredential:
    """The new credential, once the attestation verifies."""
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins),
        )
    except UNVERIFIED as exc:
        raise AssertionRejected(str(exc) or type(exc).__name__) from None
    return StoredCredential(
        verified.credential_id, verified.credential_public_key, verified.sign_count
    )


def authentication_options(rp: RelyingParty, allowed: list[bytes]) -> Ceremony:
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        timeout=TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in allowed],
    )
    return Ceremony(json.loads(options_to_json(options)), options.challenge)


def verify_assertion(
    rp: RelyingParty, credential: dict[str, Any], challenge: bytes, stored: StoredCredential
) -> int:
    """The signature counter the authenticator reported, once the assertion verifies;
    a counter that did not move forward (a cloned key, a replay) is refused."""
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins),
            credential_public_key=stored.public_key,
            credential_current_sign_count=stored.sign_count,
        )
    except UNVERIFIED as exc:
        raise AssertionRejected(str(exc) or type(exc).__name__) from None
    return verified.new_sign_count


def credential_id_of(credential: dict[str, Any]) -> bytes | None:
    """The raw id an assertion names (None when it names none that decodes)."""
    raw = credential.get("rawId") or credential.get("id")
    if not isinstance(raw, str):
        return None
    try:
        return base64url_to_bytes(raw)
    except ValueError:
        return None
