"""Errors of the manual override switches.

SwitchError
 ├── InvalidSwitch    a switch that cannot be set (carries ``code`` and the reason)
 └── SwitchNotFound   no active switch with that id in the caller's scope (``switch_id``)
"""

from __future__ import annotations

import uuid


class SwitchError(Exception):
    """Base of every switch error."""


class InvalidSwitch(SwitchError):
    """The switch asked for makes no sense or would break a rule (residency)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class SwitchNotFound(SwitchError):
    """No active switch ``switch_id`` in the scope the caller may act on."""

    def __init__(self, switch_id: uuid.UUID) -> None:
        super().__init__(f"no active switch {switch_id}")
        self.switch_id = switch_id
