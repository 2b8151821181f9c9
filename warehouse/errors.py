"""Warehouse errors.

WarehouseError
 ├── DatabaseUnavailable   a database cannot be reached (carries the redacted URL)
 ├── MigrationError        a migration failed to apply (carries the migration name)
 └── UnknownRegion         a country or region that no cell serves
"""

from __future__ import annotations


class WarehouseError(Exception):
    """Base of every warehouse error."""


class DatabaseUnavailable(WarehouseError):
    """A database server or database cannot be reached."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot connect to PostgreSQL at {url}: {reason}")
        self.url = url
        self.reason = reason


class MigrationError(WarehouseError):
    """A migration failed; nothing of it was applied."""

    def __init__(self, database: str, migration: str, reason: str) -> None:
        super().__init__(f"migration {migration} failed on {database}: {reason}")
        self.database = database
        self.migration = migration


class UnknownRegion(WarehouseError):
    """A region no cell is configured for, or a country that maps to none."""

    def __init__(self, value: str) -> None:
        super().__init__(f"no region cell serves {value!r}")
        self.value = value
