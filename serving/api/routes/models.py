"""Model endpoints: the best send time of contacts, a personalized variant, and the
organization's senders as the anomaly model sees them.

Each answer says where it came from (``source``) and whether it is degraded (the model
registry could not be reached, so an older model or a heuristic answered); see
:mod:`serving.modelserving.send_time` for the send-time order scores > model > heuristic.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...auth import Permission, Principal
from ...errors import NotFound
from ...modelserving.send_time import SendTime
from ..deps import ResourcesDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors

router = APIRouter(
    route_class=ProtobufRoute, prefix="/v1", tags=["models"], responses=errors(*AUTHENTICATED)
)
ModelReader = Annotated[Principal, Depends(require(Permission.MODELS_READ))]
MAX_BATCH = 1000


class SendTimePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "contact_id": "7d0f6a52-8f1e-4a55-9a43-0c2b8f6d1e11",
                    "best_hour_utc": 17,
                    "best_local_hour": 19,
                    "open_probability": 0.31,
                    "next_send_at": "2026-11-28T17:00:00Z",
                    "source": "scores",
                    "model_version": "4",
                    "fallback": False,
                }
            ]
        }
    )

    contact_id: uuid.UUID
    best_hour_utc: int = Field(ge=0, le=23, description="the best whole UTC hour to send")
    best_local_hour: int = Field(ge=0, le=23, description="the same hour in the contact's zone")
    open_probability: float | None = Field(
        description="expected probability of an open within 24 h; null for the default hour"
    )
    next_send_at: datetime = Field(description="the next occurrence of best_hour_utc")
    source: Literal["scores", "model", "heuristic"]
    model_version: str | None
    fallback: bool = Field(description="true when the hour comes from a cohort, not the contact")

    @classmethod
    def of(cls, answer: SendTime) -> SendTimePublic:
        return cls(**answer.__dict__)


class SendTimeAnswer(SendTimePublic):
    degraded: bool = Field(description="the model registry could not be reached")
    note: str | None = Field(description="why the answer is not from the live champion")


class SendTimeBatch(BaseModel):
    contact_ids: list[uuid.UUID] = Field(
        min_length=1, max_length=MAX_BATCH, examples=[["7d0f6a52-8f1e-4a55-9a43-0c2b8f6d1e11"]]
    )


class SendTimeBatchPublic(BaseModel):
    results: list[SendTimePublic]
    not_found: list[uuid.UUID] = Field(description="ids no contact of yours has")
    degraded: bool
    note: str | None


class PersonalizeRequest(BaseModel):
    contact_id: uuid.UUID = Field(examples=["7d0f6a52-8f1e-4a55-9a43-0c2b8f6d1e11"])
    variants: list[Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^,]+$")]] = Field(
        min_length=1, max_length=50, examples=[["A", "B", "C"]]
    )

    @field_validator("variants")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("variants must be unique")
        return value


class PersonalizePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "contact_id": "7d0f6a52-8f1e-4a55-9a43-0c2b8f6d1e11",
                    "variant": "B",
                    "probability": 0.62,
                    "source": "model",
                    "model_version": "3",
                    "degraded": False,
                    "note": None,
                }
            ]
        }
    )

    contact_id: uuid.UUID
    variant: str
    probability: float = Field(gt=0, le=1, description="the propensity to log with the exposure")
    source: Literal["model", "uniform"]
    model_version: str | None
    degraded: bool
    note: str | None


class AnomalyScorePublic(BaseModel):
    region: str
    sending_domain: str
    bucket_start: datetime
    anomaly_score: float
    is_alert: bool
    threshold: float
    model_version: str


class PausePublic(BaseModel):
    region: str
    pause_id: int
    sending_domain: str
    reason: str
    source: str
    paused_at: datetime


class AnomaliesPublic(BaseModel):
    scores: list[AnomalyScorePublic]
    active_pauses: list[PausePublic]
    unavailable_regions: list[str] = Field(description="cells that could not be read now")


NOT_FOUND = errors(examples={404: ("contact_not_found", "no contact 7d0f... in your organization")})


@router.get(
    "/send-time/{contact_id}",
    response_model=SendTimeAnswer,
    summary="The best hour to send to one contact",
    responses=NOT_FOUND,
)
async def send_time(
    contact_id: uuid.UUID, principal: ModelReader, resources: ResourcesDep
) -> SendTimeAnswer:
    models = resources.ops.models
    report = await models.scored_send_times(principal.org_id, principal.home_region, [contact_id])
    if report is None:  # the model or the heuristic answers: blocking work
        report = await run_in_threadpool(
            models.send_times, principal.org_id, principal.home_region, [contact_id]
        )
    if not report.answers:
        raise NotFound("contact_not_found", f"no contact {contact_id} in your organization")
    return SendTimeAnswer(**report.answers[0].__dict__, degraded=report.degraded, note=report.note)


@router.post(
    "/send-time:batch",
    response_model=SendTimeBatchPublic,
    summary=f"The best hour to send to up to {MAX_BATCH} contacts",
)
async def send_time_batch(
    body: SendTimeBatch, principal: ModelReader, resources: ResourcesDep
) -> SendTimeBatchPublic:
    report = await run_in_threadpool(
        resources.ops.models.send_times, principal.org_id, principal.home_region, body.contact_ids
    )
    return SendTimeBatchPublic(
        results=[SendTimePublic.of(a) for a in report.answers],
        not_found=report.not_found,
        degraded=report.degraded,
        note=report.note,
    )


@router.post(
    "/personalize",
    response_model=PersonalizePublic,
    summary="Choose a variant for a contact",
    responses=NOT_FOUND,
)
async def personalize(
    body: PersonalizeRequest, principal: ModelReader, resources: ResourcesDep
) -> PersonalizePublic:
    choice = await run_in_threadpool(
        resources.ops.models.personalize,
        principal.org_id,
        principal.home_region,
        body.contact_id,
        body.variants,
    )
    if choice is None:
        raise NotFound("contact_not_found", f"no contact {body.contact_id} in your organization")
    return PersonalizePublic(contact_id=body.contact_id, **choice.__dict__)


@router.get(
    "/anomalies",
    response_model=AnomaliesPublic,
    summary="Your senders' recent anomaly scores and the pauses in force",
)
async def anomalies(
    principal: ModelReader,
    resources: ResourcesDep,
    hours: Annotated[int, Query(ge=1, le=24 * 90, description="how far back")] = 24,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AnomaliesPublic:
    report = await run_in_threadpool(resources.ops.models.anomalies, principal.org_id, hours, limit)
    return AnomaliesPublic(
        scores=[AnomalyScorePublic(**s.__dict__) for s in report.scores],
        active_pauses=[PausePublic(**p.__dict__) for p in report.pauses],
        unavailable_regions=report.unavailable_regions,
    )
