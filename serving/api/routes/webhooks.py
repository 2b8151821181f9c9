"""Webhooks: inbound ESP event webhooks (verified by an HMAC signature with the route's
secret, mapped to ``email_events``) and the organization's outbound endpoints with their
delivery log. Outbound deliveries are posted by :func:`serving.webhooks.delivery.run_deliveries`."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Annotated, Literal

import psycopg
from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from warehouse.db import Cells
from warehouse.events import EventWriter

from ...auth import Permission, Principal
from ...errors import AuthenticationFailed, NotFound, PayloadTooLarge, ValidationFailed
from ...webhooks import inbound, outbox
from ...webhooks.signatures import SignatureError, verify
from ...webhooks.targets import UnsafeWebhookTarget, check_target
from ..deps import CellsDep, SettingsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, PUBLIC, errors

router = APIRouter(
    route_class=ProtobufRoute, prefix="/v1/webhooks", tags=["webhooks"], responses=errors(*PUBLIC)
)
ENDPOINT_NOT_FOUND = {
    404: ("webhook_endpoint_not_found", "no webhook endpoint 0c4e... in your organization")
}
Manager = Annotated[Principal, Depends(require(Permission.WEBHOOKS_MANAGE))]
MAX_INBOUND_BYTES = 1_000_000
EventType = Literal[
    "message.delivered",
    "message.bounced",
    "message.complained",
    "campaign.sent",
    "security.break_glass",
]
_WRITER = EventWriter()


class EspEventIn(BaseModel):
    message_id: uuid.UUID
    type: Literal["delivered", "bounced", "complained"]
    occurred_at: AwareDatetime
    event_id: str | None = Field(None, max_length=200, description="the ESP's id of the event")
    smtp_code: int | None = Field(None, ge=200, le=599, examples=[550])
    enhanced_code: str | None = Field(None, max_length=16, examples=["5.1.1"])
    diagnostic: str | None = Field(None, max_length=2000, examples=["550 5.1.1 user unknown"])


class EspWebhook(BaseModel):
    events: list[EspEventIn] = Field(min_length=1, max_length=1000)


class EspWebhookAccepted(BaseModel):
    accepted: int = Field(description="events matched to a message", examples=[2])
    new: int = Field(description="events not seen before", examples=[2])
    unknown_messages: list[uuid.UUID] = Field(description="message ids no cell knows")


class EndpointCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"url": "https://hooks.acme.example/postwise",
                          "event_types": ["message.bounced", "message.complained"]}]
        }
    )  # fmt: skip

    url: AnyHttpUrl = Field(examples=["https://hooks.acme.example/postwise"])
    event_types: list[EventType] = Field(min_length=1, max_length=10)
    secret: str | None = Field(
        None, min_length=24, max_length=200, description="default: one is generated"
    )


class EndpointPublic(BaseModel):
    endpoint_id: uuid.UUID
    url: str
    event_types: list[str]
    created_at: datetime
    disabled_at: datetime | None


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="signs every delivery; shown only now")


class AttemptPublic(BaseModel):
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryPublic(BaseModel):
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[AttemptPublic]


class PingQueued(BaseModel):
    queued: int = Field(examples=[1])


@router.post(
    "/esp/{route}",
    response_model=EspWebhookAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Inbound ESP events (delivered, bounced, complained), signed by the ESP",
    description="Signed with the route's secret (``ESP_WEBHOOK_SECRETS``): "
    "``Postwise-Timestamp: <unix seconds>`` and ``Postwise-Signature: v1=<hex "
    'HMAC-SHA256(secret, "<timestamp>." + body)>``.',
    responses=errors(
        413,
        examples={
            401: ("invalid_webhook_signature", "the signature does not match"),
            404: ("unknown_route", "no ESP webhook is configured for route 'x'"),
            422: ("invalid_webhook_body", "events.0.type: Input should be 'delivered', ..."),
        },
    ),
)
async def esp_webhook(
    route: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    settings: SettingsDep,
    cells: CellsDep,
) -> EspWebhookAccepted:
    secret = settings.esp_webhook_secrets.get(route)
    if not secret:
        raise NotFound("unknown_route", f"no ESP webhook is configured for route {route!r}")
    body = await request.body()
    if len(body) > MAX_INBOUND_BYTES:
        raise PayloadTooLarge(f"an ESP webhook body has at most {MAX_INBOUND_BYTES} bytes")
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        verify(secret, headers, body, time.time(), settings.esp_webhook_tolerance_seconds)
    except SignatureError as exc:
        raise AuthenticationFailed(exc.code, exc.detail) from None
    try:
        payload = EspWebhook.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed("invalid_webhook_body", f"{where}: {first['msg']}") from None
    events = [
        inbound.EspEvent(e.message_id, e.type, e.occurred_at, e.event_id, e.smtp_code,
                         e.enhanced_code, e.diagnostic)
        for e in payload.events
    ]  # fmt: skip
    try:
        outcome = await run_in_threadpool(
            _record, cells, route, events, settings.webhook_max_attempts
        )
    except psycopg.DataError as exc:
        raise ValidationFailed(
            "invalid_webhook_body", f"text the database refuses: {exc}"
        ) from None
    return EspWebhookAccepted(
        accepted=len(outcome.recorded), new=outcome.new, unknown_messages=outcome.unknown
    )


def _record(
    cells: Cells, route: str, events: list[inbound.EspEvent], max_attempts: int
) -> inbound.Outcome:
    outcome = inbound.record(cells, route, events, _WRITER)
    if outcome.new:
        with cells.connection("control") as conn:
            for item in outcome.recorded:
                event, when = item.event, item.event.occurred_at.isoformat()
                data = {
                    "message_id": str(event.message_id),
                    "occurred_at": when,
                    "campaign_id": str(item.campaign_id) if item.campaign_id else None,
                    "region": item.region,
                    "smtp_code": event.smtp_code,
                }
                outbox.emit(
                    conn,
                    item.org_id,
                    f"message.{event.type}",
                    data,
                    event_id=uuid.uuid5(event.message_id, f"webhook:{event.type}:{when}"),
                    max_attempts=max_attempts,
                )
    return outcome


@router.post(
    "/endpoints",
    response_model=EndpointCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Register an endpoint for the organization's events",
    responses=errors(
        *AUTHENTICATED,
        examples={
            422: (
                "unsafe_webhook_target",
                "hooks.acme.example resolves to 10.0.0.7, which is not a public address",
            )
        },
    ),  # fmt: skip
)
def create_endpoint(
    body: EndpointCreate, principal: Manager, cells: CellsDep, settings: SettingsDep
) -> EndpointCreated:
    try:
        check_target(str(body.url), allow_private=settings.webhook_allow_private_targets)
    except UnsafeWebhookTarget as exc:
        raise ValidationFailed("unsafe_webhook_target", str(exc)) from None
    secret = body.secret or outbox.new_secret()
    with cells.connection("control") as conn:
        endpoint = outbox.register(
            conn, principal.org_id, str(body.url), list(body.event_types), secret
        )
    return EndpointCreated(**endpoint.__dict__, secret=secret)


@router.get(
    "/endpoints", response_model=list[EndpointPublic], summary="The organization's endpoints",
    responses=errors(*AUTHENTICATED),
)  # fmt: skip
def list_endpoints(principal: Manager, cells: CellsDep) -> list[EndpointPublic]:
    with cells.connection("control") as conn:
        return [EndpointPublic(**e.__dict__) for e in outbox.endpoints(conn, principal.org_id)]


@router.delete(
    "/endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Disable an endpoint (its delivery log is kept)",
    responses=errors(*AUTHENTICATED, examples=ENDPOINT_NOT_FOUND),
)
def delete_endpoint(endpoint_id: uuid.UUID, principal: Manager, cells: CellsDep) -> None:
    try:
        with cells.connection("control") as conn:
            outbox.disable(conn, principal.org_id, endpoint_id)
    except outbox.EndpointNotFound as exc:
        raise NotFound(exc.code, str(exc)) from None


@router.post(
    "/endpoints/{endpoint_id}/ping",
    response_model=PingQueued,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a ping event to the endpoint",
    responses=errors(*AUTHENTICATED, examples=ENDPOINT_NOT_FOUND),
)
def ping_endpoint(
    endpoint_id: uuid.UUID, principal: Manager, cells: CellsDep, settings: SettingsDep
) -> PingQueued:
    with cells.connection("control") as conn:
        queued = outbox.emit(
            conn, principal.org_id, "ping", {"endpoint_id": str(endpoint_id)},
            endpoint_id=endpoint_id, max_attempts=settings.webhook_max_attempts,
        )  # fmt: skip
    if not queued:
        raise NotFound(
            "webhook_endpoint_not_found",
            f"no live webhook endpoint {endpoint_id} in your organization",
        )
    return PingQueued(queued=queued)


@router.get(
    "/deliveries",
    response_model=list[DeliveryPublic],
    summary="The delivery log: the latest deliveries with every attempt",
    responses=errors(*AUTHENTICATED),
)
def list_deliveries(
    principal: Manager,
    cells: CellsDep,
    endpoint_id: uuid.UUID | None = None,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryPublic]:
    with cells.connection("control") as conn:
        found = outbox.delivery_log(
            conn, principal.org_id, endpoint_id=endpoint_id, status=status, limit=limit
        )
    return [DeliveryPublic(**d) for d in found]
