"""Shared pieces of the template, campaign, precheck and webhook tests: a small
authoritative DNS server on loopback (UDP, dnspython's message parsing) serving fixture
records, a uvicorn server for an app of their own settings, contacts in a cell, and the
removal of an organization's rows."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import redis
from api_kit import Tenants, serve
from psycopg.types.json import Jsonb

from postwise.settings import Settings
from serving.api.main import create_app
from warehouse.db import Cells


class DnsServer:
    """Answers queries for its records authoritatively: NXDOMAIN for names it has no
    record of, an empty answer for other types of a known name."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, int], list[str]] = {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.address, self.port = self._sock.getsockname()
        self.queries: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns", daemon=True)

    def add(self, name: str, kind: str, *values: str) -> None:
        key = (_absolute(name), dns.rdatatype.from_text(kind))
        self._records.setdefault(key, []).extend(values)

    def clear(self) -> None:
        self._records.clear()
        self.queries.clear()

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(wire)
            except dns.exception.DNSException:
                continue
            self._sock.sendto(self._answer(query).to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().lower()
        self.queries.append((name, dns.rdatatype.to_text(question.rdtype)))
        values = self._records.get((name, question.rdtype))
        if values:
            response.answer.append(
                dns.rrset.from_text(name, 60, dns.rdataclass.IN, question.rdtype, *values)
            )
        elif not any(known == name for known, _ in self._records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response


def _absolute(name: str) -> str:
    return name.lower().rstrip(".") + "."


def add_contact(
    cells: Cells,
    org_id: uuid.UUID,
    region: str = "eu",
    *,
    country: str = "DE",
    attributes: dict[str, Any] | None = None,
    consent: str | None = "granted",
    status: str = "active",
    suppressed: str | None = None,
    best_slot: datetime | None = None,
    model_fallback: bool = False,
) -> uuid.UUID:
    """A contact of ``org_id`` in ``region``'s cell with its consent, suppression and
    best send time as asked."""
    contact_id = uuid.uuid4()
    blind = uuid.uuid4().bytes
    with cells.connection(region) as conn:
        conn.execute(
            "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
            "wrapped_data_key, email_domain, country, region, time_zone, attributes, status) "
            "VALUES (%s, %s, 'x', %s, 'k', 'example.org', %s, %s, 'UTC', %s, %s)",
            (contact_id, org_id, blind, country, region, Jsonb(attributes or {}), status),
        )
        if consent is not None:
            conn.execute(
                "INSERT INTO consents (contact_id, purpose, status, policy_version) "
                "VALUES (%s, 'marketing', %s, 'v1')",
                (contact_id, consent),
            )
        if suppressed is not None:
            conn.execute(
                "INSERT INTO suppressions (org_id, email_blind_index, reason) VALUES (%s, %s, %s)",
                (org_id, blind, suppressed),
            )
        if best_slot is not None:
            conn.execute(
                "INSERT INTO recipient_send_times (contact_id, org_id, best_hour_utc, "
                "best_local_hour, open_probability_24h, model_name, model_version, fallback) "
                "VALUES (%s, %s, %s, %s, 0.3, 'send_time', '1', %s)",
                (contact_id, org_id, best_slot, best_slot.hour, model_fallback),
            )
    return contact_id


def remove_org_rows(cells: Cells, org_ids: list[uuid.UUID]) -> None:
    """Delete what the tests made for ``org_ids`` (before the organizations go)."""
    with cells.connection("control") as conn:
        conn.execute(
            "DELETE FROM webhook_endpoints WHERE org_id = ANY(%s)", (org_ids,)
        )  # deliveries and attempts cascade
        conn.execute("DELETE FROM campaigns WHERE org_id = ANY(%s)", (org_ids,))
        conn.execute(
            "DELETE FROM template_versions WHERE template_id IN "
            "(SELECT template_id FROM templates WHERE org_id = ANY(%s))",
            (org_ids,),
        )
        conn.execute("DELETE FROM templates WHERE org_id = ANY(%s)", (org_ids,))
    for region in cells.regions:
        with cells.connection(region) as conn:
            for table in (
                "messages",
                "message_idempotency_keys",
                "campaign_holdouts",
                "recipient_send_times",
                "suppressions",
                "email_events",
                "contacts",
            ):
                conn.execute(f"DELETE FROM {table} WHERE org_id = ANY(%s)", (org_ids,))  # noqa: S608


@contextmanager
def own_api(settings: Settings, cells: Cells) -> Iterator[tuple[str, Tenants]]:
    """The API for ``settings`` (sharing the run's cells) under uvicorn, with a
    :class:`Tenants` of its own whose rows (and the cached domain checks) go afterwards."""
    with serve(create_app(settings)) as url:
        tenants = Tenants(cells, url)
        try:
            yield url, tenants
        finally:
            remove_org_rows(cells, tenants.created)
            tenants.cleanup()
            client = redis.Redis.from_url(str(settings.redis_url))
            for key in client.scan_iter(match=f"{settings.database_prefix}:domain-checks:*"):
                client.delete(key)
            client.close()
