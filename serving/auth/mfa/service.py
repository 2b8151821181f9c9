"""The API process's second factors: enrolment (TOTP, WebAuthn), listing and removal for
the signed-in user, and the second step of a login, which trades the ``mfa`` ticket of a
password login and a TOTP code or WebAuthn assertion for tokens whose ``amr`` says
``mfa``.

A user who already has a factor changes their factors only with a token that proved one.
Every enrolment and removal is written to the control database's audit log.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import psycopg

from compliance.audit import record
from warehouse.db import Cells

from ...errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    SecondFactorRequired,
    ValidationFailed,
)
from ..roles import Principal
from ..tokens import PASSWORD, SECOND_FACTOR, Denylist, TokenClaims, TokenIssuer, TokenPair
from . import security_keys, store, totp
from .challenges import ChallengeStore
from .sealing import FactorSealer
from .security_keys import AssertionRejected, RelyingParty
from .store import FactorRow, StoredCredential

REGISTER = "register"
LOGIN = "login"
FACTOR_AMR = (PASSWORD, SECOND_FACTOR)


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str  # base32, shown once
    otpauth_uri: str


class SecondFactors:
    def __init__(
        self,
        cells: Cells,
        challenges: ChallengeStore,
        sealer: FactorSealer,
        rp: RelyingParty,
        issuer: TokenIssuer,
        denylist: Denylist,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cells = cells
        self._challenges = challenges
        self._sealer = sealer
        self.rp = rp
        self._issuer = issuer
        self._denylist = denylist
        self._clock = clock

    # Enrolment, for the signed-in user.

    def factors(self, principal: Principal) -> list[FactorRow]:
        user_id = _user_id(principal)
        with self._control() as conn:
            return store.list_factors(conn, user_id)

    def begin_totp(self, principal: Principal) -> TotpEnrolment:
        """A new secret, pending until :meth:`confirm_totp` sees one of its codes."""
        user_id = self._may_change(principal)
        secret = totp.new_secret()
        with self._control() as conn:
            email = _email(conn, user_id)
            if not store.save_pending_totp(
                conn, user_id, self._sealer.seal(user_id, secret.encode())
            ):
                raise Conflict("totp_already_enrolled", "remove the current TOTP factor first")
        return TotpEnrolment(secret, totp.provisioning_uri(secret, email))

    def confirm_totp(self, principal: Principal, code: str) -> None:
        user_id = self._may_change(principal)
        with self._control() as conn:
            sealed = store.totp_secret(conn, user_id, confirmed=False)
            if sealed is None:
                raise NotFound("no_pending_totp", "start a TOTP enrolment first")
            secret = self._sealer.open(user_id, sealed).decode()
            step = totp.matching_step(secret, code, self._clock())
            if step is None or not self._challenges.claim_totp_step(user_id, step):
                raise ValidationFailed("invalid_code", "the code does not match the new secret")
            store.confirm_totp(conn, user_id)
            _audit(conn, principal, "mfa.totp_enrolled", {"kind": store.TOTP})

    def remove_totp(self, principal: Principal) -> None:
        user_id = self._may_change(principal)
        with self._control() as conn:
            if not store.remove_totp(conn, user_id):
                raise NotFound("factor_not_found", "no TOTP factor is enrolled")
            _audit(conn, principal, "mfa.factor_removed", {"kind": store.TOTP})

    def begin_webauthn(self, principal: Principal) -> dict[str, Any]:
        """Options for ``navigator.credentials.create()``; the challenge is kept here."""
        user_id = self._may_change(principal)
        with self._control() as conn:
            email = _email(conn, user_id)
            registered = [c.credential_id for c in store.credentials(conn, user_id)]
        ceremony = security_keys.registration_options(self.rp, user_id, email, registered)
        self._challenges.put(REGISTER, user_id, ceremony.challenge)
        return ceremony.options

    def finish_webauthn(
        self, principal: Principal, credential: dict[str, Any], name: str
    ) -> FactorRow:
        user_id = self._may_change(principal)
        challenge = self._challenges.take(REGISTER, user_id)
        if challenge is None:
            raise ValidationFailed("no_challenge", "ask for registration options first")
        try:
            stored = security_keys.verify_registration(self.rp, credential, challenge)
        except AssertionRejected as exc:
            raise ValidationFailed("invalid_attestation", str(exc)) from None
        with self._control() as conn:
            if not store.add_credential(conn, user_id, principal.org_id, stored, name):
                raise Conflict("credential_exists", "this credential is registered already")
            _audit(
                conn,
                principal,
                "mfa.webauthn_registered",
                {"kind": store.WEBAUTHN, "credential_id": store.base64url(stored.credential_id)},
            )
            return next(
                f
                for f in store.list_factors(conn, user_id)
                if f.factor_id == store.base64url(stored.credential_id)
            )

    def remove_webauthn(self, principal: Principal, credential_id: bytes) -> None:
        user_id = self._may_change(principal)
        with self._control() as conn:
            if not store.remove_credential(conn, user_id, credential_id):
                raise NotFound("factor_not_found", "no such credential of yours")
            _audit(
                conn,
                principal,
                "mfa.factor_removed",
                {"kind": store.WEBAUTHN, "credential_id": store.base64url(credential_id)},
            )

    # The second step of a login.

    def ticket(self, mfa_token: str) -> TokenClaims:
        """The claims of a live ``mfa`` ticket."""
        claims = self._issuer.decode(mfa_token, "mfa")
        if self._denylist.is_revoked(claims):
            raise AuthenticationFailed("revoked_token", "this login ticket was used already")
        return claims

    def login_totp(self, ticket: TokenClaims, code: str) -> TokenPair:
        with self._control() as conn:
            sealed = store.totp_secret(conn, ticket.user_id, confirmed=True)
            if sealed is None:
                raise AuthenticationFailed("invalid_second_factor", "no TOTP factor is enrolled")
            secret = self._sealer.open(ticket.user_id, sealed).decode()
            step = totp.matching_step(secret, code, self._clock())
            if step is None:
                raise AuthenticationFailed("invalid_second_factor", "the code is not valid")
            if not self._challenges.claim_totp_step(ticket.user_id, step):
                raise AuthenticationFailed("replayed_code", "this code was used already")
            store.touch_totp(conn, ticket.user_id)
        return self._finish(ticket)

    def login_webauthn_options(self, ticket: TokenClaims) -> dict[str, Any]:
        with self._control() as conn:
            allowed = [c.credential_id for c in store.credentials(conn, ticket.user_id)]
        if not allowed:
            raise AuthenticationFailed("invalid_second_factor", "no security key is registered")
        ceremony = security_keys.authentication_options(self.rp, allowed)
        self._challenges.put(LOGIN, ticket.user_id, ceremony.challenge)
        return ceremony.options

    def login_webauthn(self, ticket: TokenClaims, credential: dict[str, Any]) -> TokenPair:
        challenge = self._challenges.take(LOGIN, ticket.user_id)
        if challenge is None:
            raise AuthenticationFailed("no_challenge", "ask for authentication options first")
        credential_id = security_keys.credential_id_of(credential)
        with self._control() as conn:
            stored = _credential(store.credentials(conn, ticket.user_id), credential_id)
            try:
                count = security_keys.verify_assertion(self.rp, credential, challenge, stored)
            except AssertionRejected as exc:
                raise AuthenticationFailed("invalid_second_factor", str(exc)) from None
            if not store.advance_sign_count(conn, stored.credential_id, stored.sign_count, count):
                raise AuthenticationFailed("invalid_second_factor", "the key was used meanwhile")
        return self._finish(ticket)

    def _finish(self, ticket: TokenClaims) -> TokenPair:
        if not self._denylist.revoke(ticket):
            raise AuthenticationFailed("revoked_token", "this login ticket was used already")
        return self._issuer.issue(ticket.user_id, ticket.org_id, amr=FACTOR_AMR)

    def _may_change(self, principal: Principal) -> uuid.UUID:
        """The user's id, when their token may change their factors: a user who has one
        already must have proved one."""
        user_id = _user_id(principal)
        if SECOND_FACTOR not in principal.amr:
            with self._control() as conn:
                if store.factor_methods(conn, user_id):
                    raise SecondFactorRequired(
                        "sign in with your second factor to change your factors"
                    )
        return user_id

    def _control(self) -> AbstractContextManager[psycopg.Connection]:
        return self._cells.connection("control")


def _user_id(principal: Principal) -> uuid.UUID:
    if not principal.is_user:
        raise ValidationFailed(
            "not_a_user", "second factors belong to users; API keys sign their requests"
        )
    return uuid.UUID(principal.subject.removeprefix("user:"))


def _email(conn: psycopg.Connection, user_id: uuid.UUID) -> str:
    row = conn.execute("SELECT email FROM users WHERE user_id = %s", (user_id,)).fetchone()
    if row is None:
        raise AuthenticationFailed("inactive_user", "this user no longer has access")
    return str(row[0])


def _credential(known: list[StoredCredential], credential_id: bytes | None) -> StoredCredential:
    for stored in known:
        if credential_id is not None and stored.credential_id == credential_id:
            return stored
    raise AuthenticationFailed("invalid_second_factor", "the credential is not registered")


def _audit(
    conn: psycopg.Connection, principal: Principal, action: str, details: dict[str, Any]
) -> None:
    record(
        conn,
        actor=principal.subject,
        action=action,
        subject=principal.subject,
        org_id=principal.org_id,
        details=details,
    )
