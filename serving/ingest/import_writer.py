"""Writing imported contacts in chunks: each chunk's addresses are looked up by blind index
in every cell of the organization (one query per cell), sealed (a known contact keeps its
id, so its ciphertexts stay bound to it) and upserted with one multi-row statement per
region cell, with their marketing consent when the record gives one.

With an :class:`compliance.traps.ImportScreen`, each chunk is screened for spam traps in its
cell's transaction (matches refused as ``spam_trap``) and its addresses held until the
import's verdict (quarantine or not; see :mod:`compliance.traps.imports`).

A contact lives in one region: a record whose country belongs to another region than the
contact's cell is refused (``region_conflict``), not moved.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import psycopg

from compliance.crypto import PiiCipher
from compliance.traps import REFUSAL_CODE, ImportScreen
from warehouse.db import Cells

from ..errors import IngestRejected
from .importing import ContactRow, Record, RowProblem
from .schemas_contacts import ImportReport, RowError
from .validation import normalized_address, region_of_country

MAX_REPORTED_ERRORS = 1000
_UPSERT = """
INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, name_ciphertext,
    wrapped_data_key, kek_version, email_domain, country, region, time_zone, locale, attributes)
SELECT u.id, %(org)s, u.ect, u.idx, u.nct, u.wdk, %(kek)s, u.dom, u.country, %(region)s,
       u.tz, u.loc, u.attrs::jsonb
FROM unnest(%(id)s::uuid[], %(ect)s::bytea[], %(idx)s::bytea[], %(nct)s::bytea[],
            %(wdk)s::bytea[], %(dom)s::text[], %(country)s::text[], %(tz)s::text[],
            %(loc)s::text[], %(attrs)s::text[])
     AS u(id, ect, idx, nct, wdk, dom, country, tz, loc, attrs)
ON CONFLICT (org_id, email_blind_index) DO UPDATE SET
    email_ciphertext = EXCLUDED.email_ciphertext, name_ciphertext = EXCLUDED.name_ciphertext,
    wrapped_data_key = EXCLUDED.wrapped_data_key, kek_version = EXCLUDED.kek_version,
    country = EXCLUDED.country, time_zone = EXCLUDED.time_zone, locale = EXCLUDED.locale,
    attributes = contacts.attributes || EXCLUDED.attributes, updated_at = now()
WHERE contacts.contact_id = EXCLUDED.contact_id
RETURNING contact_id, (xmax = 0)
"""
_CONSENTS = """
WITH c AS (
    SELECT * FROM unnest(%(id)s::uuid[], %(status)s::text[], %(policy)s::text[])
        AS c(contact_id, status, policy)
), upserted AS (
    INSERT INTO consents (contact_id, channel, purpose, status, steps_completed, policy_version)
    SELECT contact_id, 'email', 'marketing', status,
           CASE WHEN status = 'granted' THEN 1 ELSE 0 END, policy FROM c
    ON CONFLICT (contact_id, channel, purpose) DO UPDATE SET status = EXCLUDED.status,
        steps_completed = EXCLUDED.steps_completed, policy_version = EXCLUDED.policy_version,
        updated_at = now()
)
INSERT INTO consent_events (contact_id, org_id, purpose, action, source, policy_version)
SELECT contact_id, %(org)s, 'marketing',
       CASE status WHEN 'pending' THEN 'requested' ELSE status END, 'import', policy FROM c
"""


@dataclass
class _Known:
    contact_id: uuid.UUID
    region: str
    name: str | None
    country: str
    time_zone: str
    locale: str


@dataclass
class _Ready:
    number: int
    row: ContactRow
    email: str
    index: bytes
    region: str
    contact_id: uuid.UUID
    name: str | None
    country: str
    time_zone: str
    locale: str


@dataclass
class ContactImporter:
    """Feed it records with :meth:`add`; call :meth:`finish` for the report."""

    cells: Cells
    cipher: PiiCipher
    org_id: uuid.UUID
    chunk_rows: int = 500
    screen: ImportScreen | None = None  # spam-trap screening and quarantine
    report: ImportReport = field(default_factory=ImportReport)
    _pending: list[tuple[int, ContactRow]] = field(default_factory=list)

    def add(self, number: int, record: Record) -> None:
        self.report.received += 1
        if isinstance(record, RowProblem):
            self._reject(number, record.code, record.detail)
            return
        self._pending.append((number, record))
        if len(self._pending) >= self.chunk_rows:
            self.flush()

    def finish(self) -> ImportReport:
        self.flush()
        if self.screen is not None:
            self.report.trap_hits = dict(sorted(self.screen.hits.items()))
            verdict = self.screen.conclude(self.cells, self.report.received)
            self.report.quarantine_id = verdict.import_id if verdict else None
        self.report.errors.sort(key=lambda error: error.row)
        return self.report

    def abandon(self) -> None:
        """After a failed import, give what was written its trap verdict (quarantine, or the
        holds lifted), so no address stays held without a record to review."""
        if self.screen is not None:
            self.screen.conclude(self.cells, self.report.received)

    def _reject(self, number: int, code: str, detail: str) -> None:
        self.report.rejected += 1
        if len(self.report.errors) < MAX_REPORTED_ERRORS:
            self.report.errors.append(RowError(row=number, code=code, detail=detail))
        else:
            self.report.errors_truncated = True

    def flush(self) -> None:
        chunk, self._pending = self._pending, []
        valid: list[tuple[int, ContactRow, str]] = []
        for number, row in chunk:
            try:
                valid.append((number, row, normalized_address(row.email)))
            except IngestRejected as exc:
                self._reject(number, exc.code, exc.detail)
        if not valid:
            return
        known = self._known([self.cipher.blind_index(email) for _, _, email in valid])
        by_index: dict[bytes, _Ready] = {}
        for number, row, email in valid:
            index = self.cipher.blind_index(email)
            try:
                ready = self._prepare(number, row, email, index, known.get(index))
            except IngestRejected as exc:
                self._reject(number, exc.code, exc.detail)
                continue
            earlier = by_index.get(index)
            if earlier is not None:  # the same address twice in a chunk: the last one wins
                ready.contact_id = earlier.contact_id
                self.report.updated += 1
            by_index[index] = ready
        by_region: dict[str, list[_Ready]] = {}
        for ready in by_index.values():
            by_region.setdefault(ready.region, []).append(ready)
        for region, rows in by_region.items():
            with self.cells.connection(region) as conn:
                self._write(conn, region, rows)

    def _known(self, indexes: list[bytes]) -> dict[bytes, _Known]:
        found: dict[bytes, _Known] = {}
        for region in self.cells.regions:
            with self.cells.connection(region) as conn:
                rows = conn.execute(
                    "SELECT email_blind_index, contact_id, name_ciphertext, wrapped_data_key, "
                    "kek_version, country, time_zone, locale FROM contacts "
                    "WHERE org_id = %s AND email_blind_index = ANY(%s)",
                    (self.org_id, indexes),
                ).fetchall()
            for index, contact_id, name_ct, wrapped, kek_version, *place in rows:
                name = (
                    self.cipher.open_field(contact_id, "name", name_ct, wrapped, kek_version)
                    if name_ct is not None
                    else None
                )
                found[bytes(index)] = _Known(contact_id, region, name, *place)
        return found

    def _prepare(
        self, number: int, row: ContactRow, email: str, index: bytes, known: _Known | None
    ) -> _Ready:
        region = region_of_country(row.country, self.cells.regions) if row.country else None
        if known is None:
            if region is None:
                raise IngestRejected("country_required", "a new contact needs its country")
            return _Ready(
                number, row, email, index, region, uuid.uuid4(), row.name,
                (row.country or "").upper(), row.time_zone or "UTC", row.locale or "en-US",
            )  # fmt: skip
        if region is not None and region != known.region:
            raise IngestRejected(
                "region_conflict",
                f"the contact's data lives in region {known.region}; {row.country} belongs to "
                f"{region} and imports do not move contacts between regions",
            )
        return _Ready(
            number, row, email, index, known.region, known.contact_id, row.name or known.name,
            (row.country or known.country).upper(), row.time_zone or known.time_zone,
            row.locale or known.locale,
        )  # fmt: skip

    def _write(self, conn: psycopg.Connection, region: str, rows: list[_Ready]) -> None:
        if self.screen is not None:
            trapped = self.screen.screen(conn, {r.index: r.email for r in rows})
            for r in rows:
                if r.index in trapped:
                    match = trapped[r.index]
                    self._reject(
                        r.number, REFUSAL_CODE, f"a spam trap ({match.kind}, list {match.source})"
                    )
            rows = [r for r in rows if r.index not in trapped]
            if not rows:
                return
        sealed = [self.cipher.seal_contact(r.contact_id, r.email, r.name) for r in rows]
        written = conn.execute(
            _UPSERT,
            {
                "org": self.org_id,
                "kek": self.cipher.current_version,
                "region": region,
                "id": [r.contact_id for r in rows],
                "ect": [s.email_ciphertext for s in sealed],
                "idx": [s.email_blind_index for s in sealed],
                "nct": [s.name_ciphertext for s in sealed],
                "wdk": [s.wrapped_data_key for s in sealed],
                "dom": [r.email.rsplit("@", 1)[1].lower() for r in rows],
                "country": [r.country for r in rows],
                "tz": [r.time_zone for r in rows],
                "loc": [r.locale for r in rows],
                "attrs": [json.dumps(r.row.attributes) for r in rows],
            },
        ).fetchall()
        done = {row[0]: row[1] for row in written}
        if self.screen is not None:
            self.screen.hold(conn, region, [r.index for r in rows if r.contact_id in done])
        consenting = [r for r in rows if r.contact_id in done and r.row.consent]
        for r in rows:
            if r.contact_id not in done:
                self._reject(r.number, "conflict", "the address was imported concurrently; retry")
            elif done[r.contact_id]:
                self.report.created += 1
            else:
                self.report.updated += 1
        if consenting:
            conn.execute(
                _CONSENTS,
                {
                    "org": self.org_id,
                    "id": [r.contact_id for r in consenting],
                    "status": [r.row.consent for r in consenting],
                    "policy": [r.row.policy_version for r in consenting],
                },
            )
