"""A contact's phone number, for the fallback channel (``PUT /v1/contacts/{id}/phone``).

Campaigns that opt in to the SMS fallback reach a recipient whose email delivery was
exhausted on this number (see :mod:`delivery.fallback`). It is kept sealed under the
contact's data key like the address, in the contact's region cell, and an erasure shreds
it with the rest. ``null`` removes it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from compliance.crypto import PiiCipher
from compliance.errors import CryptoError
from delivery.fallback import InvalidPhoneNumber, normalize_phone, store_phone
from warehouse.db import Cells

from ...auth import Permission, Principal
from ...errors import Conflict, NotFound, ValidationFailed
from ...ingest.wiring import CipherDep
from ..deps import CellsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors

router = APIRouter(
    route_class=ProtobufRoute, prefix="/v1", tags=["contacts"], responses=errors(*AUTHENTICATED)
)
Writer = Annotated[Principal, Depends(require(Permission.CONTACTS_WRITE))]


class ContactPhoneUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"phone": "+49 151 12345678"}]}
    )

    phone: str | None = Field(
        max_length=32,
        description="international (E.164) form; spaces, dots, dashes and parentheses are "
        "dropped, a leading 00 becomes +; null removes the number",
    )


class ContactPhonePublic(BaseModel):
    contact_id: uuid.UUID
    phone: str | None = Field(examples=["+4915112345678"], description="as stored (E.164)")


@router.put(
    "/contacts/{contact_id}/phone",
    summary="Set or remove a contact's phone number (for the SMS fallback channel)",
    response_model=ContactPhonePublic,
    responses=errors(
        examples={
            404: ("contact_not_found", "no contact 7d0f... in your organization"),
            409: ("contact_key_unavailable", "the contact's data key cannot be opened"),
            422: ("invalid_phone", "a phone number needs the international form"),
        }
    ),
)
async def put_phone(
    contact_id: uuid.UUID,
    body: ContactPhoneUpdate,
    principal: Writer,
    cells: CellsDep,
    cipher: CipherDep,
) -> ContactPhonePublic:
    """Seals the number under the contact's data key (or removes it)."""
    try:
        phone = normalize_phone(body.phone) if body.phone is not None else None
    except InvalidPhoneNumber as exc:
        raise ValidationFailed("invalid_phone", str(exc)) from None
    try:
        found = await run_in_threadpool(_store, cells, cipher, principal.org_id, contact_id, phone)
    except CryptoError as exc:
        raise Conflict(
            "contact_key_unavailable", f"the contact's data key cannot be opened: {exc}"
        ) from None
    if not found:
        raise NotFound("contact_not_found", f"no contact {contact_id} in your organization")
    return ContactPhonePublic(contact_id=contact_id, phone=phone)


def _store(
    cells: Cells, cipher: PiiCipher, org_id: uuid.UUID, contact_id: uuid.UUID, phone: str | None
) -> bool:
    """Store in the cell that holds the organization's contact; False when none does."""
    for region in cells.regions:
        with cells.connection(region) as conn:
            row = conn.execute(
                "SELECT 1 FROM contacts WHERE contact_id = %s AND org_id = %s "
                "AND status <> 'erased' FOR UPDATE",
                (contact_id, org_id),
            ).fetchone()
            if row is not None:
                store_phone(conn, cipher, contact_id, phone)
                return True
    return False
