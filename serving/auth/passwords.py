"""Password hashing for users: argon2id (argon2-cffi's RFC 9106 low-memory profile).

A hash carries its parameters, so raising them later only needs ``needs_rehash`` at the
next login. A new password (a user's creation, a change) must also be absent from the
shipped breached-password list (:func:`check_new_password`). ``verify`` spends the same
work on an unknown user as on a known one (a dummy hash), so response times do not tell
which addresses have accounts.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .protection.breached import BreachedPasswords, shipped

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


class WeakPassword(ValueError):
    """A password too short or too long to accept."""


class BreachedPassword(WeakPassword):
    """A new password that appears in the breached-password list, ``times_seen`` there."""

    def __init__(self, times_seen: int) -> None:
        super().__init__(
            f"this password appears in lists of breached passwords (seen {times_seen} "
            "times there); choose another"
        )
        self.times_seen = times_seen


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106 low-memory parameters


@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash("postwise-no-such-user")


def check_strength(password: str) -> None:
    """Refuse passwords outside ``MIN_PASSWORD_LENGTH``..``MAX_PASSWORD_LENGTH``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


def check_new_password(password: str, breached: BreachedPasswords | None = None) -> None:
    """Refuse a password being set: :func:`check_strength`, then :class:`BreachedPassword`
    when ``breached`` (default: the shipped list) has seen it."""
    check_strength(password)
    times_seen = (breached or shipped()).times_seen(password)
    if times_seen:
        raise BreachedPassword(times_seen)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (checked by :func:`check_strength`)."""
    check_strength(password)
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (None: no user; still costs a hash)."""
    try:
        return _hasher().verify(stored_hash or _dummy_hash(), password) and bool(stored_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)
