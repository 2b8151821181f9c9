"""A contact's preferences (the preference center): topics opted out of, caps on marketing
volume, and the date its data expires (``contacts.retention_until``), and what they mean
for sending: :func:`sending_refusal` says why a marketing message must not be queued.

Channel permissions are the contact's consents (see :mod:`.workflow`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import psycopg

from ..audit import record
from ..errors import InvalidPreferences
from ..subjects import contact_subject

TOPIC = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")  # a campaign topic: one line of text
MAX_TOPICS = 50
MAX_PER_DAY = 100
MAX_PER_WEEK = 500
# How far ahead a contact may set the date its data expires (three years).
MAX_RETENTION_DAYS = 3 * 365
# Campaign types preferences apply to (transactional mail is the contact's own business).
MARKETING_TYPES = ("marketing", "triggered")


@dataclass(frozen=True)
class Preferences:
    topic_opt_outs: tuple[str, ...] = ()
    max_per_day: int | None = None
    max_per_week: int | None = None
    retention_until: date | None = None


@dataclass(frozen=True)
class Refusal:
    """Why a message must not be queued: ``code`` for the API, ``detail`` for people."""

    code: str
    detail: str


def read_preferences(conn: psycopg.Connection, contact_id: uuid.UUID) -> Preferences:
    """The contact's preferences (defaults when it never chose any)."""
    row = conn.execute(
        "SELECT p.topic_opt_outs, p.max_per_day, p.max_per_week, c.retention_until "
        "FROM contacts c LEFT JOIN contact_preferences p USING (contact_id) "
        "WHERE c.contact_id = %s",
        (contact_id,),
    ).fetchone()
    if row is None:
        return Preferences()
    return Preferences(tuple(row[0] or ()), row[1], row[2], row[3])


def check_preferences(preferences: Preferences, today: date) -> Preferences:
    """``preferences`` with topics normalised, or :class:`InvalidPreferences`."""
    topics = tuple(sorted({t.strip().lower() for t in preferences.topic_opt_outs}))
    if len(topics) > MAX_TOPICS or any(not TOPIC.match(t) for t in topics):
        raise InvalidPreferences(
            f"topics are at most {MAX_TOPICS} names of one line and 100 characters each"
        )
    for name, value, ceiling in (
        ("max_per_day", preferences.max_per_day, MAX_PER_DAY),
        ("max_per_week", preferences.max_per_week, MAX_PER_WEEK),
    ):
        if value is not None and not 1 <= value <= ceiling:
            raise InvalidPreferences(f"{name} must be between 1 and {ceiling}")
    until = preferences.retention_until
    if until is not None and not today < until <= today + timedelta(days=MAX_RETENTION_DAYS):
        raise InvalidPreferences(
            f"the data expiration date must be after today and at most {MAX_RETENTION_DAYS} "
            "days ahead"
        )
    return Preferences(topics, preferences.max_per_day, preferences.max_per_week, until)


def save_preferences(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    contact_id: uuid.UUID,
    preferences: Preferences,
    *,
    source: str,
    actor: str,
    today: date,
) -> Preferences:
    """Store checked preferences and audit the change, in the caller's transaction."""
    checked = check_preferences(preferences, today)
    with conn.transaction():
        conn.execute(
            "INSERT INTO contact_preferences (contact_id, org_id, topic_opt_outs, max_per_day, "
            "max_per_week, updated_at) VALUES (%s, %s, %s, %s, %s, now()) "
            "ON CONFLICT (contact_id) DO UPDATE SET topic_opt_outs = excluded.topic_opt_outs, "
            "max_per_day = excluded.max_per_day, max_per_week = excluded.max_per_week, "
            "updated_at = now()",
            (contact_id, org_id, list(checked.topic_opt_outs), checked.max_per_day,
             checked.max_per_week),
        )  # fmt: skip
        conn.execute(
            "UPDATE contacts SET retention_until = %s, updated_at = now() "
            "WHERE contact_id = %s AND org_id = %s",
            (checked.retention_until, contact_id, org_id),
        )
        record(
            conn,
            actor=actor,
            action="preferences.updated",
            subject=contact_subject(conn, contact_id),
            org_id=org_id,
            details={
                "source": source,
                "topic_opt_outs": list(checked.topic_opt_outs),
                "max_per_day": checked.max_per_day,
                "max_per_week": checked.max_per_week,
                "retention_until": (
                    checked.retention_until.isoformat() if checked.retention_until else None
                ),
            },
        )
    return checked


def sending_refusal(
    conn: psycopg.Connection,
    contact_id: uuid.UUID,
    campaign_type: str,
    topic: str | None,
    now: datetime,
) -> Refusal | None:
    """Why a message of ``campaign_type`` and ``topic`` must not be queued for the contact
    (a topic it opted out of, a frequency cap reached), or None. Transactional mail passes."""
    if campaign_type not in MARKETING_TYPES:
        return None
    row = conn.execute(
        "SELECT topic_opt_outs, max_per_day, max_per_week FROM contact_preferences "
        "WHERE contact_id = %s",
        (contact_id,),
    ).fetchone()
    if row is None:
        return None
    opt_outs, per_day, per_week = row
    if topic and topic.strip().lower() in (opt_outs or ()):
        return Refusal("topic_opted_out", f"the recipient opted out of the topic {topic!r}")
    if per_day is None and per_week is None:
        return None
    counts = conn.execute(
        "SELECT count(*) FILTER (WHERE created_at > %s), count(*) FROM messages "
        "WHERE contact_id = %s AND campaign_type = ANY(%s) AND created_at > %s "
        "AND status NOT IN ('suppressed', 'cancelled')",
        (now - timedelta(days=1), contact_id, list(MARKETING_TYPES), now - timedelta(days=7)),
    ).fetchone()
    assert counts is not None
    day, week = int(counts[0]), int(counts[1])
    if per_day is not None and day >= per_day:
        return Refusal("frequency_cap", f"the recipient allows {per_day} messages a day")
    if per_week is not None and week >= per_week:
        return Refusal("frequency_cap", f"the recipient allows {per_week} messages a week")
    return None
