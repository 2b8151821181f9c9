"""Tracking endpoints: the open pixel, click redirects and the unsubscribe link.

- ``GET /t/o/{token}.gif``: always a 1x1 transparent GIF that no cache keeps; an ``opened``
  event when the token verifies and its message is known (an invalid token still gets the
  GIF and records nothing).
- ``GET /t/c/{token}``: 302 to the URL signed into the token and nowhere else; a bad or
  foreign token, or a destination that is no http(s) URL, is a 400 with a reason. The
  hidden honeypot link answers 200 with an empty page. A ``clicked`` event either way.
- ``GET /t/u/{token}``: a confirmation page with an Unsubscribe button (a GET never
  unsubscribes). ``POST /t/u/{token}`` with ``List-Unsubscribe=One-Click`` (RFC 8058
  one-click, and the page's button): the address is suppressed and an ``unsubscribed``
  event recorded, once.

Machine traffic is flagged, never dropped (rules in :mod:`serving.tracking.bots`); repeated
hits within the de-duplication window count once (:mod:`serving.tracking.store`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from ...errors import NotOneClick, ServingError
from ...tracking.pages import confirm_page, done_page, error_page
from ..deps import ClientDep, TrackerDep
from ..protobuf import ProtobufRoute
from ..responses import PUBLIC, errors

router = APIRouter(route_class=ProtobufRoute, tags=["tracking"], responses=errors(*PUBLIC))

# The classic 43-byte transparent 1x1 GIF.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_STORE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0, private",
    "Pragma": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}
PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the destination never sees the token
    "X-Robots-Tag": "noindex, nofollow",
}


@router.get(
    "/t/o/{token}.gif",
    summary="Open pixel",
    response_class=Response,
    responses={200: {"description": "A 1x1 transparent GIF", "content": {"image/gif": {}}}},
)
def open_pixel(token: str, tracker: TrackerDep, client: ClientDep) -> Response:
    """Records an open; answers with the pixel whatever the token."""
    tracker.open(token, client)
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get(
    "/t/c/{token}",
    summary="Click redirect",
    response_class=Response,
    status_code=302,
    responses={
        302: {"description": "Redirect to the URL signed into the token"},
        200: {
            "description": "The hidden honeypot link: an empty page",
            "content": {"text/html": {}},
        },
        **errors(examples={400: ("invalid_token", "this click link is not valid")}),
    },
)
def click(token: str, tracker: TrackerDep, client: ClientDep) -> Response:
    """Records a click and redirects to its destination."""
    result = tracker.click(token, client)
    if result.url is None:
        return HTMLResponse("<!DOCTYPE html><title></title>", headers=PRIVATE)
    return RedirectResponse(result.url, status_code=302, headers=PRIVATE)


# HEAD as GET (link checkers use it; the bot rules flag it), kept out of the OpenAPI document.
router.add_api_route("/t/o/{token}.gif", open_pixel, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/t/c/{token}", click, methods=["HEAD"], include_in_schema=False)


@router.get(
    "/t/u/{token}",
    summary="Unsubscribe confirmation page",
    response_class=HTMLResponse,
    responses={400: {"description": "Not a valid unsubscribe link", "content": {"text/html": {}}}},
)
def unsubscribe_page(token: str, tracker: TrackerDep) -> HTMLResponse:
    """Asks for confirmation; a GET never unsubscribes."""
    try:
        tracker.unsubscribe_claims(token)
    except ServingError as exc:
        return _error(exc)
    return HTMLResponse(confirm_page(), headers=PRIVATE)


@router.post(
    "/t/u/{token}",
    summary="Unsubscribe (RFC 8058 one-click, and the confirmation page's button)",
    response_class=HTMLResponse,
    responses={
        400: {"description": "Not a valid unsubscribe request", "content": {"text/html": {}}},
        503: {"description": "The unsubscribe could not be stored", "content": {"text/html": {}}},
    },
)
def unsubscribe(
    token: str,
    tracker: TrackerDep,
    client: ClientDep,
    list_unsubscribe: Annotated[
        str | None, Form(alias="List-Unsubscribe", examples=["One-Click"])
    ] = None,
    source: Annotated[str | None, Form(examples=["page"])] = None,
) -> HTMLResponse:
    """Suppresses the recipient's address and records the unsubscribe, once."""
    try:
        if (list_unsubscribe or "").strip().lower() != "one-click":
            raise NotOneClick("an unsubscribe POST must carry List-Unsubscribe=One-Click")
        channel = "link" if source == "page" else "list_unsubscribe_post"
        result = tracker.unsubscribe(token, client, channel)
    except ServingError as exc:
        return _error(exc)
    return HTMLResponse(done_page(already=not result.recorded), headers=PRIVATE)


def _error(exc: ServingError) -> HTMLResponse:
    headers = {**PRIVATE, "X-Error-Code": exc.code}
    if exc.status_code == 503:
        headers["Retry-After"] = "30"
    return HTMLResponse(error_page(exc.status_code, exc.detail), exc.status_code, headers)
