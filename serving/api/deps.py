"""Dependencies of the routes, as ``Annotated`` aliases.

Settings come from the cached :func:`postwise.settings.get_settings`; ``create_app(settings)``
overrides it with the settings it was given, and tests may override it again. The shared
clients live on ``app.state.resources`` (see :mod:`serving.api.resources`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import redis
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from postwise.settings import Settings, get_settings
from warehouse.db import Cells

from ..auth import MINIMUM_ROLE, Permission, Principal, allows
from ..auth.signing import signed_target
from ..errors import PermissionDenied
from ..tracking import Client, Tracker
from .permissions import declare, declare_sign_in
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


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_cells(resources: ResourcesDep) -> Cells:
    return resources.cells


def get_redis(resources: ResourcesDep) -> redis.Redis | None:
    return resources.redis


def get_tracker(resources: ResourcesDep) -> Tracker:
    return resources.tracker


def get_client(request: Request) -> Client:
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
        principal = await run_in_threadpool(
            resources.ops.sessions.authenticate, authorization[7:].strip()
        )
    else:
        body = await request.body()
        path = signed_target(request.scope)
        headers = {k.lower(): v for k, v in request.headers.items()}
        principal = await run_in_threadpool(
            resources.authenticator.authenticate, headers, request.method, path, body
        )
    await run_in_threadpool(resources.ops.admit, principal)
    return principal


declare_sign_in(get_principal)
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency granting the caller only when its role holds ``permission``; use as
    ``Annotated[Principal, Depends(require(Permission.X))]``."""

    def check(principal: PrincipalDep) -> Principal:
        if not allows(principal.role, permission):
            raise PermissionDenied(
                f"the {principal.role.value} role may not {permission.value.replace(':', ' ')}"
                f" (needs {MINIMUM_ROLE[permission].value})"
            )
        return principal

    check.__name__ = f"require_{permission.name.lower()}"
    declare(check, permission)
    return check
