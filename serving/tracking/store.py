"""Where tracking hits go: the message's region cell (events through the bulk writer, the
suppression list) and Redis (the de-duplication window, the scanner memory).

De-duplication: a repeated open of a message, or click of one of its links, within
``dedupe_seconds`` (5 minutes by default) is the same event. The first hit of a window
stores its time in Redis (``SET NX EX``); every hit of the window reuses that time, so the
event id (uuid5 of message, kind, link, human/bot and that time) and ``event_time`` (the
key of ``email_events``) come out identical and the writer stores the row once. Re-rendering
a message or double-clicking a link therefore counts once, while a re-open after the window
counts again; human and machine hits are kept apart so a scanner never hides a person's
click. Without Redis (not configured, or not answering) every hit is written; after a Redis
failure the store leaves Redis alone for ``REDIS_PAUSE_SECONDS`` so an outage costs one
timeout, not one per hit.

Unsubscribing happens once per message: under a transaction-scoped advisory lock on the
message, an ``unsubscribed`` event is written only if the message has none, and the address
is suppressed for the organization (``ON CONFLICT DO NOTHING`` keeps an earlier reason);
the contact's email consents are withdrawn, each recorded in ``consent_events`` with
source ``unsubscribe_link``, the client's IP and user agent.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import redis

from compliance.consent import Evidence, Subject, withdraw
from compliance.errors import ConsentTransitionRefused
from warehouse.db import Cells
from warehouse.events import EmailEvent, EventWriter, event_id_for

log = logging.getLogger(__name__)
REDIS_PAUSE_SECONDS = 5.0


@dataclass(frozen=True)
class MessageRef:
    """What the events of a tracked message need, read from its cell's queue."""

    message_id: uuid.UUID
    region: str
    org_id: uuid.UUID
    campaign_id: uuid.UUID | None
    campaign_type: str
    contact_id: uuid.UUID
    delivered_at: datetime | None


@dataclass(frozen=True)
class Unsubscribed:
    recorded: bool  # False: this message was unsubscribed from before
    suppressed: bool  # False: the address was suppressed already (for any reason)


class TrackingStore:
    """Reads messages and writes tracking events; owns no connections (``cells`` does)."""

    def __init__(
        self,
        cells: Cells,
        redis_client: redis.Redis | None,
        key_prefix: str,
        *,
        dedupe_seconds: int = 300,
        scanner_memory_seconds: int = 3600,
        pool_timeout_seconds: float = 5.0,
        writer: EventWriter | None = None,
        consent_policy_version: str = "v1",
    ) -> None:
        self.cells = cells
        self.consent_policy_version = consent_policy_version
        self.redis = redis_client
        self.key_prefix = key_prefix
        self.dedupe_seconds = dedupe_seconds
        self.scanner_memory_seconds = scanner_memory_seconds
        self.pool_timeout_seconds = pool_timeout_seconds
        self.writer = writer or EventWriter()
        self._redis_paused_until = 0.0

    def _redis(self) -> redis.Redis | None:
        """The Redis client, unless there is none or it failed a moment ago."""
        if self.redis is None or time.monotonic() < self._redis_paused_until:
            return None
        return self.redis

    def _redis_failed(self, what: str, exc: redis.RedisError) -> None:
        self._redis_paused_until = time.monotonic() + REDIS_PAUSE_SECONDS
        log.warning(
            "%s: Redis is not answering (%s); retrying in %.0f s", what, exc, REDIS_PAUSE_SECONDS
        )

    @contextmanager
    def _connection(self, region: str) -> Iterator[psycopg.Connection]:
        # A short wait for a pooled connection: while a cell is down, requests fail fast
        # (and are logged) instead of holding the API's threads for the pool's 30 s.
        with self.cells.pool(region).connection(timeout=self.pool_timeout_seconds) as conn:
            yield conn

    # -- messages ------------------------------------------------------------------------

    def find_message(self, message_id: uuid.UUID, region: str | None) -> MessageRef | None:
        """The message in ``region``'s cell, or (no usable region) in whichever cell has it."""
        regions = [region] if region in self.cells.regions else list(self.cells.regions)
        for cell in regions:
            assert cell is not None
            with self._connection(cell) as conn:
                row = conn.execute(
                    "SELECT org_id, campaign_id, campaign_type, contact_id, sent_at "
                    "FROM messages WHERE message_id = %s LIMIT 1",
                    (message_id,),
                ).fetchone()
            if row is not None:
                return MessageRef(message_id, cell, *row)
        return None

    def find_contact_region(self, contact_id: uuid.UUID, org_id: uuid.UUID) -> str | None:
        """The cell holding a contact (for an unsubscribe whose message row is gone)."""
        for cell in self.cells.regions:
            with self._connection(cell) as conn:
                found = conn.execute(
                    "SELECT 1 FROM contacts WHERE contact_id = %s AND org_id = %s",
                    (contact_id, org_id),
                ).fetchone()
            if found:
                return cell
        return None

    # -- opens and clicks ----------------------------------------------------------------

    def record_hit(
        self,
        ref: MessageRef,
        event_type: str,
        discriminator: str,
        is_bot: bool,
        details: dict[str, Any],
        now: datetime,
    ) -> bool:
        """Write one ``opened``/``clicked`` event unless the window has it; True when new."""
        who = "bot" if is_bot else "human"
        key = f"{event_type}:{ref.message_id}:{discriminator}:{who}"
        at = self._window_start(key, now)
        event = EmailEvent(
            event_id=uuid.uuid5(ref.message_id, f"{event_type}:{discriminator}:{who}:{at}"),
            event_time=at,
            message_id=ref.message_id,
            contact_id=ref.contact_id,
            org_id=ref.org_id,
            campaign_id=ref.campaign_id,
            campaign_type=ref.campaign_type,
            region=ref.region,
            type=event_type,
            is_bot=is_bot,
            details=details,
        )
        with self._connection(ref.region) as conn:
            return self.writer.write(conn, [event]) == 1

    def _window_start(self, key: str, now: datetime) -> datetime:
        """When the de-duplication window of ``key`` that contains ``now`` began."""
        client = self._redis()
        if client is None:
            return now
        name = f"{self.key_prefix}:trk:dedupe:{key}"
        stamp = now.astimezone(UTC).isoformat()
        try:
            if client.set(name, stamp, nx=True, ex=self.dedupe_seconds):
                return now
            first = client.get(name)
            if first is None:  # expired between the two calls: a new window
                client.set(name, stamp, ex=self.dedupe_seconds)
                return now
            return datetime.fromisoformat(first.decode() if isinstance(first, bytes) else first)
        except redis.RedisError as exc:
            self._redis_failed("hit not de-duplicated", exc)
            return now

    # -- scanner memory ------------------------------------------------------------------

    def _scanner_key(self, ip: str | None, user_agent: str) -> str:
        digest = hashlib.sha256(f"{ip}|{user_agent}".encode()).hexdigest()[:24]
        return f"{self.key_prefix}:trk:scanner:{digest}"

    def remember_scanner(self, ip: str | None, user_agent: str) -> None:
        """Remember a client that followed a honeypot link."""
        client = self._redis()
        if client is None:
            return
        try:
            client.set(self._scanner_key(ip, user_agent), 1, ex=self.scanner_memory_seconds)
        except redis.RedisError as exc:
            self._redis_failed("scanner not remembered", exc)

    def is_known_scanner(self, ip: str | None, user_agent: str) -> bool:
        """Whether this client followed a honeypot link within the scanner memory."""
        client = self._redis()
        if client is None:
            return False
        try:
            return bool(client.exists(self._scanner_key(ip, user_agent)))
        except redis.RedisError as exc:
            self._redis_failed("scanner memory not read", exc)
            return False

    # -- unsubscribes --------------------------------------------------------------------

    def unsubscribe(
        self,
        region: str,
        org_id: uuid.UUID,
        contact_id: uuid.UUID,
        ref: MessageRef | None,
        details: dict[str, Any],
        now: datetime,
    ) -> Unsubscribed:
        """Suppress the contact's address for ``org_id`` and record the unsubscribe once."""
        with self._connection(region) as conn:
            suppressed = _suppress(conn, org_id, contact_id, details.get("channel", ""))
            evidence = Evidence(
                "unsubscribe_link",
                self.consent_policy_version,
                details.get("ip"),
                details.get("user_agent") or None,
            )
            _withdraw_email_consents(conn, Subject(contact_id, org_id, region, "marketing"),
                                     evidence)  # fmt: skip
            if ref is None:
                return Unsubscribed(recorded=False, suppressed=suppressed)
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"unsubscribe:{ref.message_id}",),
            )
            earlier = conn.execute(
                "SELECT 1 FROM email_events WHERE message_id = %s AND type = 'unsubscribed' "
                "LIMIT 1",
                (ref.message_id,),
            ).fetchone()
            if earlier is not None:
                return Unsubscribed(recorded=False, suppressed=suppressed)
            event = EmailEvent(
                event_id=event_id_for(ref.message_id, "unsubscribed"),
                event_time=now,
                message_id=ref.message_id,
                contact_id=contact_id,
                org_id=org_id,
                campaign_id=ref.campaign_id,
                campaign_type=ref.campaign_type,
                region=region,
                type="unsubscribed",
                details=details,
            )
            recorded = self.writer.write(conn, [event]) == 1
        return Unsubscribed(recorded=recorded, suppressed=suppressed)


def _withdraw_email_consents(
    conn: psycopg.Connection, marketing: Subject, evidence: Evidence
) -> None:
    """Withdraw the contact's marketing consent and every other email consent it holds,
    each recorded in consent_events (a withdrawn one stays as it is)."""
    rows = conn.execute(
        "SELECT purpose FROM consents WHERE contact_id = %s AND channel = 'email' "
        "AND status <> 'withdrawn'",
        (marketing.contact_id,),
    ).fetchall()
    for purpose in sorted({marketing.purpose, *(row[0] for row in rows)}):
        try:
            withdraw(conn, replace(marketing, purpose=purpose), evidence)
        except ConsentTransitionRefused:  # the contact is gone or erased: nothing to withdraw
            return


def _suppress(
    conn: psycopg.Connection, org_id: uuid.UUID, contact_id: uuid.UUID, channel: str
) -> bool:
    row = conn.execute(
        "INSERT INTO suppressions (org_id, email_blind_index, reason, source) "
        "SELECT org_id, email_blind_index, 'unsubscribe', %s FROM contacts "
        "WHERE contact_id = %s AND org_id = %s ON CONFLICT DO NOTHING RETURNING 1",
        (f"tracking:{channel}" if channel else "tracking", contact_id, org_id),
    ).fetchone()
    return row is not None
