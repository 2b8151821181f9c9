"""Campaigns: CRUD (changes only while a draft) and the send, which queues one message
per eligible contact of the segment in the contact's region cell. See
:mod:`serving.campaigns.segments` for the segment filter language and
:mod:`serving.campaigns.send` for the rules a send applies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ...auth import Permission, Principal
from ...campaigns import store
from ...campaigns import templates as template_store
from ...campaigns.segments import SegmentError, compile_segment
from ...campaigns.send import Content, send_campaign
from ...errors import Conflict, NotFound, ValidationFailed
from ...webhooks import outbox
from ..deps import CellsDep, ResourcesDep, SettingsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors
from .domains import DOMAIN, DomainCheckerDep

router = APIRouter(
    route_class=ProtobufRoute,
    prefix="/v1/campaigns",
    tags=["campaigns"],
    responses=errors(*AUTHENTICATED),
)
Reader = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_WRITE))]
Sender = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_SEND))]
NOT_FOUND = {404: ("campaign_not_found", "no campaign 6b1e... in your organization")}
SEGMENT_EXAMPLE = {
    "all": [
        {"field": "country", "op": "in", "value": ["DE", "AT"]},
        {"field": "attributes.plan", "op": "eq", "value": "pro"},
        {"engagement": "opened", "within_days": 30},
    ]
}
CampaignType = Literal["marketing", "triggered", "transactional"]
Strategy = Literal["immediate", "scheduled", "optimal"]
FallbackChannel = Literal["sms"]
FALLBACK_DESCRIPTION = (
    "the last resort when email delivery is exhausted (retries and fallback routes failed, "
    "never after a bounce, suppression or refusal): sms sends the recipient's phone a "
    "secure link to the message as a PDF; null: none"
)


class CampaignFields(BaseModel):
    template_version: int | None = Field(
        None, ge=1, le=1_000_000, description="default: the template's latest version at send"
    )
    topic: str | None = Field(None, max_length=100, examples=["autumn-sale"])
    blocked_regions: list[str] = Field(
        default_factory=list, max_length=10, description="regions whose contacts get nothing",
        examples=[["apac"]],
    )  # fmt: skip
    send_strategy: Strategy = Field(
        "immediate", description="optimal: each recipient's best time within 24 h"
    )
    scheduled_at: AwareDatetime | None = Field(None, description="required when scheduled")
    holdout_share: float = Field(
        0.0,
        ge=0,
        le=0.5,
        description="share of eligible contacts held out to measure uplift: they get nothing, "
        "except in an optimal campaign, where they are sent at once, unoptimized, as the "
        "control arm of send-time optimization",
    )
    segment: dict[str, Any] = Field(
        default_factory=dict, description="see the segment filter language; {}: everyone",
        examples=[SEGMENT_EXAMPLE],
    )  # fmt: skip
    fallback_channel: FallbackChannel | None = Field(
        None, description=FALLBACK_DESCRIPTION, examples=["sms"]
    )


class CampaignCreate(CampaignFields):
    name: str = Field(min_length=1, max_length=200, examples=["Autumn sale"])
    campaign_type: CampaignType = Field(examples=["marketing"])
    template_id: uuid.UUID
    sending_domain: str = Field(max_length=253, pattern=DOMAIN, examples=["news.acme.example"])


class CampaignUpdate(BaseModel):
    """The fields to change; those left out keep their value."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Autumn sale, last call", "send_strategy": "optimal",
                          "holdout_share": 0.1, "sending_domain": "news.acme.example"}]
        }
    )  # fmt: skip

    name: str | None = Field(None, min_length=1, max_length=200)
    campaign_type: CampaignType | None = None
    template_id: uuid.UUID | None = None
    template_version: int | None = Field(None, ge=1, le=1_000_000)
    topic: str | None = Field(None, max_length=100)
    blocked_regions: list[str] | None = Field(None, max_length=10)
    send_strategy: Strategy | None = None
    scheduled_at: AwareDatetime | None = None
    holdout_share: float | None = Field(None, ge=0, le=0.5)
    segment: dict[str, Any] | None = None
    sending_domain: str | None = Field(None, max_length=253, pattern=DOMAIN)
    fallback_channel: FallbackChannel | None = Field(None, description=FALLBACK_DESCRIPTION)


class CampaignPublic(BaseModel):
    campaign_id: uuid.UUID
    name: str
    campaign_type: str
    template_id: uuid.UUID | None
    template_version: int | None
    topic: str | None
    blocked_regions: list[str]
    send_strategy: str
    scheduled_at: datetime | None
    holdout_share: float
    segment: dict[str, Any]
    sending_domain: str | None
    fallback_channel: str | None = Field(None, examples=["sms"])
    status: str = Field(examples=["draft"])
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class SendTimeCounts(BaseModel):
    optimal: int = Field(description="scheduled at the recipient's best time")
    fallback: int = Field(description="no usable best time: sent at once (or a cohort time)")


class CampaignSendReport(BaseModel):
    campaign_id: uuid.UUID
    template_version: int
    queued: int = Field(examples=[940])
    already_queued: int = Field(description="queued by an earlier send", examples=[0])
    held_out: int = Field(examples=[50])
    skipped: dict[str, int] = Field(
        examples=[{"no_consent": 7, "suppressed": 2, "blocked_region": 1}],
        description="by reason: blocked_region, contact_inactive, contact_erased, "
        "suppressed, no_consent",
    )
    send_time: SendTimeCounts
    queued_by_region: dict[str, int] = Field(examples=[{"eu": 600, "na": 340}])
    variants_chosen: dict[str, int] = Field(
        default_factory=dict,
        examples=[{"model": 930, "uniform": 10}],
        description="messages whose dynamic-content variant the personalization model "
        "chose, or a uniform choice (no champion); empty when the template has no variants",
    )


def _public(campaign: store.Campaign) -> CampaignPublic:
    return CampaignPublic(**{k: getattr(campaign, k) for k in CampaignPublic.model_fields})


def _checked(values: dict[str, Any], regions: tuple[str, ...], current: Any = None) -> None:
    """Body rules beyond single fields: regions, segment, schedule."""
    unknown = sorted(set(values.get("blocked_regions") or []) - set(regions))
    if unknown:
        raise ValidationFailed("unknown_region", f"unknown regions {unknown}; known: {regions}")
    if "segment" in values:
        try:
            compile_segment(values["segment"] or {})
        except SegmentError as exc:
            raise ValidationFailed("invalid_segment", str(exc)) from None
    strategy = values.get("send_strategy", getattr(current, "send_strategy", "immediate"))
    scheduled_at = values.get("scheduled_at", getattr(current, "scheduled_at", None))
    if strategy == "scheduled" and scheduled_at is None:
        raise ValidationFailed("scheduled_at_required", "a scheduled campaign needs scheduled_at")


def _translate(exc: template_store.TemplateStoreError | psycopg.DataError) -> Exception:
    if isinstance(exc, psycopg.DataError):
        return ValidationFailed("invalid_text", f"the body holds text the database refuses: {exc}")
    if isinstance(exc, store.CampaignNotFound):
        return NotFound(exc.code, str(exc))
    if isinstance(exc, store.CampaignTemplateInvalid):
        return ValidationFailed(exc.code, str(exc))
    return Conflict(exc.code, str(exc))


@router.post(
    "",
    response_model=CampaignPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a campaign (a draft)",
    responses=errors(
        examples={422: ("invalid_segment", "segment.all[0].op: one of [...], not 'like'")}
    ),
)
def create_campaign(body: CampaignCreate, principal: Writer, cells: CellsDep) -> CampaignPublic:
    values = body.model_dump()
    _checked(values, cells.regions)
    values["sending_domain"] = values["sending_domain"].lower()
    try:
        with cells.connection("control") as conn:
            return _public(store.create(conn, principal.org_id, values))
    except (template_store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None


@router.get(
    "", response_model=list[CampaignPublic], summary="The organization's campaigns"
)  # fmt: skip
def list_campaigns(
    principal: Reader,
    cells: CellsDep,
    status: Literal["draft", "scheduled", "sending", "sent", "cancelled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[CampaignPublic]:
    with cells.connection("control") as conn:
        found = store.listing(conn, principal.org_id, status=status, limit=limit, offset=offset)
    return [_public(c) for c in found]


@router.get(
    "/{campaign_id}", response_model=CampaignPublic, summary="A campaign",
    responses=errors(examples=NOT_FOUND),
)  # fmt: skip
def get_campaign(campaign_id: uuid.UUID, principal: Reader, cells: CellsDep) -> CampaignPublic:
    try:
        with cells.connection("control") as conn:
            return _public(store.get(conn, principal.org_id, campaign_id))
    except (template_store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None


@router.patch(
    "/{campaign_id}",
    response_model=CampaignPublic,
    summary="Change a draft campaign",
    responses=errors(
        examples={**NOT_FOUND, 409: ("campaign_not_draft", "campaign 6b1e... is sending")}
    ),
)
def update_campaign(
    campaign_id: uuid.UUID, body: CampaignUpdate, principal: Writer, cells: CellsDep
) -> CampaignPublic:
    values = body.model_dump(exclude_unset=True)
    required = {"name", "campaign_type", "template_id", "sending_domain", "send_strategy",
                "blocked_regions", "segment", "holdout_share"}  # fmt: skip
    nulls = sorted(k for k in required if k in values and values[k] is None)
    if nulls:
        raise ValidationFailed("null_field", f"{', '.join(nulls)} cannot be null")
    try:
        with cells.connection("control") as conn:
            current = store.get(conn, principal.org_id, campaign_id)
            _checked(values, cells.regions, current)
            if "sending_domain" in values:
                values["sending_domain"] = values["sending_domain"].lower()
            return _public(store.update(conn, principal.org_id, campaign_id, values))
    except (template_store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None


@router.delete(
    "/{campaign_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a draft campaign",
    responses=errors(
        examples={**NOT_FOUND, 409: ("campaign_not_draft", "campaign 6b1e... is sending")}
    ),
)
def delete_campaign(campaign_id: uuid.UUID, principal: Writer, cells: CellsDep) -> None:
    try:
        with cells.connection("control") as conn:
            store.delete(conn, principal.org_id, campaign_id)
    except (template_store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None


@router.post(
    "/{campaign_id}/send",
    response_model=CampaignSendReport,
    summary="Send a campaign: queue its segment (sending again adds nothing)",
    responses=errors(
        examples={
            **NOT_FOUND,
            409: ("campaign_cancelled", "campaign 6b1e... was cancelled"),
            422: ("sending_domain_failed_checks", "news.acme.example fails its prechecks: ..."),
        }
    ),
)
def send(
    campaign_id: uuid.UUID,
    principal: Sender,
    cells: CellsDep,
    checker: DomainCheckerDep,
    settings: SettingsDep,
    resources: ResourcesDep,
) -> CampaignSendReport:
    try:
        with cells.connection("control") as conn:
            campaign = store.get(conn, principal.org_id, campaign_id)
            if campaign.template_id is None:
                raise ValidationFailed("campaign_template_invalid", "the campaign has no template")
            pinned = template_store.version(
                conn, principal.org_id, campaign.template_id, campaign.template_version
            )
    except (template_store.TemplateStoreError, psycopg.DataError) as exc:
        raise _translate(exc) from None
    if campaign.status == "cancelled":
        raise Conflict("campaign_cancelled", f"campaign {campaign_id} was cancelled")
    if campaign.sending_domain is None:
        raise ValidationFailed("sending_domain_required", "the campaign has no sending_domain")
    checks = checker.check(campaign.sending_domain)
    if checks.blocking:
        raise ValidationFailed(
            "sending_domain_failed_checks",
            f"{campaign.sending_domain} fails its prechecks: {'; '.join(checks.problems)}",
        )
    version = pinned.version
    keys = tuple(str(v["key"]) for v in pinned.variants if v.get("key") is not None)
    content = Content(version, keys, resources.ops.models)
    report = send_campaign(cells, campaign, content, datetime.now(UTC))
    with cells.connection("control") as conn:
        store.mark_sent(conn, campaign_id, version)
        if report.queued:
            outbox.emit(
                conn, principal.org_id, "campaign.sent",
                {"campaign_id": str(campaign_id), **report.as_dict()},
                max_attempts=settings.webhook_max_attempts,
            )  # fmt: skip
    return CampaignSendReport(campaign_id=campaign_id, template_version=version, **report.as_dict())
