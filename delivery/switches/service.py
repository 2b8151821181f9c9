"""Setting and clearing switches: checked, stored and audited in one control-database
transaction, then announced to the workers.

The announcement bumps a Redis counter (:func:`version_key`) that every worker checks a
couple of times a second; a worker that cannot reach Redis reloads from the database on a
slower poll instead, so a lost announcement delays a switch, it never loses it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import redis

from compliance.audit import record
from postwise.settings import Settings
from warehouse.switches import KINDS, Switch, clear_switch, insert_switch

from .errors import InvalidSwitch, SwitchNotFound

log = logging.getLogger(__name__)
MAX_REASON = 2000


def version_key(prefix: str) -> str:
    """The Redis counter bumped on every change of the switches (``DATABASE_PREFIX``)."""
    return f"{prefix}:switches:version"


@dataclass(frozen=True)
class Topology:
    """What a switch is checked against: the regions and each route's served regions."""

    regions: tuple[str, ...]
    routes: Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class SwitchRequest:
    """A switch to set; None scope fields mean "every"."""

    kind: str
    reason: str
    org_id: uuid.UUID | None = None
    region: str | None = None
    route: str | None = None
    sending_domain: str | None = None


def check(request: SwitchRequest, topology: Topology) -> None:
    """Refuse a switch that names unknown things, lacks a reason, or forces a route that
    may not carry the data of the region it is scoped to."""
    if request.kind not in KINDS:
        raise InvalidSwitch("unknown_kind", f"a switch is one of {', '.join(KINDS)}")
    if not request.reason.strip():
        raise InvalidSwitch("reason_required", "a switch needs a reason")
    if len(request.reason) > MAX_REASON:
        raise InvalidSwitch("reason_too_long", f"a reason has at most {MAX_REASON} characters")
    if request.region is not None and request.region not in topology.regions:
        raise InvalidSwitch(
            "unknown_region",
            f"unknown region {request.region!r}; configured: {', '.join(topology.regions)}",
        )
    if request.route is not None and request.route not in topology.routes:
        raise InvalidSwitch(
            "unknown_route",
            f"unknown route {request.route!r}; configured: {', '.join(sorted(topology.routes))}",
        )
    if request.kind in ("force_route", "drain") and request.route is None:
        raise InvalidSwitch("route_required", f"a {request.kind} switch names a route")
    if request.sending_domain is not None:
        if request.org_id is None:
            raise InvalidSwitch("org_required", "a sender is an organization and a domain")
        if not request.sending_domain.strip() or "/" in request.sending_domain:
            raise InvalidSwitch("invalid_sender", "a sending domain is a domain name")
    if request.kind == "force_route" and request.region is not None:
        assert request.route is not None
        if request.region not in topology.routes[request.route]:
            raise InvalidSwitch(
                "outside_residency",
                f"route {request.route!r} may not carry data of region {request.region!r}",
            )


def set_switch(
    conn: psycopg.Connection, request: SwitchRequest, *, actor: str, topology: Topology
) -> Switch:
    """Check, store and audit a new switch in one transaction; returns it."""
    check(request, topology)
    switch = Switch(
        switch_id=uuid.uuid4(),
        kind=request.kind,
        org_id=request.org_id,
        region=request.region,
        route=request.route,
        sending_domain=request.sending_domain.strip().lower() if request.sending_domain else None,
        reason=request.reason.strip(),
        created_by=actor,
        created_at=datetime.now(UTC),
    )
    with conn.transaction():
        stored = insert_switch(conn, switch)
        record(
            conn, actor=actor, action="switch.set", subject=f"switch:{stored.switch_id}",
            org_id=stored.org_id, details=_details(stored),
        )  # fmt: skip
    via = f" via {stored.route}" if stored.kind != "pause" else ""
    log.warning("switch %s set by %s: %s %s%s (%s)", stored.switch_id, actor, stored.kind,
                stored.scope, via, stored.reason)  # fmt: skip
    return stored


def clear(
    conn: psycopg.Connection,
    switch_id: uuid.UUID,
    *,
    actor: str,
    org_id: uuid.UUID | None = None,
) -> Switch:
    """Clear an active switch (only one of ``org_id``, when given) and audit it."""
    with conn.transaction():
        cleared = clear_switch(conn, switch_id, actor, org_id=org_id)
        if cleared is None:
            raise SwitchNotFound(switch_id)
        record(
            conn, actor=actor, action="switch.cleared", subject=f"switch:{switch_id}",
            org_id=cleared.org_id, details=_details(cleared),
        )  # fmt: skip
    log.warning("switch %s cleared by %s: %s %s", switch_id, actor, cleared.kind, cleared.scope)
    return cleared


def announce(client: redis.Redis | None, prefix: str) -> bool:
    """Tell the workers the switches changed; False when Redis cannot be reached (they
    pick the change up on their database poll)."""
    if client is None:
        return False
    try:
        client.incr(version_key(prefix))
    except redis.RedisError as exc:
        log.warning("switch change not announced (%s); workers see it on their next poll", exc)
        return False
    return True


def _details(switch: Switch) -> dict[str, Any]:
    return {
        "kind": switch.kind,
        "scope": switch.scope,
        "region": switch.region,
        "route": switch.route,
        "sending_domain": switch.sending_domain,
        "reason": switch.reason,
    }


def topology_of(settings: Settings) -> Topology:
    """The regions and routes ``settings`` configure."""
    return Topology(
        tuple(settings.regions),
        {name: frozenset(route.regions) for name, route in settings.delivery_routes.items()},
    )
