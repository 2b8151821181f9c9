"""Messages: send one or a batch (``POST /v1/messages``) and read one back with its events
(``GET /v1/messages/{id}``). Bodies are JSON or protocol buffers (see
:mod:`serving.proto.bodies`); the work is :class:`serving.ingest.messages.Ingestor`'s."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool

from ...auth import Permission, Principal
from ...dns import DomainChecker
from ...errors import IngestRejected, NotFound, PayloadTooLarge
from ...ingest.lookup import find_message
from ...ingest.messages import Ingestor
from ...ingest.schemas import (
    BatchItemPublic,
    BatchPublic,
    MessageAccepted,
    MessageBatchCreate,
    MessageCreate,
    MessagePublic,
)
from ...ingest.validation import Limits
from ...ingest.wiring import IngestorDep, LimitsDep
from ...limits.counters import LiveCounters
from ...proto.bodies import PROTOBUF, decode, encode, media_type, protobuf_response, request_body
from ..deps import CellsDep, ResourcesDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors
from .domains import DomainCheckerDep

router = APIRouter(
    route_class=ProtobufRoute, prefix="/v1", tags=["messages"], responses=errors(*AUTHENTICATED)
)
Sender = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]
Reader = Annotated[Principal, Depends(require(Permission.MESSAGES_READ))]
BATCH_PROTO = "postwise.v1.MessageBatchCreate"


def body_limit(request: Request, limits: LimitsDep) -> None:
    """Refuse an announced oversized body before it is read (the signature check reads it)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limits.request_bytes:
        raise PayloadTooLarge(f"the body has {length} bytes; the limit is {limits.request_bytes}")


BodyLimit = Annotated[None, Depends(body_limit)]


def parse(
    body: bytes, content_type: str | None, limits: Limits
) -> MessageCreate | MessageBatchCreate:
    """A single message, or a batch (JSON with ``messages``; protobuf whose content type
    carries ``proto=postwise.v1.MessageBatchCreate``)."""
    if len(body) > limits.request_bytes:
        raise PayloadTooLarge(
            f"the body has {len(body)} bytes; the limit is {limits.request_bytes}"
        )
    kind = media_type(content_type)
    if kind == PROTOBUF:
        batch = BATCH_PROTO in (content_type or "")
    else:
        batch = body.lstrip()[:1] == b"{" and b'"messages"' in body[:4096]
    if not batch:
        return decode(body, content_type, MessageCreate)
    parsed = decode(body, content_type, MessageBatchCreate)
    if len(parsed.messages) > limits.batch_messages:
        raise PayloadTooLarge(
            f"the batch has {len(parsed.messages)} messages; the limit is {limits.batch_messages}"
        )
    return parsed


@router.post(
    "/messages",
    summary="Send a message or a batch of up to 1,000",
    description=(
        "One message (201 when queued, 200 with the original when its `idempotency_key` or "
        '`Idempotency-Key` header was seen before) or a batch `{"messages": [...]}` (200 '
        "with a result per message: each is accepted or rejected on its own, and a rejected "
        "one writes nothing). Protobuf bodies: `Content-Type: application/x-protobuf` "
        f"(a batch: `application/x-protobuf; proto={BATCH_PROTO}`)."
    ),
    status_code=201,
    response_model=MessageAccepted,
    responses={
        201: {"content": protobuf_response(MessageAccepted)},
        200: {
            "model": BatchPublic | MessageAccepted,
            "description": "a batch's results, or (single message) the original message",
            "content": protobuf_response(BatchPublic),
        },
        **errors(
            413,
            415,
            examples={
                404: ("template_not_found", "no template 3f0c... in your organization"),
                422: ("no_consent", "the contact has not consented to marketing email"),
            },
        ),
    },
    openapi_extra=request_body(MessageCreate, MessageBatchCreate),
)
async def post_messages(
    request: Request,
    _limit: BodyLimit,
    principal: Sender,
    ingestor: IngestorDep,
    limits: LimitsDep,
    checker: DomainCheckerDep,
    resources: ResourcesDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    parsed = parse(await request.body(), request.headers.get("content-type"), limits)
    counters = resources.ops.counters
    if isinstance(parsed, MessageCreate):
        if idempotency_key and parsed.idempotency_key is None:
            parsed = parsed.model_copy(update={"idempotency_key": idempotency_key})
        [outcome] = await run_in_threadpool(
            _ingest, ingestor, checker, counters, principal.org_id, [parsed]
        )
        if isinstance(outcome, IngestRejected):
            raise outcome
        return encode(outcome, accept, 201 if outcome.created else 200)
    outcomes = await run_in_threadpool(
        _ingest, ingestor, checker, counters, principal.org_id, parsed.messages
    )
    results = [_item(i, outcome) for i, outcome in enumerate(outcomes)]
    counts = {k: sum(r.outcome == k for r in results) for k in ("accepted", "existing", "rejected")}
    return encode(BatchPublic(**counts, results=results), accept)


def _ingest(
    ingestor: Ingestor,
    checker: DomainChecker,
    counters: LiveCounters,
    org_id: uuid.UUID,
    messages: list[MessageCreate],
) -> list[MessageAccepted | IngestRejected]:
    """Ingest ``messages`` but those whose sending domain fails its prechecks (each domain
    checked once, from the Redis cache when fresh); count the accepted ones live."""
    refused: dict[str, IngestRejected] = {}
    for domain in sorted({m.sending_domain.lower() for m in messages}):
        checks = checker.check(domain)
        if checks.blocking:  # a resolver error alone does not block
            failed = [name for name in ("spf", "dmarc", "dnsbl") if getattr(checks, name) == "fail"]
            refused[domain] = IngestRejected(
                "sending_domain_failed_checks",
                f"{domain} fails its prechecks ({', '.join(failed)}): {'; '.join(checks.problems)}",
            )
    kept = [m for m in messages if m.sending_domain.lower() not in refused]
    ingested = iter(ingestor.ingest(org_id, kept) if kept else [])
    outcomes = [refused.get(m.sending_domain.lower()) or next(ingested) for m in messages]
    accepted = sum(isinstance(o, MessageAccepted) and o.created for o in outcomes)
    counters.record("sent", org_id, accepted)
    return outcomes


def _item(index: int, outcome: MessageAccepted | IngestRejected) -> BatchItemPublic:
    if isinstance(outcome, IngestRejected):
        return BatchItemPublic(
            index=index, outcome="rejected", code=outcome.code, detail=outcome.detail
        )
    kind = "accepted" if outcome.created else "existing"
    return BatchItemPublic(index=index, outcome=kind, message=outcome)


@router.get(
    "/messages/{message_id}",
    summary="A message's status and events",
    response_model=MessagePublic,
    responses={
        200: {"content": protobuf_response(MessagePublic)},
        **errors(examples={404: ("message_not_found", "no message 1a2b... in your organization")}),
    },
)
def get_message(
    message_id: uuid.UUID,
    principal: Reader,
    cells: CellsDep,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    found = find_message(cells, principal.org_id, message_id)
    if found is None:
        raise NotFound("message_not_found", f"no message {message_id} in your organization")
    return encode(found, accept)
