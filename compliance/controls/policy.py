"""The thresholds the controls are checked against, and what they are checked on."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from warehouse.db import Cells

if TYPE_CHECKING:
    from postwise.settings import Settings


class RouteConfig(Protocol):
    """What the TLS control reads of a route (``postwise.settings.RouteSettings``)."""

    @property
    def host(self) -> str: ...
    @property
    def tls(self) -> str: ...
    @property
    def min_tls(self) -> str: ...


# Roles that administer an organization and so must hold a second factor; the API's rule
# is serving.auth.mfa.policy.is_admin_role, which a test keeps in step with this.
ADMIN_ROLES: tuple[str, ...] = ("owner",)


@dataclass(frozen=True)
class ControlPolicy:
    """Thresholds; the defaults follow the schedules that keep them (hourly checkpoints,
    daily retention) with room for one missed run."""

    api_key_rotation: timedelta = timedelta(days=90)
    checkpoint_max_age: timedelta = timedelta(hours=2)
    retention_max_gap: timedelta = timedelta(hours=48)
    suppression_grace: timedelta = timedelta(seconds=60)  # a send already on the wire
    tls_minimum: str = "1.2"
    admin_roles: tuple[str, ...] = ADMIN_ROLES


@dataclass(frozen=True)
class ControlContext:
    """Everything a check looks at: the databases, the routes, the audit anchor."""

    cells: Cells
    policy: ControlPolicy
    routes: Mapping[str, RouteConfig]
    checkpoint_dir: Path
    public_key: ec.EllipticCurvePublicKey | None
    now: datetime
    blind_index: Callable[[str], bytes]  # an address's HMAC, as contacts are indexed by
    regions: tuple[str, ...] = field(default=())

    @property
    def cell_names(self) -> tuple[str, ...]:
        return self.regions or tuple(self.cells.regions)


def policy_from_settings(settings: Settings) -> ControlPolicy:
    """The policy the settings ask for (``API_KEY_ROTATION_DAYS``, ``TLS_MINIMUM_VERSION``...)."""
    return ControlPolicy(
        api_key_rotation=timedelta(days=settings.api_key_rotation_days),
        checkpoint_max_age=timedelta(hours=settings.audit_checkpoint_max_age_hours),
        tls_minimum=settings.tls_minimum_version,
    )


def is_loopback(host: str) -> bool:
    """Whether mail to ``host`` never leaves the machine (the simulator's routes)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
