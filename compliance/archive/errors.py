"""Errors of the cold-storage archive.

ArchiveError (a ComplianceError)
 ├── ArchiveStoreError          the store cannot be reached, written or read (``url``)
 ├── ArchiveVerificationFailed  an exported partition does not match its source; the
 │                              partition is kept (``partition``, ``check``, ``expected``,
 │                              ``found``)
 ├── MissingDataKey             events of contacts whose data key is gone; not archived
 └── ArchiveQueryError          a query over the archive that cannot run (``reason``)
"""

from __future__ import annotations

from ..errors import ComplianceError


class ArchiveError(ComplianceError):
    """Base of every archive error."""


class ArchiveStoreError(ArchiveError):
    """The archive store could not be reached, written or read."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"archive store {url}: {reason}")
        self.url = url
        self.reason = reason


class ArchiveVerificationFailed(ArchiveError):
    """The object written for a partition does not match the partition; it was not
    dropped. ``check`` is ``rows``, ``sha256`` or ``content``."""

    def __init__(self, partition: str, check: str, expected: object, found: object) -> None:
        super().__init__(
            f"archive of {partition} failed the {check} check (expected {expected}, "
            f"found {found}); the partition is kept"
        )
        self.partition = partition
        self.check = check
        self.expected = expected
        self.found = found


class MissingDataKey(ArchiveError):
    """A partition holds events of contacts without a data key to seal them with."""

    def __init__(self, partition: str, contacts: int) -> None:
        super().__init__(
            f"{partition} holds events of {contacts} contact(s) without a data key; "
            "the partition is kept"
        )
        self.partition = partition
        self.contacts = contacts


class ArchiveQueryError(ArchiveError):
    """A query over the archive that cannot run (bad SQL, no archived day in range)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
