"""One shape for every error the API answers: ``{"code", "detail"}``, plus ``errors`` (the
fields at fault) on a 422; see :mod:`serving.api.responses` for how it is documented.

- :class:`serving.errors.ServingError`: its status, code and sentence (Retry-After on a 429
  and a 503).
- FastAPI's request validation (malformed JSON, a missing field, a path or query value of
  the wrong type): 422 ``invalid_request``, naming each field.
- Starlette's HTTP errors (an unknown path, a method the path does not take): their status
  with a code saying which (``not_found``, ``method_not_allowed``), headers such as
  ``Allow`` kept; FastAPI's 400 for a body it cannot parse (not UTF-8) is the 422 above.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import RateLimited, ServingError

MAX_LISTED = 10  # fields named in the sentence; ``errors`` lists them all
HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServingError, serving_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def error_body(code: str, detail: str, status: int) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if status == 422:
        body["errors"] = []
    return body


async def serving_error(request: Request, exc: Exception) -> JSONResponse:
    """A typed error with its status."""
    assert isinstance(exc, ServingError)
    headers = {"Retry-After": "30"} if exc.status_code == 503 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(
        error_body(exc.code, exc.detail, exc.status_code),
        status_code=exc.status_code,
        headers=headers,
    )


async def request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 ``invalid_request`` naming each field at fault. The values sent are not echoed
    (they may be passwords or personal data)."""
    assert isinstance(exc, RequestValidationError)
    fields = [field_error(error) for error in exc.errors()]
    return JSONResponse(
        {"code": "invalid_request", "detail": sentence(fields), "errors": fields},
        status_code=422,
    )


def field_error(error: Any) -> dict[str, Any]:
    """One of FastAPI's validation errors as ``{"loc", "msg", "type"}``."""
    loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    return {"loc": loc, "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}


def sentence(fields: Sequence[dict[str, Any]]) -> str:
    """``body.to: value is not a valid email address; query.limit: ...`` (the first few)."""
    if not fields:
        return "the request is not valid"
    parts = []
    for field in fields[:MAX_LISTED]:
        where = ".".join(str(part) for part in field["loc"]) or "request"
        parts.append(f"{where}: {field['msg']}")
    more = len(fields) - MAX_LISTED
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's HTTP errors (unknown path, wrong method, ...) in the common shape."""
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400:  # FastAPI's "error parsing the body" (not UTF-8, a broken form): a 422
        fields = [{"loc": ["body"], "msg": "the body cannot be parsed", "type": "body_invalid"}]
        return JSONResponse(
            {"code": "invalid_request", "detail": sentence(fields), "errors": fields},
            status_code=422,
        )
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    code = HTTP_CODES.get(status, phrase.lower().replace(" ", "_").replace("-", "_"))
    if isinstance(exc.detail, str) and exc.detail != phrase:
        detail = exc.detail
    elif status == 404:
        detail = f"no route {request.url.path}"
    elif status == 405:
        detail = f"{request.url.path} does not take {request.method}"
    else:
        detail = phrase
    return JSONResponse(error_body(code, detail, status), status_code=status, headers=exc.headers)
