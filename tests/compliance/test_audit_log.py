"""The audit log in PostgreSQL: entries survive the round trip through jsonb, concurrent
writers keep one chain, and tampering behind the triggers' back (as a superuser) is caught by
verification, down to the first bad entry, and by the signed checkpoints."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from settings_env import development_cli
from test_audit_chain import details as json_details

from compliance.audit import entries, first_break, record
from compliance.audit.chain import entry_hash
from compliance.audit.checkpoints import (
    checkpoints_of,
    load_signing_key,
    read_checkpoint,
    sign_checkpoint,
    write_checkpoint,
)
from compliance.audit.log import head
from compliance.audit.verify import verify_database
from compliance.errors import CheckpointError
from postwise.settings import Settings, with_database
from warehouse.db import connect, drop_database, ensure_database
from warehouse.migrate import apply_migrations, temporary_cells


@pytest.fixture
def chain_db(database_server_url: str, run_prefix: str, request) -> Iterator[str]:
    """A database of its own with the audit_log migrations, for tests that tamper."""
    url = with_database(database_server_url, f"{run_prefix}_audit_{request.node.name[:20]}")
    ensure_database(url)
    apply_migrations(url, "control")
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> ec.EllipticCurvePrivateKey:
    return load_signing_key(tmp_path_factory.mktemp("keys") / "audit.pem", create=True)


def superuser_edit(url: str, statement: str, params: tuple = ()) -> None:
    """Change audit_log with its triggers switched off, as a superuser could."""
    with connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(statement, params)
        conn.commit()


def write_entries(url: str, count: int) -> None:
    with connect(url) as conn:
        for number in range(count):
            record(conn, actor="admin@example.org", action="login", subject=f"user:{number}",
                   details={"n": number, "ip": "192.0.2.1"})  # fmt: skip
        conn.commit()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(json_details, min_size=1, max_size=4))
def test_entries_verify_after_the_round_trip_through_postgresql(chain_db: str, batch) -> None:
    with connect(chain_db) as conn:
        for extra in batch:
            record(conn, actor="ädmin", action="consent.granted", subject="c:1", details=extra)
        conn.commit()
        stored = list(entries(conn))
    assert first_break(stored) is None


def test_concurrent_writers_keep_one_unbroken_chain(chain_db: str) -> None:
    threads = [threading.Thread(target=write_entries, args=(chain_db, 40)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with connect(chain_db) as conn:
        stored = list(entries(conn))
    assert len(stored) == 160
    assert first_break(stored) is None


def test_a_superuser_edit_is_caught_and_the_first_bad_entry_named(chain_db: str) -> None:
    write_entries(chain_db, 10)
    with connect(chain_db) as conn:
        ids = [entry.audit_id for entry in entries(conn)]
    superuser_edit(
        chain_db,
        'UPDATE audit_log SET details = details || \'{"ip": "203.0.113.9"}\' WHERE audit_id = %s',
        (ids[6],),
    )
    with connect(chain_db) as conn:
        report = verify_database(conn, "scratch", [], None)
    assert report.problem is not None
    assert report.problem.audit_id == ids[6]
    assert "altered" in report.problem.reason


def test_a_deleted_entry_is_caught_at_the_entry_after_it(chain_db: str) -> None:
    write_entries(chain_db, 6)
    with connect(chain_db) as conn:
        ids = [entry.audit_id for entry in entries(conn)]
    superuser_edit(chain_db, "DELETE FROM audit_log WHERE audit_id = %s", (ids[2],))
    with connect(chain_db) as conn:
        report = verify_database(conn, "scratch", [], None)
    assert report.problem is not None and report.problem.audit_id == ids[3]


def test_a_rewritten_and_rehashed_chain_is_caught_by_its_signed_checkpoint(
    chain_db: str, signing_key: ec.EllipticCurvePrivateKey, tmp_path: Path
) -> None:
    write_entries(chain_db, 8)
    with connect(chain_db) as conn:
        checkpoint = sign_checkpoint(signing_key, "scratch", head(conn))
    write_checkpoint(tmp_path, checkpoint)
    write_entries(chain_db, 2)
    with connect(chain_db) as conn:
        stored = list(entries(conn))
        report = verify_database(conn, "scratch", checkpoints_of(tmp_path, "scratch"),
                                 signing_key.public_key())  # fmt: skip
    assert report.intact and report.checkpoints_matched == 1, report.summary()

    # Rewrite entry 3 and recompute every hash after it, as a careful attacker would.
    prev = stored[2].prev_hash
    with connect(chain_db) as conn:
        conn.execute("SET session_replication_role = replica")
        for position, entry in enumerate(stored[2:], start=2):
            body = entry.body()
            if position == 2:
                body["actor"] = "mallory"
                conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE audit_id = %s",
                             (entry.audit_id,))  # fmt: skip
            new_hash = entry_hash(prev, body)
            conn.execute("UPDATE audit_log SET prev_hash = %s, row_hash = %s WHERE audit_id = %s",
                         (prev, new_hash, entry.audit_id))  # fmt: skip
            prev = new_hash
        conn.commit()
    with connect(chain_db) as conn:
        assert first_break(entries(conn)) is None  # the chain alone looks fine
        report = verify_database(conn, "scratch", checkpoints_of(tmp_path, "scratch"),
                                 signing_key.public_key())  # fmt: skip
    assert report.problem is not None
    assert report.problem.audit_id == checkpoint.audit_id
    assert "rewritten" in report.problem.reason


def test_checkpoints_are_read_only_never_rewritten_and_must_be_signed(
    chain_db: str, signing_key: ec.EllipticCurvePrivateKey, tmp_path: Path
) -> None:
    write_entries(chain_db, 3)
    with connect(chain_db) as conn:
        newest = head(conn)
    checkpoint = sign_checkpoint(signing_key, "scratch", newest)
    path = write_checkpoint(tmp_path, checkpoint)
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert write_checkpoint(tmp_path, sign_checkpoint(signing_key, "scratch", newest)) == path
    assert read_checkpoint(path).signature == checkpoint.signature  # the first file stays
    forged_head = type(newest)(**{**newest.__dict__, "row_hash": b"\x00" * 32})
    with pytest.raises(CheckpointError):
        write_checkpoint(tmp_path, sign_checkpoint(signing_key, "scratch", forged_head))

    other_key = ec.generate_private_key(ec.SECP521R1())
    with connect(chain_db) as conn:
        report = verify_database(conn, "scratch", checkpoints_of(tmp_path, "scratch"),
                                 other_key.public_key())  # fmt: skip
    assert report.problem is not None and "not validly signed" in report.problem.reason


def test_postwise_audit_verify_names_the_tampered_database_and_entry(
    database_server_url: str, run_prefix: str, tmp_path: Path
) -> None:
    prefix = f"{run_prefix}_cli"
    cli_settings, env = development_cli(database_server_url, prefix, tmp_path)

    def postwise(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "postwise.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    with temporary_cells(cli_settings, database_server_url) as cells:
        with cells.connection("eu") as conn:
            for number in range(5):
                record(conn, actor="ops", action="export", subject=f"s{number}")
        assert postwise("audit", "checkpoint").returncode == 0
        written = sorted(p.name for p in (tmp_path / "audit-checkpoints").iterdir())
        assert any(name.startswith("eu-") for name in written), written
        clean = postwise("audit", "verify")
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert "eu: intact, 5 entries" in clean.stdout

        with cells.connection("eu") as conn:
            target = [entry.audit_id for entry in entries(conn)][3]
        edit = "UPDATE audit_log SET subject = 'nobody' WHERE audit_id = %s"
        superuser_edit(cells.url("eu"), edit, (target,))
        tampered = postwise("audit", "verify")
        assert tampered.returncode == 1
        assert f"eu: TAMPERED, first bad entry {target}" in tampered.stderr + tampered.stdout
        assert "control: intact" in tampered.stdout
        with (
            psycopg.connect(cells.url("eu")) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute("UPDATE audit_log SET subject = 'again'")


def test_the_demo_reports_every_chain_verified_and_anchored(
    cells, settings: Settings, tmp_path: Path
) -> None:
    from postwise.demo import audit_table

    own = settings.model_copy(
        update={
            "audit_checkpoint_dir": tmp_path / "anchors",
            "audit_signing_key_file": tmp_path / "audit.pem",
        }
    )
    with cells.connection("na") as conn:
        record(conn, actor="demo", action="export", subject="report")
    first = audit_table(own, cells)
    second = audit_table(own, cells)
    na_first = next(line for line in first.splitlines() if line.startswith("na "))
    na_second = next(line for line in second.splitlines() if line.startswith("na "))
    assert "intact" in na_first and "na-" in na_first
    assert "TAMPERED" not in first + second
    assert na_second.split()[3] == "1"  # the first run's checkpoint matched
