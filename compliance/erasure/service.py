"""Erasing a data subject from an organization: every region cell, Redis and the audit log.

The organization is the controller: a request erases the subject from the one
organization that received it (another organization holding the same address is another
controller, with its own request). The address is looked up by blind index in every
region cell, since a contact may have been stored in more than one over time.

In each cell that holds the subject, one transaction runs the cascade
(:mod:`.cascade`), records the pseudonyms in ``erased_subjects`` (which model training
reads to leave them out), clears the subject's Redis keys, writes an
``erasure.certificate`` entry to the cell's audit log and an ``erasures`` row. Redis is
cleared before the transaction commits: if Redis fails, the cell is left untouched and
the request can be repeated. Last, a certificate naming every cell's certificate goes to
the control database's audit log. Certificates carry the subject hash, never the address.

A second request for the same subject finds nothing left to erase and answers with the
first erasure (already erased), writing nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import redis
from psycopg.types.json import Jsonb

from warehouse.db import CONTROL, Cells

from ..audit import AuditEntry, record
from ..crypto import PiiCipher
from ..errors import ErasureIncomplete, SubjectNotFound
from ..subjects import subject_hash, subject_ref
from .cascade import erase_contact, live_contacts, message_ids_of
from .redis_keys import delete_subject_keys, identifiers

CERTIFICATE = "erasure.certificate"


@dataclass(frozen=True)
class RedisTarget:
    """The Redis whose keys (under ``prefix``, the deployment's key prefix) are cleared."""

    client: redis.Redis
    prefix: str


@dataclass(frozen=True)
class CellCertificate:
    """What an erasure did in one region cell."""

    region: str
    contacts: int
    removed: dict[str, int]
    pseudonymized: dict[str, int]
    training_rows: dict[str, int]
    redis_keys: int | None  # None: no Redis configured
    audit_id: int

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "contacts": self.contacts,
            "removed": self.removed,
            "pseudonymized": self.pseudonymized,
            "training_rows": self.training_rows,
            "redis_keys": self.redis_keys,
            "audit_id": self.audit_id,
        }


@dataclass(frozen=True)
class ErasureResult:
    """The outcome of a request: a new erasure, or the first one when already erased."""

    erasure_id: uuid.UUID
    org_id: uuid.UUID
    subject: str  # subject_ref: the audit-log subject of the certificates
    erased_at: datetime
    requested_by: str
    already_erased: bool
    cells: list[CellCertificate] = field(default_factory=list)
    control_audit_id: int | None = None  # None when only the cells' records were found

    def as_json(self) -> dict[str, Any]:
        """The certificate as plain JSON (what the CLI prints and the API answers)."""
        return {
            "erasure_id": str(self.erasure_id),
            "subject": self.subject,
            "erased_at": self.erased_at.isoformat(),
            "requested_by": self.requested_by,
            "already_erased": self.already_erased,
            "control_audit_id": self.control_audit_id,
            "cells": [cell.as_json() for cell in self.cells],
        }


def erase_subject(
    cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    email: str,
    *,
    requested_by: str,
    redis_target: RedisTarget | None = None,
) -> ErasureResult:
    """Erase the data subject with address ``email`` from organization ``org_id``."""
    blind_index = cipher.blind_index(email)
    erasure_id = uuid.uuid4()
    erased_at = datetime.now(UTC)
    done: list[CellCertificate] = []
    try:
        for region in cells.regions:
            with cells.connection(region) as conn:
                certificate = _erase_in_cell(
                    conn,
                    region,
                    org_id,
                    blind_index,
                    erasure_id=erasure_id,
                    erased_at=erased_at,
                    requested_by=requested_by,
                    redis_target=redis_target,
                )
            if certificate is not None:
                done.append(certificate)
    except Exception as exc:
        # Cells already erased stay erased (their transactions committed): the control log
        # still gets their certificate, marked incomplete; a repeat finishes the rest.
        if done:
            _certify(cells, requested_by, org_id, blind_index, erasure_id, erased_at, done, exc)
        raise
    if not done:
        return _first_erasure(cells, org_id, blind_index)
    entry = _certify(cells, requested_by, org_id, blind_index, erasure_id, erased_at, done)
    return ErasureResult(
        erasure_id=erasure_id,
        org_id=org_id,
        subject=subject_ref(blind_index),
        erased_at=erased_at,
        requested_by=requested_by,
        already_erased=False,
        cells=done,
        control_audit_id=entry.audit_id,
    )


def _certify(
    cells: Cells,
    requested_by: str,
    org_id: uuid.UUID,
    blind_index: bytes,
    erasure_id: uuid.UUID,
    erased_at: datetime,
    done: list[CellCertificate],
    failure: Exception | None = None,
) -> AuditEntry:
    """The control database's certificate, naming every cell's."""
    details: dict[str, Any] = {
        "erasure_id": str(erasure_id),
        "erased_at": erased_at.isoformat(),
        "subject_hash": subject_hash(blind_index).hex(),
        "cells": [certificate.as_json() for certificate in done],
    }
    if failure is not None:
        details["incomplete"] = type(failure).__name__  # its message may quote row values
    with cells.connection(CONTROL) as conn:
        return record(
            conn,
            actor=requested_by,
            action=CERTIFICATE,
            subject=subject_ref(blind_index),
            org_id=org_id,
            details=details,
        )


def _erase_in_cell(
    conn: psycopg.Connection,
    region: str,
    org_id: uuid.UUID,
    blind_index: bytes,
    *,
    erasure_id: uuid.UUID,
    erased_at: datetime,
    requested_by: str,
    redis_target: RedisTarget | None,
) -> CellCertificate | None:
    contact_ids = live_contacts(conn, org_id, blind_index)
    if not contact_ids:
        return None
    removed: dict[str, int] = {}
    kept: dict[str, int] = {}
    training: dict[str, int] = {}
    all_messages: list[uuid.UUID] = []
    archive_partitions: set[str] = set()
    archive_rows = 0
    for contact_id in contact_ids:
        messages = message_ids_of(conn, contact_id)
        all_messages.extend(messages)
        erased = erase_contact(conn, org_id, contact_id, blind_index, messages)
        _add(removed, erased.removed)
        _add(kept, erased.pseudonymized)
        _add(training, erased.training_rows)
        archive_partitions.update(erased.archive.partitions)
        archive_rows += erased.archive.rows
        conn.execute(
            "INSERT INTO erased_subjects (pseudonym, org_id, erased_on, training_rows) "
            "VALUES (%s, %s, %s, %s)",
            (erased.pseudonym, org_id, erased_at.date(), Jsonb(erased.training_rows)),
        )
    redis_keys = _clear_redis(redis_target, identifiers(contact_ids, all_messages, blind_index))
    details = {
        "erasure_id": str(erasure_id),
        "region": region,
        "erased_at": erased_at.isoformat(),
        "subject_hash": subject_hash(blind_index).hex(),
        "contacts": len(contact_ids),
        "removed": removed,
        "pseudonymized": kept,
        "training_rows": training,
        "suppression": "erasure",
        "redis_keys": redis_keys,
        "key_destroyed": True,
        # Archived events sealed under the destroyed key: unreadable from now on.
        "archive_shredded": {"partitions": sorted(archive_partitions), "rows": archive_rows},
    }
    entry = record(
        conn,
        actor=requested_by,
        action=CERTIFICATE,
        subject=subject_ref(blind_index),
        org_id=org_id,
        details=details,
    )
    conn.execute(
        "INSERT INTO erasures (erasure_id, org_id, subject_hash, requested_by, erased_at, "
        "contacts, removed, certificate_audit_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            erasure_id,
            org_id,
            subject_hash(blind_index),
            requested_by,
            erased_at,
            len(contact_ids),
            Jsonb({"removed": removed, "pseudonymized": kept}),
            entry.audit_id,
        ),
    )
    return CellCertificate(
        region, len(contact_ids), removed, kept, training, redis_keys, entry.audit_id
    )


def _clear_redis(target: RedisTarget | None, tokens: frozenset[str]) -> int | None:
    if target is None:
        return None
    try:
        return delete_subject_keys(target.client, target.prefix, tokens)
    except redis.RedisError as exc:
        raise ErasureIncomplete(f"Redis keys could not be cleared: {exc}") from exc


def _first_erasure(cells: Cells, org_id: uuid.UUID, blind_index: bytes) -> ErasureResult:
    """The earliest erasure of the subject, or SubjectNotFound when there never was one."""
    found: list[tuple[str, tuple[Any, ...]]] = []
    for region in cells.regions:
        with cells.connection(region) as conn:
            row = conn.execute(
                "SELECT erasure_id, erased_at, requested_by, contacts, removed, "
                "certificate_audit_id FROM erasures WHERE org_id = %s AND subject_hash = %s "
                "ORDER BY erased_at LIMIT 1",
                (org_id, subject_hash(blind_index)),
            ).fetchone()
        if row is not None:
            found.append((region, row))
    if not found:
        raise SubjectNotFound("no contact with this address in the organization")
    first_id = min(found, key=lambda item: item[1][1])[1][0]
    first = [(region, row) for region, row in found if row[0] == first_id]
    _, (erasure_id, erased_at, requested_by, *_rest) = first[0]
    return ErasureResult(
        erasure_id=erasure_id,
        org_id=org_id,
        subject=subject_ref(blind_index),
        erased_at=erased_at,
        requested_by=requested_by,
        already_erased=True,
        cells=[
            CellCertificate(
                region,
                contacts,
                dict(removed.get("removed", {})),
                dict(removed.get("pseudonymized", {})),
                {},
                None,
                int(audit_id),
            )
            for region, (_, _, _, contacts, removed, audit_id) in first
        ],
    )


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value
