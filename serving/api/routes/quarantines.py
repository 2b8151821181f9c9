"""Quarantined contacts imports: an owner lists the organization's imports held for their
spam-trap hits (counts per list source, never an address), then releases one (its contacts
become sendable under the usual consent and suppression rules) or rejects one (its
addresses stay suppressed). See :mod:`compliance.traps.quarantine`; each decision is taken
once and written to the control audit log.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from compliance.traps import QuarantineDecided, QuarantineNotFound
from compliance.traps.quarantine import Quarantine, quarantines, reject, release

from ...auth import Permission, Principal
from ...errors import Conflict, NotFound
from ..deps import CellsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors

router = APIRouter(
    route_class=ProtobufRoute,
    prefix="/v1",
    tags=["imports"],
    responses=errors(*AUTHENTICATED),
)
Reviewer = Annotated[Principal, Depends(require(Permission.IMPORTS_REVIEW))]
EXAMPLE: dict[str, Any] = {
    "import_id": "0b7e4f7e-3c1a-4d43-9a55-5b2f9d1c2e10",
    "imported_by": "key:5f3c2a1e-8d4b-4c7a-9e6f-1a2b3c4d5e6f",
    "created_at": "2026-11-28T04:30:00Z",
    "received": 4000,
    "held": 3900,
    "trap_hits": 100,
    "hits_by_source": {"disposable-email-domains": 80, "vendor-feed": 20},
    "regions": ["eu", "na"],
    "status": "quarantined",
    "decided_by": None,
    "decided_at": None,
}
NOT_FOUND = ("quarantine_not_found", "no quarantined import 0b7e... in your organization")
DECIDED = ("quarantine_decided", "import 0b7e... was released already")


class QuarantinePublic(BaseModel):
    """A contacts import held for its spam-trap hits, and the decision on it."""

    model_config = ConfigDict(json_schema_extra={"examples": [dict(EXAMPLE)]})

    import_id: uuid.UUID
    imported_by: str = Field(description="who imported it (API key or user)")
    created_at: datetime
    received: int = Field(description="records in the import")
    held: int = Field(description="addresses held until the decision")
    trap_hits: int
    hits_by_source: dict[str, int] = Field(description="trap hits per list source")
    regions: list[str]
    status: Literal["quarantined", "released", "rejected"]
    decided_by: str | None = None
    decided_at: datetime | None = None

    @classmethod
    def of(cls, found: Quarantine) -> QuarantinePublic:
        return cls(**{name: getattr(found, name) for name in cls.model_fields})


@router.get(
    "/imports/quarantined",
    response_model=list[QuarantinePublic],
    summary="Contacts imports held for their spam-trap hits, newest first",
    responses={200: {"content": {"application/json": {"example": [EXAMPLE]}}}},
)
def list_quarantined(principal: Reviewer, cells: CellsDep) -> list[QuarantinePublic]:
    with cells.connection("control") as conn:
        return [QuarantinePublic.of(q) for q in quarantines(conn, principal.org_id)]


def _decide(
    decision: str, cells: CellsDep, principal: Principal, import_id: uuid.UUID
) -> Quarantine:
    decide = release if decision == "release" else reject
    try:
        return decide(cells, principal.org_id, import_id, principal.subject)
    except QuarantineNotFound:
        raise NotFound(
            "quarantine_not_found", f"no quarantined import {import_id} in your organization"
        ) from None
    except QuarantineDecided as exc:
        raise Conflict(exc.code, str(exc)) from None


@router.post(
    "/imports/{import_id}/release",
    response_model=QuarantinePublic,
    summary="Release a quarantined import: its contacts may be mailed (audited)",
    responses=errors(422, examples={404: NOT_FOUND, 409: DECIDED}),
)
async def release_import(
    import_id: uuid.UUID, principal: Reviewer, cells: CellsDep
) -> QuarantinePublic:
    decided = await run_in_threadpool(_decide, "release", cells, principal, import_id)
    return QuarantinePublic.of(decided)


@router.post(
    "/imports/{import_id}/reject",
    response_model=QuarantinePublic,
    summary="Reject a quarantined import: its addresses stay suppressed (audited)",
    responses=errors(422, examples={404: NOT_FOUND, 409: DECIDED}),
)
async def reject_import(
    import_id: uuid.UUID, principal: Reviewer, cells: CellsDep
) -> QuarantinePublic:
    decided = await run_in_threadpool(_decide, "reject", cells, principal, import_id)
    return QuarantinePublic.of(decided)
