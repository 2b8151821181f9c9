"""Which switches apply to a message: a pure, immutable view of the switches in force.

A switch applies to a message when every scope column it sets matches: its organization,
its region (the worker's cell, where the recipient's data lives) and its sending domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from warehouse.switches import Switch


def _specificity(switch: Switch) -> int:
    """How narrow a switch is: a sender's beats an organization's beats a platform one."""
    return (switch.sending_domain is not None) * 2 + (switch.org_id is not None)


@dataclass(frozen=True)
class SwitchBoard:
    """The switches in force, and the questions delivery asks of them."""

    switches: tuple[Switch, ...] = ()

    @classmethod
    def of(cls, switches: Iterable[Switch]) -> SwitchBoard:
        return cls(tuple(s for s in switches if s.active))

    def _applying(
        self, kind: str, org_id: uuid.UUID, sending_domain: str, region: str
    ) -> list[Switch]:
        domain = sending_domain.lower()  # switches store domains in lower case
        return [
            s
            for s in self.switches
            if s.kind == kind
            and (s.org_id is None or s.org_id == org_id)
            and (s.region is None or s.region == region)
            and (s.sending_domain is None or s.sending_domain == domain)
        ]

    def pause_for(
        self, org_id: uuid.UUID, sending_domain: str, region: str, route: str | None = None
    ) -> Switch | None:
        """The pause holding this sender's mail: with ``route`` None, a pause of all its
        routes; with a route, a pause of that route only."""
        pauses = self._applying("pause", org_id, sending_domain, region)
        return next((s for s in pauses if s.route == route), None)

    def holds_region(self, region: str) -> Switch | None:
        """A pause of every organization's mail in ``region`` (or everywhere): a worker of
        that region need not claim at all."""
        return next(
            (
                s
                for s in self.switches
                if s.kind == "pause"
                and s.org_id is None
                and s.route is None
                and s.region in (None, region)
            ),
            None,
        )

    def drained(self, org_id: uuid.UUID, sending_domain: str, region: str) -> frozenset[str]:
        """Routes that take no new messages of this sender."""
        return frozenset(
            s.route for s in self._applying("drain", org_id, sending_domain, region) if s.route
        )

    def forced_route(self, org_id: uuid.UUID, sending_domain: str, region: str) -> Switch | None:
        """The force_route switch for this sender: the narrowest, then the newest."""
        forced = self._applying("force_route", org_id, sending_domain, region)
        if not forced:
            return None
        return max(forced, key=lambda s: (_specificity(s), s.created_at))

    def __len__(self) -> int:
        return len(self.switches)
