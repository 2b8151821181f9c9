"""Opt-in workflows of one, two or three steps, and withdrawal.

1. :func:`start_opt_in` (sign-up): the consent becomes ``granted`` for a one-step opt-in,
   ``pending`` otherwise, and the token of the email confirmation link is issued;
2. :func:`confirm` with a step-2 token (the link in the confirmation email): ``granted``
   for a two-step opt-in; a three-step one stays ``pending`` and gets the step-3 token;
3. :func:`confirm` with a step-3 token (the preference confirmation page): ``granted``.

:func:`grant` (the preference center, reached from an email) and :func:`withdraw` change
the consent directly. Every change writes the ``consents`` row, a ``consent_events`` row
(source, time, IP, user agent, policy version) and an audit entry, in the caller's
transaction; a refused change writes nothing. Tokens work once: their ids are recorded in
``opt_in_token_uses`` as they are used.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg

from ..audit import record
from ..errors import ConsentTransitionRefused, OptInTokenInvalid, OptInTokenUsed
from ..subjects import contact_subject
from .states import ConsentState, advance
from .tokens import OptInClaims, OptInTokens

ACTION_OF_STEP = {2: "confirmed", 3: "preferences_confirmed"}


@dataclass(frozen=True)
class Evidence:
    """Where a consent change came from, as kept in ``consent_events``."""

    source: str  # signup_form, api, preference_center, unsubscribe_link, import
    policy_version: str
    ip: str | None = None
    user_agent: str | None = None
    actor: str = "data_subject"  # who the audit entry names: the subject, or "api:<key>"


@dataclass(frozen=True)
class Subject:
    """The consent a change is about."""

    contact_id: uuid.UUID
    org_id: uuid.UUID
    region: str
    purpose: str
    channel: str = "email"


@dataclass(frozen=True)
class ConsentChange:
    """The consent after a change; ``next_token`` is the link token of the next step."""

    subject: Subject
    status: str
    steps: int
    completed: int
    changed: bool
    next_token: str | None = None


def start_opt_in(
    conn: psycopg.Connection,
    tokens: OptInTokens,
    subject: Subject,
    steps: int,
    evidence: Evidence,
) -> ConsentChange:
    """Step 1 (sign-up): the consent of a ``steps``-step opt-in, and the token of the
    email confirmation link when there is a next step."""
    with conn.transaction():
        _check_contact(conn, subject)
        state = advance(_locked_state(conn, subject), "requested", steps)
        assert state is not None
        _write(conn, subject, state, "requested" if steps > 1 else "granted", 1, evidence)
    token = _next_token(tokens, subject, state)
    return _change(subject, state, True, token)


def confirm(
    conn: psycopg.Connection,
    tokens: OptInTokens,
    claims: OptInClaims,
    evidence: Evidence,
) -> ConsentChange:
    """Step 2 or 3, as ``claims`` (read from a verified token) say; the token is spent."""
    subject = Subject(claims.contact_id, claims.org_id, claims.region, claims.purpose,
                      claims.channel)  # fmt: skip
    action = ACTION_OF_STEP[claims.step]
    with conn.transaction():
        _check_contact(conn, subject, token=True)
        spent = conn.execute(
            "INSERT INTO opt_in_token_uses (token_id, contact_id, step) VALUES (%s, %s, %s) "
            "ON CONFLICT (token_id) DO NOTHING RETURNING token_id",
            (claims.token_id, claims.contact_id, claims.step),
        ).fetchone()
        if spent is None:
            raise OptInTokenUsed("this confirmation link was already used")
        state = advance(_locked_state(conn, subject), action)
        assert state is not None
        _write(conn, subject, state, action, claims.step, evidence)
    return _change(subject, state, True, _next_token(tokens, subject, state))


def grant(conn: psycopg.Connection, subject: Subject, evidence: Evidence) -> ConsentChange:
    """Grant the consent directly (the preference center); a granted one stays as it is."""
    return _direct(conn, subject, "granted", evidence)


def withdraw(conn: psycopg.Connection, subject: Subject, evidence: Evidence) -> ConsentChange:
    """Withdraw the consent; a withdrawn one stays as it is and nothing is recorded."""
    return _direct(conn, subject, "withdrawn", evidence)


def _direct(
    conn: psycopg.Connection, subject: Subject, action: str, evidence: Evidence
) -> ConsentChange:
    with conn.transaction():
        _check_contact(conn, subject)
        current = _locked_state(conn, subject)
        state = advance(current, action)
        if state is None:
            assert current is not None
            return _change(subject, current, False)
        _write(conn, subject, state, action, None, evidence)
    return _change(subject, state, True)


def _check_contact(conn: psycopg.Connection, subject: Subject, token: bool = False) -> None:
    row = conn.execute(
        "SELECT status FROM contacts WHERE contact_id = %s AND org_id = %s",
        (subject.contact_id, subject.org_id),
    ).fetchone()
    if row is None:
        if token:
            raise OptInTokenInvalid("this confirmation link names no known contact")
        raise ConsentTransitionRefused("no such contact")
    if row[0] == "erased":
        raise ConsentTransitionRefused("the contact was erased")


def _locked_state(conn: psycopg.Connection, subject: Subject) -> ConsentState | None:
    row = conn.execute(
        "SELECT status, opt_in_steps, steps_completed FROM consents "
        "WHERE contact_id = %s AND channel = %s AND purpose = %s FOR UPDATE",
        (subject.contact_id, subject.channel, subject.purpose),
    ).fetchone()
    return ConsentState(row[0], row[1], row[2]) if row else None


def _write(
    conn: psycopg.Connection,
    subject: Subject,
    state: ConsentState,
    action: str,
    step: int | None,
    evidence: Evidence,
) -> None:
    conn.execute(
        "INSERT INTO consents (contact_id, channel, purpose, status, opt_in_steps, "
        "steps_completed, policy_version, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now()) "
        "ON CONFLICT (contact_id, channel, purpose) DO UPDATE SET status = excluded.status, "
        "opt_in_steps = excluded.opt_in_steps, steps_completed = excluded.steps_completed, "
        "policy_version = excluded.policy_version, updated_at = now()",
        (subject.contact_id, subject.channel, subject.purpose, state.status, state.steps,
         state.completed, evidence.policy_version),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO consent_events (contact_id, org_id, channel, purpose, action, step, "
        "source, ip, user_agent, policy_version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (subject.contact_id, subject.org_id, subject.channel, subject.purpose, action, step,
         evidence.source, evidence.ip, evidence.user_agent, evidence.policy_version),
    )  # fmt: skip
    record(
        conn,
        actor=evidence.actor,
        action=f"consent.{action}",
        subject=contact_subject(conn, subject.contact_id),
        org_id=subject.org_id,
        details={
            "channel": subject.channel,
            "purpose": subject.purpose,
            "status": state.status,
            "step": step,
            "source": evidence.source,
            "policy_version": evidence.policy_version,
        },
    )


def _next_token(tokens: OptInTokens, subject: Subject, state: ConsentState) -> str | None:
    if state.status != "pending":
        return None
    return tokens.issue(
        contact_id=subject.contact_id,
        org_id=subject.org_id,
        region=subject.region,
        channel=subject.channel,
        purpose=subject.purpose,
        step=state.completed + 1,
    )


def _change(
    subject: Subject, state: ConsentState, changed: bool, token: str | None = None
) -> ConsentChange:
    return ConsentChange(subject, state.status, state.steps, state.completed, changed, token)
