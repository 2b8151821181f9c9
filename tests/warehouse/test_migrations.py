"""Migrations: ordered, idempotent, recorded, and the schema each cell gets."""

from __future__ import annotations

import secrets

import psycopg
import pytest

from compliance.audit import record
from postwise.settings import Settings
from warehouse.db import Cells, connect, drop_database
from warehouse.migrate import migrate_all, migrations_for


@pytest.fixture
def fresh_cells(settings: Settings, database_server_url: str):
    """A second, empty set of databases (this test migrates them itself)."""
    fresh = Cells.from_settings(
        settings.model_copy(
            update={"database_prefix": f"{settings.database_prefix}_m{secrets.token_hex(2)}"}
        ),
        database_server_url,
    )
    yield fresh
    for url in fresh.all_urls().values():
        drop_database(url)


def test_migrations_apply_twice_cleanly_to_every_cell(fresh_cells: Cells) -> None:
    first = migrate_all(fresh_cells)
    second = migrate_all(fresh_cells)

    assert first["control"] == [m.version for m in migrations_for("control")]
    for region in fresh_cells.regions:
        assert first[region] == [m.version for m in migrations_for("cell")]
    assert all(applied == [] for applied in second.values())
    for cell, url in fresh_cells.all_urls().items():
        with connect(url) as conn:
            recorded = [
                r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")
            ]
        kind = "control" if cell == "control" else "cell"
        assert recorded == sorted(m.version for m in migrations_for(kind))


def test_the_sql_of_every_migration_is_itself_idempotent(fresh_cells: Cells) -> None:
    """Re-running a migration's SQL on a migrated database changes nothing and fails nothing."""
    migrate_all(fresh_cells)
    for cell, url in fresh_cells.all_urls().items():
        kind = "control" if cell == "control" else "cell"
        with connect(url, autocommit=True) as conn:
            for migration in migrations_for(kind):
                conn.execute(migration.sql.encode())


def test_personal_data_tables_exist_only_in_region_cells(cells: Cells) -> None:
    personal = {
        "contacts",
        "consents",
        "consent_events",
        "suppressions",
        "messages",
        "email_events",
    }
    with cells.connection("control") as conn:
        control_tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    assert not personal & control_tables
    assert {
        "orgs",
        "users",
        "api_keys",
        "templates",
        "template_versions",
        "campaigns",
        "audit_log",
    } <= control_tables
    for region in cells.regions:
        with cells.connection(region) as conn:
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') "
                    "AND relnamespace = 'public'::regnamespace"
                )
            }
        assert personal | {"audit_log", "email_events_hourly"} <= tables


def test_messages_are_list_partitioned_by_campaign_type(cells: Cells) -> None:
    with cells.connection("na") as conn:
        parts = dict(
            conn.execute(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'messages'::regclass"
            ).fetchall()
        )
    assert parts == {
        "messages_marketing": "FOR VALUES IN ('marketing')",
        "messages_triggered": "FOR VALUES IN ('triggered')",
        "messages_transactional": "FOR VALUES IN ('transactional')",
    }


def test_the_audit_log_is_append_only_and_hash_chained(cells: Cells) -> None:
    with cells.connection("eu") as conn:
        for action in ("login", "export", "erase"):
            record(conn, actor="tester", action=action, subject="x")
        rows = conn.execute(
            "SELECT prev_hash, row_hash FROM audit_log ORDER BY audit_id DESC LIMIT 3"
        ).fetchall()[::-1]
        assert rows[1][0] == rows[0][1] and rows[2][0] == rows[1][1]
        assert len({r[1] for r in rows}) == 3
    for statement in (
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with cells.connection("eu") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_the_audit_log_refuses_rows_that_do_not_link_to_the_head(cells: Cells) -> None:
    with cells.connection("eu") as conn, pytest.raises(psycopg.errors.IntegrityConstraintViolation):
        conn.execute(
            "INSERT INTO audit_log (actor, action, prev_hash, row_hash) "
            "VALUES ('mallory', 'forge', '\\x00', sha256('x'))"
        )
