"""The secure link of the fallback channel: ``GET /t/f/{token}`` answers the PDF of a
message that was delivered by SMS (see :mod:`delivery.fallback`).

The token is signed and expires (``FALLBACK_LINK_TTL_SECONDS``); the PDF is kept sealed
under the recipient's data key and opened for this answer only. A forged token is a 400,
an expired one or a document that is gone (purged, or its contact erased) a 404, both as
a small page for the person holding a phone. The answer is never cached nor indexed.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from compliance.crypto import PiiCipher
from delivery.fallback import (
    DocumentLinks,
    DocumentUnavailable,
    InvalidDocumentLink,
    open_document,
)
from delivery.fallback.wiring import document_links
from warehouse.db import Cells

from ...errors import DocumentGone, InvalidTrackingLink, ServingError
from ...ingest.wiring import CipherDep
from ...tracking.pages import error_page
from ..deps import CellsDep, SettingsDep
from ..protobuf import ProtobufRoute
from ..responses import PUBLIC, errors

router = APIRouter(route_class=ProtobufRoute, tags=["tracking"], responses=errors(*PUBLIC))
PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}


@router.get(
    "/t/f/{token}",
    summary="Secure link: a message delivered on the fallback channel, as PDF",
    response_class=Response,
    responses={
        200: {
            "description": "The message as a PDF",
            "content": {
                "application/pdf": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "%PDF-1.7 ...",
                }
            },
        },
        400: {"description": "Not a valid secure link", "content": {"text/html": {}}},
        404: {
            "description": "The link expired or its document is gone",
            "content": {"text/html": {}},
        },
    },
)
async def fallback_document(
    token: str, cells: CellsDep, cipher: CipherDep, settings: SettingsDep
) -> Response:
    """The PDF the signed token names, while its link is valid."""
    try:
        pdf = await run_in_threadpool(_document, token, cells, cipher, document_links(settings))
    except ServingError as exc:
        headers = {**PRIVATE, "X-Error-Code": exc.code}
        return HTMLResponse(error_page(exc.status_code, exc.detail), exc.status_code, headers)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**PRIVATE, "Content-Disposition": 'inline; filename="message.pdf"'},
    )


def _document(token: str, cells: Cells, cipher: PiiCipher, links: DocumentLinks) -> bytes:
    try:
        ref = links.verify(token)
        if ref.region not in cells.regions:
            raise InvalidDocumentLink("this link is not valid")
        with cells.connection(ref.region) as conn:
            return open_document(conn, cipher, ref.message_id)
    except DocumentUnavailable as exc:
        raise DocumentGone(str(exc)) from None
    except InvalidDocumentLink as exc:
        raise InvalidTrackingLink(str(exc)) from None
