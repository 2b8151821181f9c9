"""The API process's account protection, called by the login route around the password
check (:class:`AccountProtection`), by the second step of a login, and by owners unlocking.

A login goes: :meth:`~AccountProtection.admit` (a locked account answers 423, a throttled
client 429, both with Retry-After, for addresses with and without an account alike) ->
password -> on failure :meth:`~AccountProtection.failed` (which may lock), on success
:meth:`~AccountProtection.screen` (the risk score: allow, demand the second factor, or
block with 403 ``login_blocked``) -> for a user with a second factor, the second step's
:meth:`~AccountProtection.verified`.

Every decision is written to the control audit log. Entries name a client by a keyed,
truncated hash of its address, never the address: an IP address is personal data, and
telling the attempts of one client from another's is all an investigation needs from it.
Attempts refused while an account is locked are not written one by one (the start of the
lock is), so an attacker hammering a locked account cannot flood the audit chain.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from compliance.audit import record
from warehouse.db import Cells

from ...errors import NotFound
from ..roles import Principal
from ..users import normalize_email, user_email
from . import history
from .errors import AccountLocked, LoginBlocked, LoginThrottled
from .lockout import Lockout, Standing
from .risk import Assessment, Decision, RiskPolicy, assess

DEVICE_HEADER = "x-postwise-device"
DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
UNKNOWN_COUNTRIES = frozenset({"XX", "T1"})  # Cloudflare: unknown, Tor
OUTCOMES = {Decision.ALLOW: "allowed", Decision.CHALLENGE: "challenged", Decision.BLOCK: "blocked"}


@dataclass(frozen=True)
class LoginClient:
    """Who is logging in, as far as the request tells: hashed, never raw."""

    ip_ref: str
    device_hash: bytes
    country: str | None


class AccountProtection:
    def __init__(
        self,
        cells: Cells,
        lockout: Lockout,
        policy: RiskPolicy,
        secret_key: str,
        *,
        country_header: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._cells = cells
        self.lockout = lockout
        self.policy = policy
        self._key = hashlib.sha256(b"postwise-login-protection|" + secret_key.encode()).digest()
        self._country_header = country_header.lower()
        self._clock = clock

    # What a request tells.

    def _ref(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}|{value}".encode(), hashlib.sha256).hexdigest()[:16]

    def account_ref(self, email: str) -> str:
        """A keyed hash naming an address (typed, existing or not) in Redis and the audit."""
        return self._ref("account", normalize_email(email))

    def client(self, headers: Mapping[str, str], client_ip: str | None) -> LoginClient:
        """The client of a login request (``headers`` lower-cased). The device is the
        ``X-Postwise-Device`` id the client keeps (like a device cookie) or, without one,
        a fingerprint of its User-Agent and Accept-Language."""
        device = headers.get(DEVICE_HEADER, "")
        if not DEVICE_ID.match(device):
            device = (
                "fp:" + headers.get("user-agent", "") + "|" + headers.get("accept-language", "")
            )
        country = None
        if self._country_header:
            sent = headers.get(self._country_header, "").strip().upper()
            country = sent if COUNTRY.match(sent) and sent not in UNKNOWN_COUNTRIES else None
        return LoginClient(
            ip_ref=self._ref("ip", client_ip or "-"),
            device_hash=bytes.fromhex(self._ref("device", device)),
            country=country,
        )

    # The login.

    def admit(self, email: str, client: LoginClient) -> Standing:
        """Where the account and the client stand; :class:`AccountLocked` (423) or
        :class:`LoginThrottled` (429) when they may not try now."""
        standing = self.lockout.standing(self.account_ref(email), client.ip_ref)
        if standing.locked_for:
            raise AccountLocked(standing.locked_for)
        if standing.throttled_for:
            raise LoginThrottled(standing.throttled_for)
        return standing

    def failed(self, email: str, client: LoginClient) -> None:
        """Count a wrong password; audit the lock or throttle it starts."""
        account = self.account_ref(email)
        failure = self.lockout.record_failure(account, client.ip_ref)
        client_actor = f"client:{client.ip_ref}"
        if failure.locked_for:
            details = {"failures": failure.failures, "locked_for_seconds": failure.locked_for}
            with self._control() as conn:
                record(
                    conn,
                    actor=client_actor,
                    action="login.locked",
                    subject=f"account:{account}",
                    details={**details, "client": client.ip_ref},
                )
        if failure.client_failures == self.lockout.policy.client_failures:
            window = self.lockout.policy.window_seconds
            with self._control() as conn:
                record(
                    conn,
                    actor=client_actor,
                    action="login.throttled",
                    subject=client_actor,
                    details={"client_failures": failure.client_failures, "window_seconds": window},
                )

    def screen(
        self,
        email: str,
        client: LoginClient,
        standing: Standing,
        user_id: uuid.UUID,
        org_id: uuid.UUID,
        methods: list[str],
    ) -> Assessment:
        """Score a login whose password was right: :class:`LoginBlocked` (403) to block it,
        or to challenge a user without a second factor; otherwise the assessment (a
        challenged user with a factor then gets the usual ``mfa_required``)."""
        now = self._clock()
        with self._control() as conn:
            seen = history.behaviour(
                conn, user_id, client.device_hash, client.country, now, standing.recent_failures
            )
            assessment = assess(seen, self.policy)
            blocked = self._blocked(assessment, methods)
            outcome = "blocked" if blocked is not None else OUTCOMES[assessment.decision]
            if blocked is None and not methods:
                history.remember_device(conn, user_id, client.device_hash)  # tokens go out
            history.record_login(conn, user_id, org_id, outcome, assessment, **_seen(client, now))
            details = _assessment_details(assessment, client, methods)
            if blocked is not None:
                details["reason"] = blocked.reason
            actor = f"user:{user_id}"
            record(
                conn,
                actor=actor,
                action=f"login.{outcome}",
                subject=actor,
                org_id=org_id,
                details=details,
            )
        if blocked is not None:
            raise blocked
        if assessment.decision is Decision.ALLOW:
            self.lockout.clear_failures(self.account_ref(email))
        return assessment

    def _blocked(self, assessment: Assessment, methods: list[str]) -> LoginBlocked | None:
        listed = ", ".join(assessment.signals)
        if assessment.decision is Decision.BLOCK:
            return LoginBlocked(
                "risk_too_high",
                assessment.signals,
                f"this login looks too risky to allow ({listed}); try again later from a "
                "device and place you usually log in from, or ask an owner",
            )
        if assessment.decision is Decision.CHALLENGE and not methods:
            return LoginBlocked(
                "second_factor_unavailable",
                assessment.signals,
                f"this login needs a second factor ({listed}) and the account has none "
                "enrolled; log in from a device you used before, or ask an owner",
            )
        return None

    def verified(self, user_id: uuid.UUID, org_id: uuid.UUID, client: LoginClient) -> None:
        """The second step of a login succeeded: the device is the user's now."""
        now = self._clock()
        with self._control() as conn:
            history.remember_device(conn, user_id, client.device_hash)
            history.record_login(conn, user_id, org_id, "verified", None, **_seen(client, now))

    # Owners.

    def unlock(self, principal: Principal, user_id: uuid.UUID) -> bool:
        """Lift the lock of a user of the caller's organization (their address's lock);
        False when it was not locked. :class:`NotFound` for a user not theirs."""
        with self._control() as conn:
            email = user_email(conn, principal.org_id, user_id)
            if email is None:
                raise NotFound("user_not_found", f"no user {user_id} in your organization")
            account = self.account_ref(email)
            was_locked = self.lockout.unlock(account)
            record(
                conn,
                actor=principal.subject,
                action="login.unlocked",
                subject=f"user:{user_id}",
                org_id=principal.org_id,
                details={"account": account, "was_locked": was_locked},
            )
        return was_locked

    def _control(self) -> AbstractContextManager[psycopg.Connection]:
        return self._cells.connection("control")


def _seen(client: LoginClient, at: datetime) -> dict[str, Any]:
    """How a login event row describes the client."""
    return {
        "device_hash": client.device_hash,
        "country": client.country,
        "ip_ref": client.ip_ref,
        "at": at,
    }


def _assessment_details(
    assessment: Assessment, client: LoginClient, methods: list[str]
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "decision": assessment.decision.value,
        "score": assessment.score,
        "signals": list(assessment.signals),
        "client": client.ip_ref,
        "device": client.device_hash.hex()[:12],
        "country": client.country,
        "second_factor_enrolled": bool(methods),
    }
    if assessment.travel_kmh is not None:
        details["travel_kmh"] = round(assessment.travel_kmh)
    return details
