"""Contacts: a streamed import (CSV, JSON lines or a JSON array) with a per-record report,
and one contact read back decrypted."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from fastapi.concurrency import run_in_threadpool

from compliance.traps import ImportScreen, QuarantinePolicy

from ...auth import Permission, Principal
from ...errors import NotFound
from ...ingest.contacts import read_contact
from ...ingest.import_writer import ContactImporter
from ...ingest.importing import records
from ...ingest.schemas_contacts import ContactPublic, ImportReport
from ...ingest.upload import Upload, signed_upload
from ...ingest.wiring import CipherDep
from ...proto.bodies import encode, protobuf_response
from ..deps import CellsDep, SettingsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors

router = APIRouter(route_class=ProtobufRoute, prefix="/v1", tags=["contacts"])
Importer = Annotated[Upload, Depends(signed_upload(Permission.CONTACTS_WRITE))]
Reader = Annotated[Principal, Depends(require(Permission.CONTACTS_READ))]
CSV_EXAMPLE = "email,name,country,consent,attr.plan\nada@example.org,Ada,DE,granted,pro\n"
NDJSON_EXAMPLE = '{"email": "ada@example.org", "country": "DE", "consent": "granted"}\n'


@router.post(
    "/contacts:import",
    summary="Import contacts (CSV, JSON lines or a JSON array), streamed",
    description=(
        "Columns/keys: `email` (required), `name`, `country` (needed for new contacts), "
        "`time_zone`, `locale`, `attributes` (JSON object; CSV also `attr.<key>` columns), "
        "`consent` (`granted`, `pending`, `withdrawn`: marketing consent, recorded with source "
        "`import`) and `policy_version`. Known addresses (by blind index) are updated, new "
        "ones created sealed in their country's region cell. Spam traps are refused "
        "(`spam_trap`, counted in `trap_hits` per list source); an import with too many is "
        "quarantined (`quarantine_id`): nothing it brought is sendable until an owner "
        "releases it. The body is spooled to disk, never held in memory, and written in "
        "chunks; the answer counts records and reports each refused one."
    ),
    response_model=ImportReport,
    responses=errors(401, 403, 413, 415, 429, 503),  # no time limit: see resilience
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": NDJSON_EXAMPLE,
                },
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "object"}},
                    "example": [{"email": "ada@example.org", "country": "DE"}],
                },
            },
        }
    },
)
async def import_contacts(
    upload: Importer, cells: CellsDep, cipher: CipherDep, settings: SettingsDep
) -> ImportReport:
    screen = ImportScreen(
        upload.principal.org_id,
        upload.principal.subject,
        QuarantinePolicy(settings.trap_quarantine_ratio, settings.trap_quarantine_min_hits),
    )
    importer = ContactImporter(
        cells,
        cipher,
        upload.principal.org_id,
        chunk_rows=settings.import_chunk_rows,
        screen=screen,
    )

    def run() -> ImportReport:
        number = 0
        try:
            for number, record in enumerate(records(upload.body, upload.content_type), 1):
                importer.add(number, record)
        except UnicodeDecodeError as exc:
            importer.report.aborted = (
                f"the body is not UTF-8 after record {number}: {exc.reason}; the records "
                "before it were imported"
            )
        except Exception:
            importer.abandon()  # no trap hold may outlive the request without a verdict
            raise
        return importer.finish()

    return await run_in_threadpool(run)


@router.get(
    "/contacts/{contact_id}",
    summary="A contact, decrypted, with its consents",
    response_model=ContactPublic,
    responses={
        200: {"content": protobuf_response(ContactPublic)},
        **errors(
            *AUTHENTICATED,
            examples={404: ("contact_not_found", "no contact 7d0f... in your organization")},
        ),
    },
)
def get_contact(
    contact_id: uuid.UUID,
    principal: Reader,
    cells: CellsDep,
    cipher: CipherDep,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    for region in cells.regions:
        with cells.connection(region) as conn:
            found = read_contact(conn, cipher, principal.org_id, contact_id)
        if found is not None:
            return encode(ContactPublic.model_validate(found), accept)
    raise NotFound("contact_not_found", f"no contact {contact_id} in your organization")
