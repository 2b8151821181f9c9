"""The worker's database access: connection pools used from threads with retries, and the
queries a worker needs (recipients of a claimed batch, templates, eligibility, domain facts).

Every call borrows a pooled connection for one transaction. A connection that breaks (the
server restarted, an administrator terminated it, a network blip) is dropped by the pool
and the call is tried again on a fresh one; the queue's fencing and the deterministic event
ids make a repeated call harmless.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from compliance.crypto import PiiCipher
from compliance.errors import ComplianceError

from ..queue import Claimed

log = logging.getLogger(__name__)
T = TypeVar("T")
# Purposes of consent each campaign type needs (transactional mail needs none).
CONSENT_PURPOSE = {"marketing": "marketing", "triggered": "marketing"}
# Suppression reasons that stop transactional mail too (an unsubscribe does not).
TRANSACTIONAL_SUPPRESSIONS = ("hard_bounce", "complaint", "spam_trap", "erasure")


class Database:
    """Pools to the worker's region cell and the control database, used from threads."""

    def __init__(
        self,
        region: ConnectionPool,
        control: ConnectionPool,
        *,
        attempts: int = 6,
        backoff_seconds: float = 0.2,
    ) -> None:
        self._pools = {"region": region, "control": control}
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.reconnects = 0

    def region(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(conn, *args, **kwargs)`` in one transaction on the region cell."""
        return self._call("region", fn, args, kwargs)

    def control(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(conn, *args, **kwargs)`` in one transaction on the control database."""
        return self._call("control", fn, args, kwargs)

    def _call(
        self, which: str, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        pool = self._pools[which]
        for attempt in range(1, self.attempts + 1):
            try:
                with pool.connection() as conn:
                    return fn(conn, *args, **kwargs)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                # OperationalError covers lost connections, administrator shutdowns,
                # deadlocks and pool timeouts: the transaction did not happen, try again.
                if attempt == self.attempts:
                    raise
                self.reconnects += 1
                delay = self.backoff_seconds * 2 ** (attempt - 1)
                log.warning(
                    "%s database call %s failed (%s); retrying in %.1f s",
                    which,
                    getattr(fn, "__name__", fn),
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class Recipient:
    """A contact as a message needs it: decrypted address and name, where it lives."""

    contact_id: uuid.UUID
    email: str
    name: str | None
    domain: str
    country: str
    region: str
    time_zone: str
    locale: str
    attributes: dict[str, Any]
    engagement: float  # the send-time model's open probability, 0 without a score


@dataclass(frozen=True)
class MessageData:
    """What a claimed message carries beyond its queue columns, and its recipient."""

    message_id: uuid.UUID
    template_id: uuid.UUID | None
    template_version: int | None
    variant: str | None
    variables: dict[str, Any]
    recipient: Recipient | None
    problem: str | None = None  # why the recipient cannot be used (erased, undecryptable)


@dataclass(frozen=True)
class Template:
    template_id: uuid.UUID
    version: int
    subject: str
    content: dict[str, Any]
    variants: list[dict[str, Any]] = field(default_factory=list)


def load_batch(
    conn: psycopg.Connection, cipher: PiiCipher, messages: Sequence[Claimed]
) -> dict[uuid.UUID, MessageData]:
    """The message data and decrypted recipients of a claimed batch, in one query."""
    rows = conn.execute(
        """
        SELECT m.message_id, m.template_id, m.template_version, m.variant, m.variables,
               c.contact_id, c.email_ciphertext, c.name_ciphertext, c.wrapped_data_key,
               c.kek_version, c.email_domain, c.country, c.region, c.time_zone, c.locale,
               c.attributes, coalesce(s.open_probability_24h, 0)
        FROM messages m
        LEFT JOIN contacts c ON c.contact_id = m.contact_id
        LEFT JOIN recipient_send_times s ON s.contact_id = m.contact_id
        WHERE m.message_id = ANY(%s)
        """,
        ([message.message_id for message in messages],),
    ).fetchall()
    return {row[0]: _message_data(cipher, row) for row in rows}


def _message_data(cipher: PiiCipher, row: tuple[Any, ...]) -> MessageData:
    message_id, template_id, version, variant, variables, contact_id = row[:6]
    base = MessageData(message_id, template_id, version, variant, variables or {}, None)
    if contact_id is None:
        return _with_problem(base, "the contact no longer exists (erased)")
    email_ct, name_ct, wrapped, kek_version = row[6:10]
    try:
        email = cipher.open_field(contact_id, "email", email_ct, wrapped, kek_version)
        name = (
            cipher.open_field(contact_id, "name", name_ct, wrapped, kek_version)
            if name_ct is not None
            else None
        )
    except ComplianceError as exc:
        return _with_problem(base, f"the contact's address cannot be decrypted: {exc}")
    domain, country, region, time_zone, locale, attributes, engagement = row[10:17]
    recipient = Recipient(
        contact_id, email, name, domain, country, region, time_zone, locale,
        attributes or {}, float(engagement),
    )  # fmt: skip
    return MessageData(message_id, template_id, version, variant, variables or {}, recipient)


def _with_problem(data: MessageData, problem: str) -> MessageData:
    return MessageData(
        data.message_id, data.template_id, data.template_version, data.variant,
        data.variables, None, problem,
    )  # fmt: skip


def load_templates(
    conn: psycopg.Connection, keys: Iterable[tuple[uuid.UUID, int | None]]
) -> dict[tuple[uuid.UUID, int | None], Template]:
    """Template versions from the control database (a None version: the latest)."""
    found = {}
    for template_id, version in keys:
        row = conn.execute(
            "SELECT v.template_id, v.version, v.subject, v.content, v.variants "
            "FROM template_versions v JOIN templates t USING (template_id) "
            "WHERE v.template_id = %s AND v.version = coalesce(%s, t.latest_version)",
            (template_id, version),
        ).fetchone()
        if row is not None:
            found[(template_id, version)] = Template(
                row[0], row[1], row[2], row[3] or {}, list(row[4] or [])
            )
    return found


def ineligibility(conn: psycopg.Connection, message: Claimed) -> str | None:
    """Why the message must not be sent now (suppression list, consent, contact status),
    or None. Asked again just before SMTP: an unsubscribe may have arrived meanwhile."""
    return ineligibilities(conn, [message])[0]


def ineligibilities(conn: psycopg.Connection, messages: Sequence[Claimed]) -> list[str | None]:
    """:func:`ineligibility` of each message, in one query."""
    purposes = [CONSENT_PURPOSE.get(m.campaign_type, "marketing") for m in messages]
    rows = conn.execute(
        """
        SELECT p.contact_id, p.purpose, c.status,
               (SELECT array_agg(reason) FROM suppressions s
                 WHERE s.org_id = c.org_id AND s.email_blind_index = c.email_blind_index
                   AND (s.expires_at IS NULL OR s.expires_at > now())),
               (SELECT status FROM consents k
                 WHERE k.contact_id = c.contact_id AND k.channel = 'email'
                   AND k.purpose = p.purpose)
        FROM unnest(%s::uuid[], %s::text[]) AS p(contact_id, purpose)
        JOIN contacts c ON c.contact_id = p.contact_id
        """,
        ([m.contact_id for m in messages], purposes),
    ).fetchall()
    found = {(row[0], row[1]): row[2:] for row in rows}
    return [
        _ineligibility(message, found.get((message.contact_id, purpose)))
        for message, purpose in zip(messages, purposes, strict=True)
    ]


def _ineligibility(message: Claimed, row: tuple[Any, ...] | None) -> str | None:
    if row is None:
        return "the contact no longer exists"
    status, suppressions, consent = row
    transactional = message.campaign_type not in CONSENT_PURPOSE
    if transactional:
        blocking = [r for r in suppressions or [] if r in TRANSACTIONAL_SUPPRESSIONS]
        if status == "erased":
            return "the contact was erased"
    else:
        blocking = list(suppressions or [])
        if status != "active":
            return f"the contact is {status}"
        if consent != "granted":
            return (
                f"no granted {CONSENT_PURPOSE[message.campaign_type]} consent ({consent or 'none'})"
            )
    if blocking:
        return f"the address is on the suppression list ({', '.join(sorted(blocking))})"
    return None


@dataclass(frozen=True)
class DomainFacts:
    """What throttling needs to know about a sending domain."""

    age_days: float  # since its first message in this cell
    reputation: float | None  # the latest domain_reputation score, None without data


def domain_facts(conn: psycopg.Connection, domains: Iterable[str]) -> dict[str, DomainFacts]:
    """Age and reputation of sending domains; works when the marts are empty or absent."""
    has_mart = conn.execute("SELECT to_regclass('marts.domain_reputation')").fetchone()
    facts = {}
    now = datetime.now(UTC)
    for domain in domains:
        first = conn.execute(
            "SELECT min(created_at) FROM messages WHERE sending_domain = %s", (domain,)
        ).fetchone()
        started = first[0] if first and first[0] else now
        reputation = None
        if has_mart and has_mart[0]:
            row = conn.execute(
                "SELECT min(reputation_score) FROM marts.domain_reputation WHERE day = "
                "(SELECT max(day) FROM marts.domain_reputation WHERE sending_domain = %s) "
                "AND sending_domain = %s",
                (domain, domain),
            ).fetchone()
            reputation = float(row[0]) if row and row[0] is not None else None
        facts[domain] = DomainFacts((now - started).total_seconds() / 86400, reputation)
    return facts
