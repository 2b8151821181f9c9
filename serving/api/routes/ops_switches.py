"""Manual override switches of the caller's organization: pause its sending (all of it, one
region, one route or one sending domain), force its mail through a route, drain a route of
its mail; list the switches and clear one (see :mod:`delivery.switches`).

Owners only, and a user owner must have signed in with a second factor. Every change is
audited in the control database and reaches every delivery worker within about a second.
Platform-wide switches (every organization) are the operator's, set with ``postwise ops``.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import datetime
from typing import Annotated, Literal

import psycopg
from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from delivery.switches import (
    InvalidSwitch,
    SwitchNotFound,
    SwitchRequest,
    announce,
    clear,
    set_switch,
    topology_of,
)
from warehouse.db import Cells
from warehouse.model_outputs import active_pauses
from warehouse.switches import Switch, active_switches, org_switches

from ...auth import Permission, Principal
from ...errors import NotFound, ValidationFailed
from ..deps import CellsDep, RedisDep, SettingsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors

router = APIRouter(
    route_class=ProtobufRoute,
    prefix="/v1",
    tags=["operations"],
    responses=errors(*AUTHENTICATED),
)
Owner = Annotated[Principal, Depends(require(Permission.SENDING_CONTROL))]
log = logging.getLogger(__name__)


class SwitchCreate(BaseModel):
    kind: Literal["pause", "force_route", "drain"] = Field(examples=["pause"])
    region: str | None = Field(None, max_length=32, examples=["eu"])
    route: str | None = Field(None, max_length=100, examples=["frankfurt"])
    sending_domain: str | None = Field(None, max_length=253, examples=["news.acme.example"])
    reason: str = Field(
        min_length=1, max_length=2000, examples=["INC-4711: complaint spike from the spring sale"]
    )


class SwitchPublic(BaseModel):
    switch_id: uuid.UUID
    kind: str
    scope: str
    region: str | None
    route: str | None
    sending_domain: str | None
    reason: str
    created_by: str
    created_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None

    @classmethod
    def of(cls, switch: Switch) -> SwitchPublic:
        fields = {name: getattr(switch, name) for name in cls.model_fields}
        return cls(**fields)


@router.post(
    "/ops/switches",
    response_model=SwitchPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Pause the organization's sending, force a route or drain one (audited)",
    responses=errors(
        examples={
            403: ("second_factor_required", "the owner role needs a second factor"),
            422: ("outside_residency", "route 'frankfurt' may not carry data of region 'na'"),
        }
    ),
)
def create_switch(
    body: SwitchCreate,
    principal: Owner,
    cells: CellsDep,
    settings: SettingsDep,
    client: RedisDep,
) -> SwitchPublic:
    request = SwitchRequest(
        body.kind, body.reason, org_id=principal.org_id, region=body.region,
        route=body.route, sending_domain=body.sending_domain,
    )  # fmt: skip
    try:
        with cells.connection("control") as conn:
            made = set_switch(
                conn, request, actor=principal.subject, topology=topology_of(settings)
            )
    except InvalidSwitch as exc:
        raise ValidationFailed(exc.code, exc.reason) from None
    announce(client, settings.database_prefix)
    return SwitchPublic.of(made)


@router.get(
    "/ops/switches",
    response_model=list[SwitchPublic],
    summary="The organization's switches in force (with include_cleared, all), newest first",
)
def list_switches(
    principal: Owner,
    cells: CellsDep,
    include_cleared: Annotated[bool, Query(description="also the cleared ones")] = False,
) -> list[SwitchPublic]:
    with cells.connection("control") as conn:
        found = org_switches(conn, principal.org_id, include_cleared=include_cleared)
    return [SwitchPublic.of(s) for s in found]


@router.delete(
    "/ops/switches/{switch_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Clear a switch now: paused mail resumes, routing returns to normal",
    responses=errors(examples={404: ("switch_not_found", "no active switch 5e2f... here")}),
)
def clear_switch(
    switch_id: uuid.UUID,
    principal: Owner,
    cells: CellsDep,
    settings: SettingsDep,
    client: RedisDep,
) -> None:
    try:
        with cells.connection("control") as conn:
            clear(conn, switch_id, actor=principal.subject, org_id=principal.org_id)
    except SwitchNotFound:
        raise NotFound(
            "switch_not_found", f"no active switch {switch_id} in your organization"
        ) from None
    announce(client, settings.database_prefix)


def switch_metrics(cells: Cells) -> bytes:
    """Prometheus lines for ``GET /metrics``: switches in force by kind and scope, and the
    senders paused in each region (by the thresholds or a model, ``paused_senders``). No
    organization is named; a database that does not answer leaves its lines out."""
    lines: list[str] = []
    try:
        with cells.connection("control") as conn:
            switches = active_switches(conn)
    except psycopg.Error as exc:
        log.warning("switch metrics left out: %s", exc)
    else:
        counts = Counter(
            (s.kind, "platform" if s.org_id is None else "organization") for s in switches
        )
        lines += [
            "# HELP postwise_switches_active Manual override switches in force.",
            "# TYPE postwise_switches_active gauge",
        ]
        for kind in ("pause", "force_route", "drain"):
            for scope in ("platform", "organization"):
                lines.append(
                    f'postwise_switches_active{{kind="{kind}",scope="{scope}"}} '
                    f"{counts[(kind, scope)]}"
                )
    paused: list[str] = []
    for region in cells.regions:
        try:
            with cells.connection(region) as conn:
                paused.append(f'postwise_paused_senders{{region="{region}"}} '
                              f"{len(active_pauses(conn))}")  # fmt: skip
        except psycopg.Error as exc:
            log.warning("paused senders of %s left out of the metrics: %s", region, exc)
    if paused:
        lines += [
            "# HELP postwise_paused_senders Senders paused by thresholds or models.",
            "# TYPE postwise_paused_senders gauge",
            *paused,
        ]
    return ("\n".join(lines) + "\n").encode() if lines else b""
