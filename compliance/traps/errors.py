"""Spam-trap errors.

TrapError (a :class:`compliance.errors.ComplianceError`)
 ├── TrapFeedError         a feed file or argument that cannot be loaded (``line`` when known)
 └── QuarantineError       a quarantine review step that cannot be taken (``import_id``)
      ├── QuarantineNotFound    no quarantined import with this id in the organization
      └── QuarantineDecided     the import was released or rejected already (``status``)
"""

from __future__ import annotations

import uuid

from compliance.errors import ComplianceError


class TrapError(ComplianceError):
    """Base of every spam-trap error."""

    code = "trap_error"


class TrapFeedError(TrapError):
    """A trap feed that cannot be loaded as given; ``line`` is the 1-based line, if any."""

    code = "invalid_trap_feed"

    def __init__(self, detail: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {detail}" if line is not None else detail)
        self.line = line


class QuarantineError(TrapError):
    """A review step on a quarantined import that cannot be taken."""

    code = "quarantine_error"

    def __init__(self, detail: str, import_id: uuid.UUID) -> None:
        super().__init__(detail)
        self.import_id = import_id


class QuarantineNotFound(QuarantineError):
    """The organization has no quarantined import with this id."""

    code = "quarantine_not_found"

    def __init__(self, import_id: uuid.UUID) -> None:
        super().__init__(f"no quarantined import {import_id} in the organization", import_id)


class QuarantineDecided(QuarantineError):
    """The import was released or rejected before; a decision is taken once."""

    code = "quarantine_decided"

    def __init__(self, import_id: uuid.UUID, status: str) -> None:
        super().__init__(f"import {import_id} was {status} already", import_id)
        self.status = status
