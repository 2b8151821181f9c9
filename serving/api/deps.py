"""Dependencies of the routes, as ``Annotated`` aliases.

Settings come from the cached :func:`postwise.settings.get_settings`; ``create_app(settings)``
overrides it with the settings it was given, and tests may override it again. The shared
clients live on ``app.state.resources`` (see :mod:`serving.api.resources`).
"""

from __future__ import annotations

from typing import Annotated

import redis
from fastapi import Depends, Request

from postwise.settings import Settings, get_settings
from warehouse.db import Cells

from ..tracking import Client, Tracker
from .resources import Resources

__all__ = [
    "CellsDep",
    "ClientDep",
    "RedisDep",
    "ResourcesDep",
    "SettingsDep",
    "TrackerDep",
    "get_settings",
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
