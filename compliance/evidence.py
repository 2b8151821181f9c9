"""Evidence packs: everything an organization holds about one data subject, as a zip.

The pack answers a regulator or the subject: what consent was given and how (consents and
their consent_events), which messages were sent, which suppressions and erasures exist,
and the audit-log entries about the subject with proof that the log is intact. It is
built from every region cell (and the control database's audit log) of one organization.

Files (JSON, UTF-8):

- ``subject.json``: the address asked about, its subject reference, and each contact found
  with its decrypted name (the only place in the pack plaintext personal data appears);
- ``consent.json``: the current consents and every consent event;
- ``messages.json``: messages sent: id, region, campaign, type, status and times;
- ``suppressions.json`` and ``erasures.json``: the suppression and erasure records;
- ``audit.json``: per database, the excerpt (entries about the subject, each with its hash
  recomputed and compared) and the verification of the whole chain (``first_break`` over
  every entry; the excerpt alone is not contiguous, so it cannot prove its own links);
- ``manifest.json``: when and for whom the pack was made, and the SHA-256 of every file.

Each export is recorded in the control database's audit log (``evidence.exported``).

For an erased subject the contacts, consents and messages are gone (their kept rows carry
an unlinked pseudonym); the pack shows the erasure records, the ``erasure`` suppression and
the erasure certificates in the audit excerpt.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from warehouse.db import CONTROL, Cells

from .audit import AuditEntry, entries, first_break, record
from .crypto import PiiCipher
from .subjects import subject_hash, subject_ref

MANIFEST = "manifest.json"
EXPORTED = "evidence.exported"


def build_evidence_pack(
    cells: Cells, cipher: PiiCipher, org_id: uuid.UUID, email: str, *, requested_by: str
) -> bytes:
    """The zip of the evidence about ``email`` held by organization ``org_id``."""
    blind_index = cipher.blind_index(email)
    ref = subject_ref(blind_index)
    contacts: list[dict[str, Any]] = []
    consent: dict[str, list[dict[str, Any]]] = {"consents": [], "consent_events": []}
    messages: list[dict[str, Any]] = []
    suppressions: list[dict[str, Any]] = []
    erasures: list[dict[str, Any]] = []
    audit: dict[str, Any] = {}
    for region in cells.regions:
        with cells.connection(region) as conn:
            found = _contacts(conn, cipher, org_id, blind_index)
            ids = [contact["contact_id"] for contact in found]
            contacts += [{"region": region, **contact} for contact in found]
            consent["consents"] += _rows(conn, _CONSENTS, (ids,), region)
            consent["consent_events"] += _rows(conn, _CONSENT_EVENTS, (ids,), region)
            messages += _rows(conn, _MESSAGES, (org_id, ids), region)
            suppressions += _rows(conn, _SUPPRESSIONS, (org_id, blind_index), region)
            erasures += _rows(conn, _ERASURES, (org_id, subject_hash(blind_index)), region)
            audit[region] = audit_excerpt(conn, _subjects(ref, ids))
    with cells.connection(CONTROL) as conn:
        audit[CONTROL] = audit_excerpt(conn, [ref])
        # The export itself is recorded after the excerpt is read: a pack shows the log as
        # it stood when the pack was made.
        record(conn, actor=requested_by, action=EXPORTED, subject=ref, org_id=org_id)
    files = {
        "subject.json": {"email": email, "subject": ref, "contacts": contacts},
        "consent.json": consent,
        "messages.json": messages,
        "suppressions.json": suppressions,
        "erasures.json": erasures,
        "audit.json": audit,
    }
    return _zip(files, org_id, ref, requested_by)


def audit_excerpt(conn: psycopg.Connection, subjects: Iterable[str]) -> dict[str, Any]:
    """The entries about ``subjects`` with their recomputed hashes, and the verification of
    the whole chain of this database."""
    excerpt: list[AuditEntry] = []
    for subject in subjects:
        excerpt += entries(conn, subject=subject)
    excerpt.sort(key=lambda entry: entry.audit_id)
    counted = _Counted(entries(conn))
    broken = first_break(counted)
    return {
        "chain": {
            "entries": counted.seen,
            "intact": broken is None,
            "first_break": (
                {"audit_id": broken.audit_id, "reason": broken.reason} if broken else None
            ),
        },
        "excerpt": [_entry_json(entry) for entry in excerpt],
    }


class _Counted:
    """Counts the entries the verification walks through."""

    def __init__(self, source: Iterable[AuditEntry]) -> None:
        self._source = source
        self.seen = 0

    def __iter__(self) -> Iterator[AuditEntry]:
        for entry in self._source:
            self.seen += 1
            yield entry


def _entry_json(entry: AuditEntry) -> dict[str, Any]:
    recomputed = entry.expected_hash()
    return {
        **entry.body(),
        "prev_hash": entry.prev_hash.hex(),
        "row_hash": entry.row_hash.hex(),
        "recomputed_hash": recomputed.hex(),
        "hash_matches": recomputed == entry.row_hash,
    }


def _subjects(ref: str, contact_ids: list[uuid.UUID]) -> list[str]:
    """Audit subjects that name the data subject: the subject reference and contact ids."""
    return [ref, *(form for cid in contact_ids for form in (str(cid), f"contact:{cid}"))]


def _contacts(
    conn: psycopg.Connection, cipher: PiiCipher, org_id: uuid.UUID, blind_index: bytes
) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT contact_id, name_ciphertext, wrapped_data_key, kek_version, status, country, "
        "created_at, retention_until FROM contacts WHERE org_id = %s AND email_blind_index = %s",
        (org_id, blind_index),
    ).fetchall()
    found = []
    for contact_id, name_ct, wrapped, kek_version, status, country, created, retain in rows:
        name = (
            cipher.open_field(contact_id, "name", bytes(name_ct), bytes(wrapped), kek_version)
            if name_ct is not None
            else None
        )
        found.append(
            {
                "contact_id": contact_id,
                "name": name,
                "status": status,
                "country": country,
                "created_at": created,
                "retention_until": retain,
            }
        )
    return found


_CONSENTS = (
    "SELECT contact_id, channel, purpose, status, opt_in_steps, steps_completed, "
    "policy_version, updated_at FROM consents WHERE contact_id = ANY(%s) "
    "ORDER BY contact_id, channel, purpose"
)
_CONSENT_EVENTS = (
    "SELECT consent_event_id, contact_id, channel, purpose, action, step, source, occurred_at, "
    "host(ip) AS ip, user_agent, policy_version FROM consent_events "
    "WHERE contact_id = ANY(%s) ORDER BY occurred_at, consent_event_id"
)
_MESSAGES = (
    "SELECT message_id, campaign_id, campaign_type, template_id, template_version, variant, "
    "status, created_at, sent_at, updated_at FROM messages "
    "WHERE org_id = %s AND contact_id = ANY(%s) ORDER BY created_at, message_id"
)
_SUPPRESSIONS = (
    "SELECT reason, source, created_at, expires_at FROM suppressions "
    "WHERE org_id = %s AND email_blind_index = %s"
)
_ERASURES = (
    "SELECT erasure_id, erased_at, requested_by, contacts, removed, certificate_audit_id "
    "FROM erasures WHERE org_id = %s AND subject_hash = %s ORDER BY erased_at"
)


def _rows(
    conn: psycopg.Connection, query: str, params: tuple[Any, ...], region: str
) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [column.name for column in cur.description or []]
        return [{"region": region, **dict(zip(names, row, strict=True))} for row in cur]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _zip(files: dict[str, Any], org_id: uuid.UUID, ref: str, requested_by: str) -> bytes:
    encoded = {
        name: json.dumps(content, default=_plain, indent=2, sort_keys=True).encode()
        for name, content in files.items()
    }
    manifest = {
        "generated_at": datetime.now(UTC).isoformat(),
        "org_id": str(org_id),
        "subject": ref,
        "requested_by": requested_by,
        "files": {name: hashlib.sha256(body).hexdigest() for name, body in encoded.items()},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for name, body in encoded.items():
            pack.writestr(name, body)
        pack.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
    return buffer.getvalue()
