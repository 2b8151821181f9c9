"""JSON or protocol-buffer bodies mapped to the same pydantic models.

A request whose ``Content-Type`` is ``application/x-protobuf`` is decoded with the message
of the same name as the route's model in ``postwise.proto`` and then validated by that
model exactly as its JSON form would be; a response is encoded as protobuf when ``Accept``
asks for ``application/x-protobuf``. Errors stay JSON (``{"code", "detail"}``).

One difference comes from protobuf itself: numbers inside ``google.protobuf.Struct`` fields
(variables, attributes) are doubles, so ``1`` arrives as ``1.0``.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from fastapi import Response
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from pydantic import BaseModel, ValidationError

from ..errors import UnsupportedMediaType, ValidationFailed
from . import postwise_pb2

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
M = TypeVar("M", bound=BaseModel)


def proto_class(model: type[BaseModel]) -> type[Message]:
    """The protobuf message mirroring ``model`` (same name in ``postwise.proto``)."""
    cls: type[Message] = getattr(postwise_pb2, model.__name__)
    return cls


def media_type(header: str | None) -> str:
    return (header or JSON).split(";", 1)[0].strip().lower()


def decode(body: bytes, content_type: str | None, model: type[M]) -> M:
    """The body as ``model``, from JSON or protobuf; 415 for another type, 422 if invalid."""
    kind = media_type(content_type)
    try:
        if kind == PROTOBUF:
            message = proto_class(model)()
            message.ParseFromString(body)
            data = json_format.MessageToDict(message, preserving_proto_field_name=True)
            return model.model_validate(data)
        if kind == JSON or kind.endswith("+json"):
            return model.model_validate_json(body)
    except DecodeError as exc:
        raise ValidationFailed(
            "invalid_body", f"the protobuf body does not decode: {exc}"
        ) from None
    except ValidationError as exc:
        raise ValidationFailed("invalid_body", describe(exc)) from None
    raise UnsupportedMediaType(f"send {JSON} or {PROTOBUF}, not {kind}")


def describe(exc: ValidationError) -> str:
    """A sentence naming each invalid field."""
    parts = []
    for error in exc.errors()[:10]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    more = f" (and {exc.error_count() - 10} more)" if exc.error_count() > 10 else ""
    return "; ".join(parts) + more


def wants_protobuf(accept: str | None) -> bool:
    return PROTOBUF in (accept or "").lower()


def encode(model: BaseModel, accept: str | None, status_code: int = 200) -> Response:
    """``model`` as protobuf when ``accept`` asks for it, else JSON."""
    data = model.model_dump(mode="json")
    if not wants_protobuf(accept):
        return JSONResponse(data, status_code=status_code)
    message = json_format.ParseDict(without_nulls(data), proto_class(type(model))())
    return Response(message.SerializeToString(), status_code=status_code, media_type=PROTOBUF)


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` inlined (for ``openapi_extra``)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]))
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def request_body(*models: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body of any of ``models``, as JSON or protobuf."""
    schemas = [inline_schema(m) for m in models]
    json_schema = schemas[0] if len(schemas) == 1 else {"oneOf": schemas}
    names = " or ".join(f"postwise.v1.{m.__name__}" for m in models)
    return {
        "requestBody": {
            "required": True,
            "content": {
                JSON: {"schema": json_schema},
                PROTOBUF: {"schema": {"type": "string", "format": "binary", "description": names}},
            },
        }
    }


def protobuf_response(model: type[BaseModel]) -> dict[str, Any]:
    """The ``content`` entry documenting ``model``'s protobuf form in ``responses=``."""
    return {
        PROTOBUF: {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": f"postwise.v1.{model.__name__}",
            }
        }
    }
