"""Dependencies of the routes, as ``Annotated`` aliases.

Settings are the ones ``create_app(settings)`` was given, kept on ``app.state.settings``
(an app built without any falls back to the cached :func:`postwise.settings.get_settings`);
not a dependency override, since FastAPI rebuilds every dependency of every request while
any override is set. The shared clients live on ``app.state.resources`` (see
:mod:`serving.api.resources`).

Dependencies that only read what is already in memory are ``async def``: FastAPI runs a
plain ``def`` dependency in a worker thread, a hop that costs more than the work. A signed
request is checked in the event loop: its key comes from a cache (a miss is looked up in a
worker thread), its nonce and rate limits cost one round trip to Redis over the asyncio
client. A bearer token's check and rate limit run in one worker-thread call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import redis
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from postwise.settings import Settings, get_settings
from warehouse.db import Cells

from ..auth import MINIMUM_ROLE, Permission, Principal, allows
from ..auth.mfa import lacks_second_factor
from ..auth.signing import signed_target
from ..errors import PermissionDenied, SecondFactorRequired
from ..tracking import Client, Tracker
from .permissions import declare, declare_sign_in
from .protobuf import sent
from .resources import Resources

__all__ = [
    "CellsDep",
    "ClientDep",
    "PrincipalDep",
    "RedisDep",
    "ResourcesDep",
    "SettingsDep",
    "TrackerDep",
    "get_settings",
    "require",
]


async def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    return settings if settings is not None else get_settings()


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_cells(resources: ResourcesDep) -> Cells:
    return resources.cells


async def get_redis(resources: ResourcesDep) -> redis.Redis | None:
    return resources.redis


async def get_tracker(resources: ResourcesDep) -> Tracker:
    return resources.tracker


async def get_client(request: Request) -> Client:
    """The requesting client: user agent, address (behind trusted proxies, the forwarded
    one; see ``API_FORWARDED_ALLOW_IPS``), method and headers."""
    return Client(
        user_agent=request.headers.get("user-agent", ""),
        ip=request.client.host if request.client else None,
        method=request.method,
        headers={k.lower(): v for k, v in request.headers.items()},
    )


CellsDep = Annotated[Cells, Depends(get_cells)]
RedisDep = Annotated[redis.Redis | None, Depends(get_redis)]
TrackerDep = Annotated[Tracker, Depends(get_tracker)]
ClientDep = Annotated[Client, Depends(get_client)]


async def get_principal(request: Request, resources: ResourcesDep) -> Principal:
    """The caller: a logged-in user (``Authorization: Bearer <access token>``, see
    :mod:`serving.auth.tokens`) or a signed request (see :mod:`serving.auth.signing`); 401
    otherwise. Every authenticated request then passes the rate limits (429)."""
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        user = await run_in_threadpool(
            _admitted, resources, resources.ops.sessions.authenticate, authorization[7:].strip()
        )
        request.state.principal = user  # for serving.api.audit_trail
        if user.grant_id is not None:
            request.state.break_glass = user
        return user
    signed = sent(request)  # a protobuf body is signed as sent, not as decoded
    body = await signed.body()
    path = signed_target(request.scope)
    headers = {k.lower(): v for k, v in signed.headers.items()}
    if resources.aredis is not None:
        key = await resources.authenticator.authenticate_async(
            headers, request.method, path, body, resources.ops.claim_and_admit
        )
    else:
        key = await run_in_threadpool(
            _admitted, resources, resources.authenticator.authenticate, headers,
            request.method, path, body,
        )  # fmt: skip
    request.state.principal = key
    return key


def _admitted(
    resources: Resources, authenticate: Callable[..., Principal], *args: object
) -> Principal:
    """The caller, once it has passed the rate limits (in the worker thread)."""
    principal = authenticate(*args)
    resources.ops.admit(principal)
    return principal


declare_sign_in(get_principal)
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency granting the caller only when its role holds ``permission`` (and, for a
    user of an administrator role, when their token proved a second factor: 403
    ``second_factor_required``; see :mod:`serving.auth.mfa.policy`); use as
    ``Annotated[Principal, Depends(require(Permission.X))]``."""

    async def check(principal: PrincipalDep) -> Principal:
        if not allows(principal.role, permission):
            raise PermissionDenied(
                f"the {principal.role.value} role may not {permission.value.replace(':', ' ')}"
                f" (needs {MINIMUM_ROLE[permission].value})"
            )
        if lacks_second_factor(principal):
            raise SecondFactorRequired(
                f"the {principal.role.value} role needs a second factor: enrol one at "
                "/v1/factors and log in with it"
            )
        return principal

    check.__name__ = f"require_{permission.name.lower()}"
    declare(check, permission)
    return check
