"""Protocol-buffer bodies for every route that takes a JSON body.

Routers built with ``route_class=ProtobufRoute`` accept ``Content-Type:
application/x-protobuf`` beside JSON on each route whose body model has a message of the same
name and fields in ``postwise.proto``: the body is decoded with that message (a ``proto=``
parameter, e.g. ``application/x-protobuf; proto=postwise.v1.TemplateCreate``, may name it and
must then name that one), turned into its JSON form and handed to FastAPI, so the route's
pydantic model validates it exactly as it validates JSON, with the same errors. A success
answer is protobuf when ``Accept`` asks for ``application/x-protobuf`` and the route's
response model has its message; errors stay JSON. The OpenAPI document lists both content
types. A signed request's signature stays over the bytes sent (:func:`sent`).

(``POST /v1/messages`` reads its body itself, single or batch: see
:mod:`serving.api.routes.messages`.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from pydantic import BaseModel

from ..errors import UnsupportedMediaType, ValidationFailed
from ..proto import postwise_pb2
from ..proto.bodies import JSON, PROTOBUF, media_type, wants_protobuf, without_nulls

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def message_for(model: Any) -> type[Message] | None:
    """The protobuf message mirroring pydantic ``model``: same name, same field names."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    message: type[Message] | None = getattr(postwise_pb2, model.__name__, None)
    if message is None or set(message.DESCRIPTOR.fields_by_name) != set(model.model_fields):
        return None
    return message


def binary(message: type[Message]) -> dict[str, Any]:
    """An OpenAPI media type entry for ``message``'s protobuf form."""
    name = message.DESCRIPTOR.full_name
    return {"schema": {"type": "string", "format": "binary", "description": name}}


class DecodedRequest(Request):
    """A protobuf request as the JSON it stands for; ``original`` is the request as sent."""

    def __init__(self, original: Request, body: bytes) -> None:
        headers = [
            (k, v)
            for k, v in original.scope["headers"]
            if k not in (b"content-type", b"content-length")
        ]
        headers += [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
        super().__init__({**original.scope, "headers": headers}, original.receive)
        self.original = original
        self._json_body = body

    async def body(self) -> bytes:
        return self._json_body


def sent(request: Request) -> Request:
    """The request as the client sent it (what a signature covers)."""
    return request.original if isinstance(request, DecodedRequest) else request


async def decoded(request: Request, message: type[Message]) -> Request:
    """``request`` with its protobuf body as JSON; 415 for another message, 422 if broken."""
    content_type = request.headers.get("content-type", "")
    named = _parameter(content_type, "proto")
    if named and named != message.DESCRIPTOR.full_name:
        raise UnsupportedMediaType(
            f"this route takes {PROTOBUF}; proto={message.DESCRIPTOR.full_name}, not {named}"
        )
    parsed = message()
    try:
        parsed.ParseFromString(await request.body())
    except DecodeError as exc:
        raise ValidationFailed(
            "invalid_body", f"the protobuf body does not decode: {exc}"
        ) from None
    data = json_format.MessageToDict(parsed, preserving_proto_field_name=True)
    return DecodedRequest(request, json.dumps(data).encode())


def encoded(response: Response, message: type[Message]) -> Response:
    """A JSON success ``response`` as ``message`` (other answers are left as they are)."""
    if not 200 <= response.status_code < 300 or media_type(response.media_type) != JSON:
        return response
    data = without_nulls(json.loads(bytes(response.body)))
    answer = Response(
        json_format.ParseDict(data, message()).SerializeToString(),
        status_code=response.status_code,
        media_type=PROTOBUF,
        background=response.background,
    )
    kept = [
        (k, v) for k, v in response.raw_headers if k not in (b"content-type", b"content-length")
    ]
    answer.raw_headers.extend(kept)
    return answer


def _parameter(content_type: str, name: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return ""


class ProtobufRoute(APIRoute):
    """An API route whose JSON body and answer may also be protocol buffers."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        request_message, response_message = self.messages()
        extra: dict[str, Any] = {}
        if request_message is not None:
            extra["requestBody"] = {"content": {PROTOBUF: binary(request_message)}}
            if response_message is not None:
                status = str(self.status_code or 200)
                extra["responses"] = {status: {"content": {PROTOBUF: binary(response_message)}}}
        self.openapi_extra = _merged(extra, self.openapi_extra or {})

    def messages(self) -> tuple[type[Message] | None, type[Message] | None]:
        """The messages of the body and of the answer (None where there is none)."""
        body = self.body_field.field_info.annotation if self.body_field is not None else None
        request_message = message_for(body)
        if request_message is None:
            return None, None
        return request_message, message_for(self.response_model)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        request_message, response_message = self.messages()
        if request_message is None:
            return handler

        async def route_handler(request: Request) -> Response:
            if media_type(request.headers.get("content-type")) == PROTOBUF:
                request = await decoded(request, request_message)
            response = await handler(request)
            if response_message is not None and wants_protobuf(request.headers.get("accept")):
                return encoded(response, response_message)
            return response

        return route_handler


def _merged(extra: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    merged = dict(extra)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged
