"""Break-glass grants: an owner raises a user's role for a few minutes, with a reason,
lists the organization's grants and revokes one early (see :mod:`serving.auth.break_glass`
for the alert, the expiry and the audit of every request made under a grant).

A user owner must have signed in with a second factor (as for every owner route); a
request made under a grant cannot grant or revoke.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from ...auth import Permission, Principal, Role
from ...auth.break_glass import Grant, GrantRefused, GrantTargetMissing, grant, grants, revoke
from ...errors import NotFound, PermissionDenied, ValidationFailed
from ..deps import CellsDep, SettingsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors

router = APIRouter(
    route_class=ProtobufRoute,
    prefix="/v1",
    tags=["break-glass"],
    responses=errors(*AUTHENTICATED),
)
Granter = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]
UNDER_GRANT = "a request made under a break-glass grant cannot grant or revoke one"


class BreakGlassCreate(BaseModel):
    user_id: uuid.UUID
    role: Role = Field(examples=["owner"])
    reason: str = Field(
        min_length=1, max_length=2000, examples=["INC-4711: the only owner is unreachable"]
    )
    minutes: int = Field(ge=1, le=7 * 24 * 60, examples=[30])


class BreakGlassPublic(BaseModel):
    grant_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    reason: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None

    @classmethod
    def of(cls, made: Grant) -> BreakGlassPublic:
        fields = {name: getattr(made, name) for name in cls.model_fields}
        return cls(**fields)


@router.post(
    "/break-glass",
    response_model=BreakGlassPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Raise a user's role for a few minutes, with a reason (alerted and audited)",
    responses=errors(
        examples={
            403: ("second_factor_required", "the owner role needs a second factor"),
            404: ("user_not_found", "no active user 2c9d... in your organization"),
            422: ("reason_required", "a break-glass grant needs a reason"),
        }
    ),
)
def create_grant(
    body: BreakGlassCreate, principal: Granter, cells: CellsDep, settings: SettingsDep
) -> BreakGlassPublic:
    if principal.grant_id is not None:
        raise PermissionDenied(UNDER_GRANT)
    if not principal.role.includes(body.role):
        raise PermissionDenied(f"a {principal.role.value} cannot grant {body.role.value}")
    try:
        with cells.connection("control") as conn:
            made = grant(
                conn,
                org_id=principal.org_id,
                user_id=body.user_id,
                role=body.role,
                reason=body.reason,
                minutes=body.minutes,
                granted_by=principal.subject,
                max_minutes=settings.break_glass_max_minutes,
                webhook_attempts=settings.webhook_max_attempts,
            )
    except GrantRefused as exc:
        raise ValidationFailed(exc.code, str(exc)) from None
    except GrantTargetMissing:
        raise NotFound(
            "user_not_found", f"no active user {body.user_id} in your organization"
        ) from None
    return BreakGlassPublic.of(made)


@router.get(
    "/break-glass",
    response_model=list[BreakGlassPublic],
    summary="The organization's break-glass grants, newest first",
)
def list_grants(principal: Granter, cells: CellsDep) -> list[BreakGlassPublic]:
    with cells.connection("control") as conn:
        return [BreakGlassPublic.of(g) for g in grants(conn, principal.org_id)]


@router.delete(
    "/break-glass/{grant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a live grant now",
    responses=errors(examples={404: ("grant_not_found", "no live grant 5e2f... here")}),
)
def revoke_grant(grant_id: uuid.UUID, principal: Granter, cells: CellsDep) -> None:
    if principal.grant_id is not None:
        raise PermissionDenied(UNDER_GRANT)
    try:
        with cells.connection("control") as conn:
            revoke(conn, principal.org_id, grant_id, principal.subject)
    except GrantTargetMissing:
        raise NotFound(
            "grant_not_found", f"no live break-glass grant {grant_id} in your organization"
        ) from None
