"""The suppression list: page through it, add an address, remove one; by blind index in
every region cell of the organization (see :mod:`serving.ingest.suppressions`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from ...auth import Permission, Principal
from ...errors import NotFound
from ...ingest import suppressions
from ...ingest.schemas_contacts import SuppressionCreate, SuppressionPage, SuppressionPublic
from ...ingest.validation import normalized_address
from ...ingest.wiring import CipherDep
from ..deps import CellsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors

router = APIRouter(
    route_class=ProtobufRoute, prefix="/v1", tags=["suppressions"], responses=errors(*AUTHENTICATED)
)
Reader = Annotated[Principal, Depends(require(Permission.SUPPRESSIONS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.SUPPRESSIONS_WRITE))]
EmailQuery = Annotated[str, Query(min_length=3, max_length=320, examples=["bob@example.org"])]


@router.get(
    "/suppressions",
    summary="The suppression list, oldest first, a page at a time",
    response_model=SuppressionPage,
    responses=errors(examples={422: ("invalid_cursor", "the cursor is not one this API gave")}),
)
async def list_suppressions(
    principal: Reader,
    cells: CellsDep,
    cipher: CipherDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    email: Annotated[str | None, Query(min_length=3, max_length=320)] = None,
) -> SuppressionPage:
    after = suppressions.Cursor.decode(cursor) if cursor else None
    index = cipher.blind_index(normalized_address(email)) if email else None
    items, last = await run_in_threadpool(
        suppressions.page, cells, principal.org_id, limit, after, index
    )
    return SuppressionPage(items=items, next_cursor=last.encode() if last else None)


@router.post(
    "/suppressions",
    summary="Suppress an address (201 when new, 200 when it was already suppressed)",
    status_code=status.HTTP_201_CREATED,
    response_model=SuppressionPublic,
    responses={
        200: {"model": SuppressionPublic, "description": "The address was already suppressed"},
        **errors(examples={422: ("invalid_address", "the address is not valid: ...")}),
    },
)
async def add_suppression(
    body: SuppressionCreate,
    principal: Writer,
    cells: CellsDep,
    cipher: CipherDep,
    response: Response,
) -> SuppressionPublic:
    index = cipher.blind_index(normalized_address(body.email))
    new = await run_in_threadpool(
        suppressions.add, cells, principal.org_id, index, body.reason, body.expires_at,
        f"api:{principal.subject}",
    )  # fmt: skip
    if not new:
        response.status_code = status.HTTP_200_OK
    items, _ = await run_in_threadpool(suppressions.page, cells, principal.org_id, 1, None, index)
    return items[0]


@router.delete(
    "/suppressions",
    summary="Remove an address from the suppression list",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(
        examples={
            404: ("suppression_not_found", "the address is not on your suppression list"),
            409: ("erasure_suppression", "the address was erased at its owner's request ..."),
        }
    ),
)
async def remove_suppression(
    email: EmailQuery, principal: Writer, cells: CellsDep, cipher: CipherDep
) -> None:
    index = cipher.blind_index(normalized_address(email))
    removed = await run_in_threadpool(suppressions.remove, cells, principal.org_id, index)
    if not removed:
        raise NotFound("suppression_not_found", "the address is not on your suppression list")
