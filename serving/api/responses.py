"""The API's error answers as the OpenAPI document shows them, shared by every router.

Every error is ``{"code", "detail"}`` (:class:`ApiError`): a machine-readable code and a
human sentence. A 422 adds ``errors``, the fields at fault (:class:`InvalidRequest`; empty
when the refusal is about the request as a whole, such as an address on the suppression
list). ``errors(*statuses, examples=...)`` gives the ``responses=`` of a router or a route:
each status with its meaning, its schema, an example and, for 423, 429 and 503, the Retry-After
header. Routers declare what all their routes can answer (``AUTHENTICATED``: 401, 403,
429, 503, 504); routes add their own (404, 409, 413, 415, 422) with route-specific
examples.

:func:`finish_document` completes the generated document: FastAPI's own 422 schema
(``HTTPValidationError``) gives way to :class:`InvalidRequest`, which is what
:mod:`serving.api.handlers` answers, and a request or response body documented without an
example gets one composed from its schema's field examples.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

ResponsesDoc = dict[int | str, dict[str, Any]]
COMPONENTS = "#/components/schemas/"
AUTHENTICATED = (401, 403, 429, 503, 504)  # a signed (or bearer) request with a permission
SIGNED_IN = (401, 429, 503, 504)  # any signed-in caller, whatever its role
PUBLIC = (503, 504)  # no credentials, but the database (or the time limit) may fail it


class ApiError(BaseModel):
    """Every error answer: a machine-readable code and a sentence."""

    code: str = Field(description="machine-readable reason", examples=["template_not_found"])
    detail: str = Field(
        description="a human sentence", examples=["no template 3f0c2d1e-... in your organization"]
    )


class FieldError(BaseModel):
    """One field a request failed on."""

    loc: list[str | int] = Field(
        description="where: body, query, path or header, then the field's path",
        examples=[["body", "messages", 0, "to"]],
    )
    msg: str = Field(examples=["value is not a valid email address"])
    type: str = Field(description="the kind of failure", examples=["value_error"])


class InvalidRequest(ApiError):
    """A 422: the request cannot be accepted; ``errors`` names the fields at fault."""

    errors: list[FieldError] = Field(
        default_factory=list,
        description="the fields at fault (empty when the whole request is refused)",
    )


RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
MEANINGS: dict[int, tuple[str, str, str]] = {
    400: ("A request the API cannot honour", "invalid_token", "this link is not valid"),
    401: (
        "No valid credentials: a missing, malformed, stale, replayed or wrongly signed request",
        "invalid_signature",
        "the signature does not match",
    ),
    403: (
        "The caller's role lacks the route's permission",
        "forbidden",
        "the analyst role may not campaigns write (needs campaign_manager)",
    ),
    404: ("No such resource in the caller's organization", "not_found", "no such resource"),
    409: (
        "The resource's current state forbids the change",
        "conflict",
        "the resource's state forbids this change",
    ),
    413: (
        "A body, message, variables or batch over its limit",
        "payload_too_large",
        "the body has 2000000 bytes; the limit is 1048576",
    ),
    415: (
        "A body in a format the route does not read",
        "unsupported_media_type",
        "send application/json or application/x-protobuf, not text/plain",
    ),
    422: (
        "A body or parameter the API cannot accept",
        "invalid_request",
        "body.to: value is not a valid email address",
    ),
    423: (
        "The account is locked after repeated failed logins; see Retry-After",
        "account_locked",
        "this account is locked after repeated failed logins; retry in 300 s",
    ),
    429: (
        "Over a rate limit of the key, user or organization; see Retry-After",
        "rate_limited",
        "too many requests for this key; retry in 12 s",
    ),
    503: (
        "A backing service (PostgreSQL, Redis, the model registry) cannot answer; see Retry-After",
        "database_unavailable",
        "the database cannot answer right now",
    ),
    504: (
        "The request took longer than the API's time limit",
        "request_timeout",
        "the request took longer than 10 s",
    ),
}
FIELD_EXAMPLE = {
    "loc": ["body", "to"],
    "msg": "value is not a valid email address",
    "type": "value_error",
}


def error_example(status: int, code: str, detail: str) -> dict[str, Any]:
    """The body of an error answer with this status (422s carry their ``errors``)."""
    if status != 422:
        return {"code": code, "detail": detail}
    fields = [FIELD_EXAMPLE] if code == "invalid_request" else []
    return {"code": code, "detail": detail, "errors": fields}


def errors(*statuses: int, examples: Mapping[int, tuple[str, str]] | None = None) -> ResponsesDoc:
    """``responses=`` documenting these error statuses (and those of ``examples``, whose
    ``(code, detail)`` replace the generic example)."""
    chosen = dict(examples or {})
    documented: ResponsesDoc = {}
    for status in sorted(set(statuses) | set(chosen)):
        description, code, detail = MEANINGS[status]
        code, detail = chosen.get(status, (code, detail))
        model = InvalidRequest if status == 422 else ApiError  # in components: finish_document
        media = {
            "schema": {"$ref": COMPONENTS + model.__name__},
            "example": error_example(status, code, detail),
        }
        entry: dict[str, Any] = {"description": description, "content": {"application/json": media}}
        if status in (423, 429, 503):
            entry["headers"] = copy.deepcopy(RETRY_AFTER)
            entry["headers"]["Retry-After"]["required"] = status in (423, 429)
        documented[status] = entry
    return documented


def install_openapi(app: FastAPI) -> None:
    """Have ``app`` serve the finished document (see :func:`finish_document`)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finish_document(document: dict[str, Any]) -> dict[str, Any]:
    """Replace FastAPI's 422 schema by :class:`InvalidRequest` and give every request and
    success body an example; ``document`` is changed in place and returned."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (ApiError, FieldError, InvalidRequest):
        schema = model.model_json_schema(ref_template=COMPONENTS + "{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for operation in _operations(document):
        for status, response in operation.get("responses", {}).items():
            media = response.get("content", {}).get("application/json")
            if media is None:
                continue
            if media.get("schema", {}).get("$ref") == COMPONENTS + "HTTPValidationError":
                media["schema"] = {"$ref": COMPONENTS + "InvalidRequest"}
                media["example"] = error_example(422, *MEANINGS[422][1:])
                response["description"] = MEANINGS[422][0]
            elif status.startswith("2"):
                _give_example(media, schemas)
        body = operation.get("requestBody", {}).get("content", {})
        for kind, media in body.items():
            if kind.endswith(("/json", "+json", "/x-www-form-urlencoded")):
                _give_example(media, schemas)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    methods = ("get", "put", "post", "delete", "patch", "head", "options")
    return [
        operation
        for item in document.get("paths", {}).values()
        for method, operation in item.items()
        if method in methods
    ]


def _give_example(media: dict[str, Any], schemas: dict[str, Any]) -> None:
    if "example" in media or "examples" in media or "schema" not in media:
        return
    media["example"] = example_of(media["schema"], schemas)


def example_of(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> Any:
    """An instance of ``schema`` built from its own and its fields' examples, and otherwise
    from each field's type and format (components resolved from ``schemas``)."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(COMPONENTS):
        return example_of(schemas[ref.removeprefix(COMPONENTS)], schemas, depth)
    for key in ("examples", "example", "const", "enum", "default"):
        if key in schema and schema[key] is not None:
            value = schema[key]
            found = copy.deepcopy(value[0] if key in ("examples", "enum") and value else value)
            if isinstance(found, dict):  # an example may leave out nulls: add what it lacks
                for name in schema.get("required", ()):
                    if name not in found and name in schema.get("properties", {}):
                        found[name] = example_of(schema["properties"][name], schemas, depth + 1)
            return found
    if depth > 8:
        return None
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_of(options[0], schemas, depth + 1)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            found = example_of(part, schemas, depth + 1)
            if isinstance(found, dict):
                merged.update(found)
        return merged
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: example_of(field, schemas, depth + 1)
            for name, field in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), schemas, depth + 1)]
    return _scalar(schema)


FORMATS = {
    "uuid": "7d0f6a52-8f1e-4a55-9a43-0c2b8f6d1e11",
    "date-time": "2026-11-28T17:00:00Z",
    "date": "2026-11-28",
    "email": "ada@example.org",
    "uri": "https://shop.example/autumn",
}


def _scalar(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "boolean":
        return False
    if kind == "integer":
        return int(schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0.0))
        return min(float(schema.get("maximum", 1.0)), max(float(low), 0.5))
    if kind == "string":
        return FORMATS.get(schema.get("format", ""), "text")
    if kind == "null":
        return None
    return None
