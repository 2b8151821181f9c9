"""Users: login for JWT access and refresh tokens, refresh (rotating), logout (both tokens
on the Redis denylist), and the organization's users, managed by its owners.

A logged-in user calls the API with ``Authorization: Bearer <access token>`` and is held to
the same roles and permissions as an API key. A user with a second factor gets, instead of
tokens, a 401 ``mfa_required`` carrying an ``mfa_token`` to finish the login with (see
:mod:`.factors`).

Logins are guarded by account protection (:mod:`serving.auth.protection`): a locked
account answers 423 and a throttled client 429 (both with Retry-After, the same for an
address without an account), and a right password may still be refused (403
``login_blocked``) or sent to the second factor by the login-risk score. Owners unlock a
user's account; passwords found in the breached-password list are refused (422
``breached_password``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, EmailStr, Field

from ...auth import Permission, Principal, Role
from ...auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    BreachedPassword,
    WeakPassword,
)
from ...auth.sessions import SecondFactorNeeded
from ...auth.tokens import TokenClaims, TokenPair
from ...auth.users import UserExists, UserRow, create_user, disable_user, list_users
from ...errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied, ValidationFailed
from ..deps import CellsDep, ResourcesDep, require
from ..permissions import declare_sign_in
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, PUBLIC, errors
from .passwords import refuse_breached

router = APIRouter(route_class=ProtobufRoute, prefix="/v1", tags=["users"])
UserManager = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]


FORBIDDEN = {403: ("forbidden", "the analyst role may not users manage (needs owner)")}


class LoginRequest(BaseModel):
    email: EmailStr = Field(examples=["ada@acme.example"])
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH, examples=["correct horse"])
    org: str | None = Field(
        None,
        max_length=100,
        description="the organization's slug, when the address has accounts in several",
        examples=["acme"],
    )


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(None, min_length=1, max_length=4096)


class TokenPublic(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds the access token is valid", examples=[900])
    refresh_expires_in: int = Field(examples=[604800])

    @classmethod
    def of(cls, pair: TokenPair) -> TokenPublic:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.access_expires_in,
            refresh_expires_in=pair.refresh_expires_in,
        )


class UserCreate(BaseModel):
    email: EmailStr = Field(examples=["grace@acme.example"])
    password: str = Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        examples=["a long passphrase"],
    )
    role: Role = Field(examples=["analyst"])
    display_name: str = Field("", max_length=200, examples=["Grace"])


class UnlockPublic(BaseModel):
    was_locked: bool = Field(description="whether the account was locked", examples=[True])


class UserPublic(BaseModel):
    user_id: uuid.UUID
    email: str
    display_name: str
    role: Role
    created_at: datetime

    @classmethod
    def of(cls, row: UserRow) -> UserPublic:
        return cls(
            user_id=row.user_id,
            email=row.email,
            display_name=row.display_name,
            role=row.role,
            created_at=row.created_at,
        )


def bearer_claims(request: Request, resources: ResourcesDep) -> TokenClaims:
    """The live access token of ``Authorization: Bearer``."""
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() != "bearer ":
        raise AuthenticationFailed("missing_credentials", "send Authorization: Bearer <token>")
    return resources.ops.sessions.access_claims(authorization[7:].strip())


declare_sign_in(bearer_claims)


@router.post(
    "/auth/login",
    response_model=TokenPublic,
    summary="Log in with email and password for access and refresh tokens",
    responses=errors(
        *PUBLIC,
        examples={
            401: (
                "mfa_required",
                "prove your second factor: POST the mfa_token to "
                "/v1/auth/mfa/totp or /v1/auth/mfa/webauthn (the answer adds mfa_token, "
                "methods and expires_in)",
            ),
            403: (
                "login_blocked",
                "this login looks too risky to allow (new_device, impossible_travel); try "
                "again later from a device and place you usually log in from, or ask an owner",
            ),
            423: (
                "account_locked",
                "this account is locked after repeated failed logins; retry in 300 s or ask "
                "an owner of your organization to unlock it",
            ),
            429: ("rate_limited", "too many requests for this login; retry in 40 s"),
        },
    ),
)
async def login(
    body: LoginRequest, request: Request, resources: ResourcesDep
) -> TokenPublic | JSONResponse:
    ip = request.client.host if request.client else None
    await run_in_threadpool(resources.ops.admit_login, ip, body.email)
    protection = resources.ops.protection
    client = protection.client(request.headers, ip)
    standing = await run_in_threadpool(protection.admit, body.email, client)

    def screen(user_id: uuid.UUID, org_id: uuid.UUID, methods: list[str]) -> None:
        protection.screen(body.email, client, standing, user_id, org_id, methods)

    try:
        pair = await run_in_threadpool(
            resources.ops.sessions.login, body.email, body.password, body.org, screen=screen
        )
    except SecondFactorNeeded as needed:
        return JSONResponse(
            {
                "code": needed.code,
                "detail": needed.detail,
                "mfa_token": needed.mfa_token,
                "methods": needed.methods,
                "expires_in": needed.expires_in,
            },
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    except AuthenticationFailed as failed:
        if failed.code == "invalid_credentials":
            await run_in_threadpool(protection.failed, body.email, client)
        raise
    return TokenPublic.of(pair)


@router.post(
    "/auth/refresh",
    response_model=TokenPublic,
    summary="Trade a refresh token (used up) for a new pair",
    responses=errors(*PUBLIC, examples={401: ("revoked_token", "the token was revoked")}),
)
async def refresh(body: RefreshRequest, resources: ResourcesDep) -> TokenPublic:
    return TokenPublic.of(
        await run_in_threadpool(resources.ops.sessions.refresh, body.refresh_token)
    )


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke the access token and (if sent) the refresh token",
    responses=errors(*PUBLIC, examples={401: ("invalid_token", "the token is not valid")}),
)
async def logout(
    body: LogoutRequest,
    claims: Annotated[TokenClaims, Depends(bearer_claims)],
    resources: ResourcesDep,
) -> None:
    await run_in_threadpool(resources.ops.sessions.logout, claims, body.refresh_token)


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a user to your organization",
    responses=errors(
        *AUTHENTICATED,
        examples={
            **FORBIDDEN,
            409: ("user_exists", "grace@acme.example already has an account"),
            422: (
                "breached_password",
                "this password appears in lists of breached passwords (seen 2 times there); "
                "choose another",
            ),
        },
    ),
)
def add_user(body: UserCreate, principal: UserManager, cells: CellsDep) -> UserPublic:
    if not principal.role.includes(body.role):
        raise PermissionDenied(f"a {principal.role.value} cannot create {body.role.value} users")
    try:
        with cells.connection("control") as conn:
            row = create_user(
                conn, principal.org_id, body.email, body.password, body.role, body.display_name
            )
    except UserExists as exc:
        raise Conflict("user_exists", str(exc)) from None
    except BreachedPassword as exc:
        raise refuse_breached(cells, principal, exc, "user_created") from None
    except WeakPassword as exc:
        raise ValidationFailed("weak_password", str(exc)) from None
    return UserPublic.of(row)


@router.get(
    "/users",
    response_model=list[UserPublic],
    summary="Your organization's users",
    responses=errors(*AUTHENTICATED, examples=FORBIDDEN),
)
def get_users(principal: UserManager, cells: CellsDep) -> list[UserPublic]:
    with cells.connection("control") as conn:
        return [UserPublic.of(row) for row in list_users(conn, principal.org_id)]


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a user (their tokens stop working within seconds)",
    responses=errors(
        *AUTHENTICATED,
        examples={
            **FORBIDDEN,
            404: ("user_not_found", "no user 2c9d... in your organization"),
            409: ("cannot_remove_self", "you cannot remove yourself"),
        },
    ),
)
def remove_user(user_id: uuid.UUID, principal: UserManager, cells: CellsDep) -> None:
    if principal.subject == f"user:{user_id}":
        raise Conflict("cannot_remove_self", "you cannot remove yourself")
    with cells.connection("control") as conn:
        if not disable_user(conn, principal.org_id, user_id):
            raise NotFound("user_not_found", f"no user {user_id} in your organization")


@router.post(
    "/users/{user_id}/unlock",
    response_model=UnlockPublic,
    summary="Lift a user's login lock (set by repeated failed logins)",
    responses=errors(
        *AUTHENTICATED,
        examples={**FORBIDDEN, 404: ("user_not_found", "no user 2c9d... in your organization")},
    ),
)
def unlock_user(
    user_id: uuid.UUID, principal: UserManager, resources: ResourcesDep
) -> UnlockPublic:
    return UnlockPublic(was_locked=resources.ops.protection.unlock(principal, user_id))
