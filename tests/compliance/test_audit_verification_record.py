"""Verifications of the audit chains are recorded in each database's job_runs, whoever runs
them (the verifier, `postwise audit verify`, `postwise audit checkpoint`, the hourly
audit_checkpoints asset), and `postwise audit checkpoint` signs no head of a tampered
chain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from settings_env import development_cli

from compliance.audit import entries, record
from compliance.audit.cells import VERIFY_JOB, record_verifications, verify_cells
from pipelines.audit import audit_checkpoints
from pipelines.resources import WarehouseResource
from postwise.settings import get_settings
from warehouse.db import CONTROL, Cells, connect
from warehouse.migrate import temporary_cells

NEWEST = """
SELECT rows_done, details FROM job_runs WHERE job = %s ORDER BY finished_at DESC, run_id DESC
LIMIT 1
"""


def newest_verification(cells: Cells, database: str) -> tuple[int, dict[str, Any]] | None:
    with cells.connection(database) as conn:
        row = conn.execute(NEWEST, (VERIFY_JOB,)).fetchone()
    return (row[0], row[1]) if row else None


def test_each_verification_is_recorded_in_its_own_database(cells: Cells, tmp_path: Path) -> None:
    with cells.connection("apac") as conn:
        record(conn, actor="ops", action="export", subject="s1")
    key = ec.generate_private_key(ec.SECP521R1())
    reports = verify_cells(cells, tmp_path, key.public_key())
    record_verifications(cells, reports)
    assert {report.database for report in reports} == {CONTROL, *cells.regions}
    for report in reports:
        recorded = newest_verification(cells, report.database)
        assert recorded is not None
        rows_done, details = recorded
        assert rows_done == report.entries
        assert details == {
            "intact": True,
            "head_id": report.head_id,
            "checkpoints_matched": 0,
            "problem": None,
        }


def test_checkpoint_command_records_and_refuses_a_tampered_chain(
    database_server_url: str, run_prefix: str, tmp_path: Path
) -> None:
    prefix = f"{run_prefix}_vrec"
    cli_settings, env = development_cli(database_server_url, prefix, tmp_path)

    def postwise(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "postwise.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    anchors = tmp_path / "audit-checkpoints"
    with temporary_cells(cli_settings, database_server_url) as cells:
        with cells.connection("eu") as conn:
            for number in range(4):
                record(conn, actor="ops", action="export", subject=f"s{number}")
        done = postwise("audit", "checkpoint")
        assert done.returncode == 0, done.stdout + done.stderr
        recorded = newest_verification(cells, "eu")
        assert recorded is not None and recorded[0] == 4 and recorded[1]["intact"] is True
        signed = sorted(path.name for path in anchors.iterdir())

        with cells.connection("eu") as conn:
            target = [entry.audit_id for entry in entries(conn)][1]
            record(conn, actor="ops", action="export", subject="after")
        with connect(cells.url("eu")) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("UPDATE audit_log SET subject = 'nobody' WHERE audit_id = %s", (target,))
            conn.commit()
        refused = postwise("audit", "checkpoint")
        assert refused.returncode == 1
        assert f"eu: TAMPERED, first bad entry {target}" in refused.stdout + refused.stderr
        assert sorted(path.name for path in anchors.iterdir()) == signed  # nothing signed
        recorded = newest_verification(cells, "eu")
        assert recorded is not None and recorded[1]["intact"] is False
        assert f"first bad entry {target}" in recorded[1]["problem"]
        control = newest_verification(cells, CONTROL)
        assert control is not None and control[1]["intact"] is True


def test_the_hourly_asset_records_its_verification(
    cells: Cells, database_server_url: str, run_prefix: str, tmp_path: Path
) -> None:
    with cells.connection("na") as conn:  # a non-empty chain gets a checkpoint
        record(conn, actor="ops", action="export", subject="before")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_PREFIX", run_prefix)
        patch.setenv("AUDIT_CHECKPOINT_DIR", str(tmp_path / "anchors"))
        patch.setenv("AUDIT_SIGNING_KEY_FILE", str(tmp_path / "keys" / "audit.pem"))
        get_settings.cache_clear()
        try:
            resources = {"warehouse": WarehouseResource(database_url=database_server_url)}
            assert dg.materialize([audit_checkpoints], resources=resources).success
            with cells.connection("na") as conn:
                record(conn, actor="ops", action="export", subject="hourly")
            assert dg.materialize([audit_checkpoints], resources=resources).success
        finally:
            get_settings.cache_clear()
    recorded = newest_verification(cells, "na")
    assert recorded is not None
    assert recorded[1]["intact"] is True and recorded[1]["checkpoints_matched"] == 1
