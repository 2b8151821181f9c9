"""The caller's own account: who it is, and (owners) the organization's API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from ...auth import Permission, Principal, Role, issue_key, revoke_key
from ...auth.signing import InvalidPublicKey
from ...errors import NotFound, PermissionDenied, ValidationFailed
from ..deps import CellsDep, PrincipalDep, require
from ..protobuf import ProtobufRoute
from ..responses import SIGNED_IN, errors

router = APIRouter(
    route_class=ProtobufRoute, prefix="/v1", tags=["account"], responses=errors(*SIGNED_IN)
)
OWNERS_ONLY = {
    403: ("forbidden", "the campaign_manager role may not api keys manage (needs owner)")
}
KeyManager = Annotated[Principal, Depends(require(Permission.API_KEYS_MANAGE))]


class MePublic(BaseModel):
    org_id: uuid.UUID
    role: Role
    subject: str
    home_region: str


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["checkout service"])
    role: Role = Field(examples=["campaign_manager"])
    public_key: str = Field(
        description="PEM of the P-521 public key the key's requests will be signed with",
        examples=["-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n"],
    )


class ApiKeyCreated(BaseModel):
    key_id: uuid.UUID
    api_key: str = Field(description="shown once; only its hash is stored")
    role: Role


class ApiKeyPublic(BaseModel):
    key_id: uuid.UUID
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@router.get("/me", response_model=MePublic, summary="Who the caller is")
def me(principal: PrincipalDep) -> MePublic:
    return MePublic(**principal.__dict__)


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key for the caller's organization",
    responses=errors(
        examples={
            **OWNERS_ONLY,
            422: ("invalid_public_key", "the signing key must be an ECDSA key on the P-521 curve"),
        }
    ),
)
def create_api_key(body: ApiKeyCreate, principal: KeyManager, cells: CellsDep) -> ApiKeyCreated:
    if not principal.role.includes(body.role):
        raise PermissionDenied(f"a {principal.role.value} cannot create {body.role.value} keys")
    try:
        with cells.connection("control") as conn:
            issued = issue_key(conn, principal.org_id, body.name, body.role, body.public_key)
    except InvalidPublicKey as exc:
        raise ValidationFailed("invalid_public_key", str(exc)) from None
    return ApiKeyCreated(key_id=issued.key_id, api_key=issued.api_key, role=body.role)


@router.get(
    "/api-keys",
    response_model=list[ApiKeyPublic],
    summary="The organization's keys",
    responses=errors(examples=OWNERS_ONLY),
)
def list_api_keys(principal: KeyManager, cells: CellsDep) -> list[ApiKeyPublic]:
    with cells.connection("control") as conn:
        rows = conn.execute(
            "SELECT key_id, name, prefix, role, created_at, last_used_at, revoked_at "
            "FROM api_keys WHERE org_id = %s ORDER BY created_at",
            (principal.org_id,),
        ).fetchall()
    return [ApiKeyPublic(**dict(zip(ApiKeyPublic.model_fields, row, strict=True))) for row in rows]


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    responses=errors(
        examples={
            **OWNERS_ONLY,
            404: ("api_key_not_found", "no live API key 5e2f... in your organization"),
        }
    ),
)
def delete_api_key(key_id: uuid.UUID, principal: KeyManager, cells: CellsDep) -> None:
    with cells.connection("control") as conn:
        if not revoke_key(conn, principal.org_id, key_id):
            raise NotFound("api_key_not_found", f"no live API key {key_id} in your organization")
