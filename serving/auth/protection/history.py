"""Each user's login history and known devices in the control database: what the
login-risk score reads (:func:`behaviour`) and what every screened login leaves
(:func:`record_login`, :func:`remember_device`)."""

from __future__ import annotations

import uuid
from datetime import datetime

import psycopg

from .risk import Assessment, LoginBehaviour, PreviousLogin

HOURS_KEPT = 200  # past successful logins whose hours make the user's usual hours
SUCCESSFUL = ("allowed", "verified")  # outcomes that count as the user's own logins


def behaviour(
    conn: psycopg.Connection,
    user_id: uuid.UUID,
    device_hash: bytes,
    country: str | None,
    at: datetime,
    recent_failures: int,
) -> LoginBehaviour:
    """The behaviour of a login of ``user_id`` now, against their history."""
    devices = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE device_hash = %s) FROM known_devices "
        "WHERE user_id = %s",
        (device_hash, user_id),
    ).fetchone()
    assert devices is not None
    rows = conn.execute(
        "SELECT occurred_at, country FROM login_events WHERE user_id = %s "
        "AND outcome = ANY(%s) ORDER BY occurred_at DESC LIMIT %s",
        (user_id, list(SUCCESSFUL), HOURS_KEPT),
    ).fetchall()
    previous = PreviousLogin(rows[0][0], rows[0][1]) if rows else None
    return LoginBehaviour(
        at=at,
        device_known=devices[1] > 0,
        has_known_devices=devices[0] > 0,
        country=country,
        previous=previous,
        past_hours=[stamp.hour for stamp, _ in rows],
        recent_failures=recent_failures,
    )


def record_login(
    conn: psycopg.Connection,
    user_id: uuid.UUID,
    org_id: uuid.UUID,
    outcome: str,
    assessment: Assessment | None,
    *,
    device_hash: bytes,
    country: str | None,
    ip_ref: str,
    at: datetime,
) -> None:
    """One login event: ``allowed``, ``challenged``, ``blocked`` or (second step) ``verified``."""
    conn.execute(
        "INSERT INTO login_events (user_id, org_id, occurred_at, outcome, score, signals, "
        "device_hash, country, ip_ref) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            user_id,
            org_id,
            at,
            outcome,
            assessment.score if assessment else 0,
            list(assessment.signals) if assessment else [],
            device_hash,
            country,
            ip_ref,
        ),
    )


def remember_device(conn: psycopg.Connection, user_id: uuid.UUID, device_hash: bytes) -> None:
    """Mark the device as the user's (a login from it with tokens issued)."""
    conn.execute(
        "INSERT INTO known_devices (user_id, device_hash) VALUES (%s, %s) "
        "ON CONFLICT (user_id, device_hash) DO UPDATE SET last_seen = now()",
        (user_id, device_hash),
    )
