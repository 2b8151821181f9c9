"""Erasures: the right to be forgotten, one request per data subject (by address).

``POST /v1/erasures`` erases the address from every region cell of the caller's
organization and from Redis (:func:`compliance.erasure.erase_subject`) and answers the
erasure certificate: 201 for a new erasure, 200 with the first certificate when the subject
was already erased. The address itself is never echoed back.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from compliance.erasure import ErasureResult, RedisTarget, erase_subject
from compliance.errors import ErasureIncomplete, SubjectNotFound

from ...auth import Permission, Principal
from ...errors import NotFound, ServiceUnavailable
from ...ingest.validation import normalized_address
from ...ingest.wiring import CipherDep
from ..deps import CellsDep, RedisDep, SettingsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors

router = APIRouter(
    route_class=ProtobufRoute, prefix="/v1", tags=["erasures"], responses=errors(*AUTHENTICATED)
)
Eraser = Annotated[Principal, Depends(require(Permission.CONTACTS_WRITE))]


class ErasureCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "ada@example.org"}]}
    )

    email: str = Field(min_length=3, max_length=320, description="the data subject's address")


class CellErasurePublic(BaseModel):
    region: str
    contacts: int = Field(description="contacts of the subject erased in this cell")
    removed: dict[str, int] = Field(description="rows deleted, per table")
    pseudonymized: dict[str, int] = Field(description="rows kept under a random pseudonym")
    training_rows: dict[str, int] = Field(description="rows removed from the training marts")
    redis_keys: int | None = Field(description="Redis keys deleted (null: no Redis)")
    audit_id: int = Field(description="the certificate's entry in this cell's audit log")


class ErasurePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "erasure_id": "0b8d3c1e-8f4a-4c55-9d7e-2f1a6b3c4d5e",
                    "subject": "subject:" + "9f86d081884c7d65" * 4,
                    "erased_at": "2026-05-01T09:30:00+00:00",
                    "requested_by": "user:4f6d0a52-5d7e-4a4e-8f1d-1c2b3a4d5e6f",
                    "already_erased": False,
                    "control_audit_id": 42,
                    "cells": [
                        {
                            "region": "eu",
                            "contacts": 1,
                            "removed": {"email_events": 120, "consents": 1},
                            "pseudonymized": {"messages": 12, "contacts": 1},
                            "training_rows": {},
                            "redis_keys": 3,
                            "audit_id": 17,
                        }
                    ],
                }
            ]
        }
    )

    erasure_id: str
    subject: str = Field(description="the subject hash the audit log names (never the address)")
    erased_at: str
    requested_by: str
    already_erased: bool = Field(description="true: nothing was left; this is the first erasure")
    control_audit_id: int | None = Field(
        description="the certificate's entry in the control audit log (null when already erased)"
    )
    cells: list[CellErasurePublic]


@router.post(
    "/erasures",
    summary="Erase a data subject everywhere (201), or show their first erasure (200)",
    description=(
        "Crypto-shreds the subject's contact (its data key is destroyed), deletes their "
        "events, consents, scores and features, pseudonymizes the messages and consent "
        "evidence kept for totals, suppresses the address (reason `erasure`), deletes their "
        "Redis keys and records an `erasure.certificate` in the audit logs. Idempotent: a "
        "repeated request changes nothing and answers 200 with the first certificate."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=ErasurePublic,
    responses={
        200: {"model": ErasurePublic, "description": "Already erased: the first erasure"},
        **errors(
            404,
            422,
            503,
            examples={
                404: ("subject_not_found", "no contact with this address in the organization"),
                422: ("invalid_address", "'x' is not a valid address: ..."),
                503: ("unavailable", "Redis keys could not be cleared: ..."),
            },
        ),
    },
)
async def create_erasure(
    body: ErasureCreate,
    principal: Eraser,
    cells: CellsDep,
    cipher: CipherDep,
    client: RedisDep,
    settings: SettingsDep,
    response: Response,
) -> dict[str, Any]:
    address = normalized_address(body.email)
    target = RedisTarget(client, settings.database_prefix) if client is not None else None

    def run() -> ErasureResult:
        return erase_subject(
            cells,
            cipher,
            principal.org_id,
            address,
            requested_by=f"api:{principal.subject}",
            redis_target=target,
        )

    try:
        result = await run_in_threadpool(run)
    except SubjectNotFound as exc:
        raise NotFound(exc.code, str(exc)) from None
    except ErasureIncomplete as exc:
        raise ServiceUnavailable(str(exc)) from None
    if result.already_erased:
        response.status_code = status.HTTP_200_OK
    return result.as_json()
