"""Send-time answers: the best UTC hour to send to a contact, and where it came from.

In order, per contact:

1. ``scores``: the contact's row in ``recipient_send_times`` (the region's champion scored
   it in the nightly batch), with that model's version and fallback flag;
2. ``model``: the region's send-time champion, scored now on the contact's features from
   ``marts.recipient_engagement_features`` (a contact without features is scored as one
   without history, which the model answers from its cohort curve: ``fallback`` true);
3. ``heuristic``: the cohort's best hour: the UTC hour most often best among the
   organization's scored contacts in the contact's time zone (their mean open probability
   there), else among all its scored contacts in the cell, else 10:00 in the contact's own
   time zone (``DEFAULT_LOCAL_HOUR``) with no probability.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import psycopg

from .champions import Champion

log = logging.getLogger(__name__)
Source = Literal["scores", "model", "heuristic"]
DEFAULT_LOCAL_HOUR = 10
FEATURES_TABLE = "marts.recipient_engagement_features"
HOURS_PER_WEEK = 168


@dataclass(frozen=True)
class Contact:
    contact_id: uuid.UUID
    time_zone: str


@dataclass(frozen=True)
class SendTime:
    contact_id: uuid.UUID
    best_hour_utc: int
    best_local_hour: int
    open_probability: float | None
    next_send_at: datetime
    source: Source
    model_version: str | None
    fallback: bool


@dataclass(frozen=True)
class CohortHour:
    hour_utc: int
    open_probability: float | None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def next_at_hour(hour_utc: int, now: datetime) -> datetime:
    """The next whole UTC hour ``hour_utc`` strictly after ``now``."""
    at = now.astimezone(UTC).replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def local_hour(hour_utc: int, time_zone: str, now: datetime) -> int:
    return next_at_hour(hour_utc, now).astimezone(zone(time_zone)).hour


def utc_hour_of_local(local: int, time_zone: str, now: datetime) -> int:
    """The UTC hour of ``local`` o'clock in ``time_zone`` on the local date of ``now``."""
    day = now.astimezone(zone(time_zone))
    return day.replace(hour=local, minute=0, second=0, microsecond=0).astimezone(UTC).hour


def cohort_hours(
    rows: Sequence[tuple[str, int, int, float]],
) -> tuple[dict[str, CohortHour], CohortHour | None]:
    """Best hour per time zone and overall from ``(time zone, UTC hour, contacts, mean
    probability)`` rows: the hour most contacts have as best (earliest on ties)."""
    by_zone: dict[str, Counter[int]] = defaultdict(Counter)
    overall: Counter[int] = Counter()
    weighted: dict[tuple[str | None, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for time_zone, hour, count, probability in rows:
        by_zone[time_zone][hour] += count
        overall[hour] += count
        for key in ((time_zone, hour), (None, hour)):
            weighted[key][0] += probability * count
            weighted[key][1] += count

    def best(counts: Counter[int], time_zone: str | None) -> CohortHour:
        hour = min(counts, key=lambda h: (-counts[h], h))
        total, n = weighted[(time_zone, hour)]
        return CohortHour(hour, total / n if n else None)

    zones = {tz: best(counts, tz) for tz, counts in by_zone.items()}
    return zones, (best(overall, None) if overall else None)


def heuristic(
    contact: Contact,
    zones: dict[str, CohortHour],
    overall: CohortHour | None,
    now: datetime,
) -> SendTime:
    """The heuristic answer of the module docstring, step 3."""
    cohort = zones.get(contact.time_zone) or overall
    if cohort is None:
        cohort = CohortHour(utc_hour_of_local(DEFAULT_LOCAL_HOUR, contact.time_zone, now), None)
    return SendTime(
        contact.contact_id,
        cohort.hour_utc,
        local_hour(cohort.hour_utc, contact.time_zone, now),
        cohort.open_probability,
        next_at_hour(cohort.hour_utc, now),
        "heuristic",
        None,
        True,
    )


def find_contacts(
    conn: psycopg.Connection, org_id: uuid.UUID, contact_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Contact]:
    """The organization's (not erased) contacts among ``contact_ids`` in this cell."""
    rows = conn.execute(
        "SELECT contact_id, time_zone FROM contacts WHERE org_id = %s AND contact_id = ANY(%s) "
        "AND status <> 'erased'",
        (org_id, list(contact_ids)),
    ).fetchall()
    return {row[0]: Contact(row[0], row[1]) for row in rows}


def scored(
    conn: psycopg.Connection, org_id: uuid.UUID, contacts: dict[uuid.UUID, Contact], now: datetime
) -> dict[uuid.UUID, SendTime]:
    """Answers from ``recipient_send_times`` (source ``scores``)."""
    rows = conn.execute(
        "SELECT contact_id, best_hour_utc, open_probability_24h, model_version, fallback "
        "FROM recipient_send_times WHERE org_id = %s AND contact_id = ANY(%s)",
        (org_id, list(contacts)),
    ).fetchall()
    return {
        contact_id: _from_scores(contacts[contact_id], best_at, probability, version, fallback, now)
        for contact_id, best_at, probability, version, fallback in rows
    }


CONTACTS_WITH_SCORES = (
    "SELECT c.contact_id, c.time_zone, s.best_hour_utc, s.open_probability_24h, "
    "s.model_version, s.fallback FROM contacts c LEFT JOIN recipient_send_times s "
    "ON s.contact_id = c.contact_id AND s.org_id = c.org_id "
    "WHERE c.org_id = %s AND c.contact_id = ANY(%s) AND c.status <> 'erased'"
)


def contacts_with_scores(
    conn: psycopg.Connection, org_id: uuid.UUID, contact_ids: Sequence[uuid.UUID], now: datetime
) -> tuple[dict[uuid.UUID, Contact], dict[uuid.UUID, SendTime]]:
    """:func:`find_contacts` and :func:`scored` in one statement (one round trip): the
    organization's contacts among ``contact_ids`` and the answers of those scored."""
    rows = conn.execute(CONTACTS_WITH_SCORES, (org_id, list(contact_ids))).fetchall()
    return contacts_and_scores_of(rows, now)


async def contacts_with_scores_async(
    conn: psycopg.AsyncConnection,
    org_id: uuid.UUID,
    contact_ids: Sequence[uuid.UUID],
    now: datetime,
) -> tuple[dict[uuid.UUID, Contact], dict[uuid.UUID, SendTime]]:
    """:func:`contacts_with_scores` over an asyncio connection."""
    cur = await conn.execute(CONTACTS_WITH_SCORES, (org_id, list(contact_ids)))
    return contacts_and_scores_of(await cur.fetchall(), now)


def contacts_and_scores_of(
    rows: Sequence[Any], now: datetime
) -> tuple[dict[uuid.UUID, Contact], dict[uuid.UUID, SendTime]]:
    """The contacts and scored answers of :data:`CONTACTS_WITH_SCORES` rows."""
    contacts: dict[uuid.UUID, Contact] = {}
    answers: dict[uuid.UUID, SendTime] = {}
    for contact_id, time_zone, best_at, probability, version, fallback in rows:
        contact = contacts[contact_id] = Contact(contact_id, time_zone)
        if best_at is not None:
            answers[contact_id] = _from_scores(
                contact, best_at, probability, version, fallback, now
            )
    return contacts, answers


def _from_scores(
    contact: Contact,
    best_at: datetime,
    probability: float,
    version: str,
    fallback: bool,
    now: datetime,
) -> SendTime:
    hour = best_at.astimezone(UTC).hour
    return SendTime(
        contact.contact_id,
        hour,
        local_hour(hour, contact.time_zone, now),
        float(probability),
        next_at_hour(hour, now),
        "scores",
        version,
        bool(fallback),
    )


def features_of(
    conn: psycopg.Connection, org_id: uuid.UUID, contacts: Sequence[Contact], now: datetime
) -> pd.DataFrame:
    """Model input for ``contacts``: their mart features, or those of a contact without
    history, plus ``day`` (today in UTC)."""
    found: dict[uuid.UUID, dict[str, Any]] = {}
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (FEATURES_TABLE,)).fetchone()
    if exists and exists[0]:
        cur = conn.execute(
            f"SELECT * FROM {FEATURES_TABLE} WHERE org_id = %s AND contact_id = ANY(%s)",  # noqa: S608
            (org_id, [c.contact_id for c in contacts]),
        )
        names = [column.name for column in cur.description or ()]
        for row in cur.fetchall():
            record = dict(zip(names, row, strict=True))
            found[record["contact_id"]] = record
    rows = []
    for contact in contacts:
        rows.append(found.get(contact.contact_id) or _no_history(contact))
    frame = pd.DataFrame(rows)
    frame["contact_id"] = frame["contact_id"].astype(str)
    frame["day"] = now.astimezone(UTC).date().isoformat()
    return frame


def _no_history(contact: Contact) -> dict[str, Any]:
    return {
        "contact_id": contact.contact_id,
        "mailbox_provider": "other",
        "time_zone": contact.time_zone,
        "device": None,
        "delivered_90d": 0,
        "open_rate_90d": 0.0,
        "hours_since_last_open": None,
        "opens_in_histogram": 0,
        "open_hour_of_week_histogram": [1.0 / HOURS_PER_WEEK] * HOURS_PER_WEEK,
    }


def modelled(
    champion: Champion, frame: pd.DataFrame, contacts: dict[uuid.UUID, Contact], now: datetime
) -> dict[uuid.UUID, SendTime]:
    """Answers of ``champion`` for the rows of ``frame`` (source ``model``)."""
    predicted = champion.model.predict(frame)
    out = {}
    for row in predicted.itertuples(index=False):
        contact_id = uuid.UUID(str(row.contact_id))
        hour = pd.Timestamp(row.best_hour_utc).tz_convert("UTC").hour
        tz = contacts[contact_id].time_zone
        out[contact_id] = SendTime(
            contact_id,
            hour,
            local_hour(hour, tz, now),
            float(row.open_probability_24h),
            next_at_hour(hour, now),
            "model",
            champion.version,
            bool(row.fallback),
        )
    return out


def cohort_rows(conn: psycopg.Connection, org_id: uuid.UUID) -> list[tuple[str, int, int, float]]:
    """(time zone, best UTC hour, contacts, mean probability) of the org's scored contacts."""
    rows = conn.execute(
        "SELECT c.time_zone, extract(hour FROM s.best_hour_utc AT TIME ZONE 'UTC')::int, "
        "count(*)::int, avg(s.open_probability_24h) FROM recipient_send_times s "
        "JOIN contacts c USING (contact_id) WHERE s.org_id = %s GROUP BY 1, 2",
        (org_id,),
    ).fetchall()
    return [(tz, int(hour), int(n), float(p)) for tz, hour, n, p in rows]
