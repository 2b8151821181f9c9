"""When a message is scheduled: now, the time the caller gave, or ``"optimal"``, the
recipient's best hour from ``recipient_send_times`` (written by the send-time model run),
with whether that score came from the cohort curve (``fallback``). A recipient without a
score is sent now, and the response says so."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from .schemas import SendTimePublic


@dataclass(frozen=True)
class Score:
    best_hour_utc: datetime
    fallback: bool
    model_name: str
    model_version: str


def next_occurrence(best_hour_utc: datetime, now: datetime) -> datetime:
    """The first moment at or after ``now`` whose UTC time of day is the best hour's."""
    candidate = now.replace(
        hour=best_hour_utc.hour, minute=best_hour_utc.minute, second=0, microsecond=0
    )
    if candidate < now.replace(second=0, microsecond=0):
        candidate += timedelta(days=1)
    return candidate


def schedule(
    send_at: datetime | str | None, score: Score | None, now: datetime
) -> tuple[datetime, SendTimePublic]:
    """``scheduled_at`` and how it was chosen."""
    if send_at is None:
        return now, SendTimePublic(
            strategy="now", source="request", detail="sent as soon as possible"
        )
    if isinstance(send_at, datetime):
        return send_at, SendTimePublic(
            strategy="at", source="request", detail="at the time the request gave"
        )
    if score is None:
        return now, SendTimePublic(
            strategy="optimal",
            source="none",
            detail="no send-time score for this recipient yet: sent now",
        )
    when = next_occurrence(score.best_hour_utc, now)
    curve = "the cohort curve (too little history)" if score.fallback else "its own history"
    return when, SendTimePublic(
        strategy="optimal",
        source="scores",
        fallback=score.fallback,
        model_version=f"{score.model_name}/{score.model_version}",
        detail=f"the recipient's best hour, {when:%H:%M} UTC, from {curve}",
    )


def load_score(conn: psycopg.Connection, org_id: uuid.UUID, contact_id: uuid.UUID) -> Score | None:
    row = conn.execute(
        "SELECT best_hour_utc, fallback, model_name, model_version FROM recipient_send_times "
        "WHERE contact_id = %s AND org_id = %s",
        (contact_id, org_id),
    ).fetchone()
    return Score(*row) if row else None
