"""Time-based one-time passwords (RFC 6238, pyotp): 6 digits, 30-second steps, a code of the
step before or after also accepted (clock drift). :func:`matching_step` says which step a
code belongs to, so the caller can refuse the same step twice (replay)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

import pyotp

STEP_SECONDS = 30
DRIFT_STEPS = 1  # steps accepted on either side of the current one
ISSUER = "Postwise"


def new_secret() -> str:
    """A fresh base32 secret (160 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (counter) whose code ``code`` is, within the drift window; None
    when it matches none."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(datetime.fromtimestamp(now, UTC))
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
