"""Ordered, idempotent SQL migrations, recorded in ``schema_migrations`` in each database.

Migrations live in ``warehouse/migrations/<set>/NNNN_name.sql``. The control database gets
the ``common`` and ``control`` sets, each region cell the ``common`` and ``cell`` sets. Each
file runs in its own transaction together with its ``schema_migrations`` row, under an
advisory lock so two processes migrating at once apply each file exactly once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from .db import CONTROL, Cells, connect, database_of, drop_database, ensure_database, redact
from .errors import MigrationError

if TYPE_CHECKING:
    from postwise.settings import Settings

log = logging.getLogger(__name__)

MIGRATION_SETS = {CONTROL: ("common", "control"), "cell": ("common", "cell")}
_LOCK_KEY = 7420117000
MIGRATIONS_ROOT = Path(__file__).resolve().parent / "migrations"

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: str  # "<set>/<file stem>", e.g. "cell/0003_email_events"
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations_for(kind: str) -> list[Migration]:
    """The ordered migrations for ``kind`` ("control" or "cell")."""
    root = MIGRATIONS_ROOT
    found = []
    for folder in MIGRATION_SETS[kind]:
        for path in sorted((root / folder).glob("*.sql")):
            found.append(Migration(f"{folder}/{path.stem}", path.read_text(encoding="utf-8")))
    return found


def apply_migrations(url: str, kind: str) -> list[str]:
    """Apply pending migrations of ``kind`` to the database at ``url``; returns those applied."""
    applied: list[str] = []
    with connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(_CREATE_LEDGER)
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for migration in migrations_for(kind):
                if migration.version in done:
                    continue
                _apply_one(conn, url, migration)
                applied.append(migration.version)
                log.info("applied %s to %s", migration.version, database_of(url))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def _apply_one(conn: psycopg.Connection, url: str, migration: Migration) -> None:
    try:
        with conn.transaction():
            conn.execute(migration.sql.encode())  # bytes: run as a multi-statement script
            conn.execute(
                "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                (migration.version, migration.checksum),
            )
    except psycopg.Error as exc:
        raise MigrationError(database_of(url), migration.version, str(exc).strip()) from exc


def migrate_all(cells: Cells, *, create: bool = True) -> dict[str, list[str]]:
    """Create (when asked) and migrate the control database and every region cell."""
    result: dict[str, list[str]] = {}
    for cell, url in cells.all_urls().items():
        if create:
            ensure_database(url)
        result[cell] = apply_migrations(url, CONTROL if cell == CONTROL else "cell")
    return result


@contextmanager
def temporary_cells(settings: Settings, server_url: str) -> Iterator[Cells]:
    """Cells named by ``settings`` on ``server_url``, created and migrated, dropped after
    use (also on failure): for tests and benchmarks that need databases of their own."""
    cells = Cells.from_settings(settings, server_url)
    try:
        migrate_all(cells)
        yield cells
    finally:
        cells.close()
        for url in cells.all_urls().values():
            try:
                drop_database(url)
            except Exception as exc:  # noqa: BLE001 - keep dropping the others
                log.warning("could not drop %s: %s", redact(url), exc)
        log.info("dropped the databases of %s", settings.database_prefix)
