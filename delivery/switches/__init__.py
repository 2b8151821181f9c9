"""Manual override switches of delivery: pause sending (everything, a region, a route, an
organization or one sender), force a route, drain a route.

- :mod:`.service`: set and clear switches (checked, stored in the control database,
  audited) and announce each change to the workers;
- :mod:`.board`: which switches apply to a message (pure);
- :mod:`.watch`: a worker's fresh copy of the switches in force;
- ``warehouse.switches``: the table and the read queries dashboards use.
"""

from .board import SwitchBoard
from .errors import InvalidSwitch, SwitchError, SwitchNotFound
from .service import (
    SwitchRequest,
    Topology,
    announce,
    clear,
    set_switch,
    topology_of,
    version_key,
)
from .watch import SwitchWatcher

__all__ = [
    "InvalidSwitch",
    "SwitchBoard",
    "SwitchError",
    "SwitchNotFound",
    "SwitchRequest",
    "SwitchWatcher",
    "Topology",
    "announce",
    "clear",
    "set_switch",
    "topology_of",
    "version_key",
]
