"""Errors of the personalization subsystem.

::

    PersonalizationError          base: anything personalization refuses to do
    ├── SpecError                 a template's dynamic-content spec is malformed
    └── ModelInputError           frames handed to training or choice miss what they need

Each carries the offending piece as data (``slot``/``path`` for specs, ``columns`` for
frames) so callers can report it without parsing the message.
"""

from __future__ import annotations

from collections.abc import Sequence


class PersonalizationError(Exception):
    """Base of every error raised by ``models.personalization``."""


class SpecError(PersonalizationError):
    """A dynamic-content spec that cannot be used: ``slot`` names it, ``path`` the field."""

    def __init__(self, message: str, *, slot: str | None = None, path: str | None = None) -> None:
        where = ".".join(part for part in (slot, path) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.slot = slot
        self.path = path


class ModelInputError(PersonalizationError):
    """A DataFrame without the columns (or rows) an operation needs."""

    def __init__(self, message: str, *, columns: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.columns = tuple(columns)


def require_columns(frame_name: str, columns: Sequence[str], required: Sequence[str]) -> None:
    """Raise ``ModelInputError`` naming every column of ``required`` missing from ``columns``."""
    present = set(columns)
    missing = [c for c in required if c not in present]
    if missing:
        raise ModelInputError(f"{frame_name} lacks columns {missing}", columns=missing)
