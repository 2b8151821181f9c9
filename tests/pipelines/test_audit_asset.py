"""The hourly audit anchor through Dagster: chains verified, heads signed into files."""

from __future__ import annotations

import stat
from pathlib import Path

import dagster as dg
import pytest

from compliance.audit import record
from compliance.audit.checkpoints import checkpoints_of, is_signed_by, load_signing_key
from postwise.settings import get_settings
from warehouse.db import Cells


def test_the_audit_asset_verifies_and_anchors_every_chain(
    cells: Cells, database_server_url: str, run_prefix: str, tmp_path: Path
) -> None:
    from pipelines.audit import audit_checkpoints
    from pipelines.resources import WarehouseResource

    with cells.connection("apac") as conn:
        record(conn, actor="ops", action="export", subject="anchor-test")
    checkpoint_dir, key_file = tmp_path / "anchors", tmp_path / "keys" / "audit.pem"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_PREFIX", run_prefix)
        patch.setenv("AUDIT_CHECKPOINT_DIR", str(checkpoint_dir))
        patch.setenv("AUDIT_SIGNING_KEY_FILE", str(key_file))
        get_settings.cache_clear()
        try:
            resources = {"warehouse": WarehouseResource(database_url=database_server_url)}
            first = dg.materialize([audit_checkpoints], resources=resources)
            with cells.connection("apac") as conn:
                record(conn, actor="ops", action="export", subject="anchor-test-2")
            second = dg.materialize([audit_checkpoints], resources=resources)
        finally:
            get_settings.cache_clear()
    assert first.success and second.success
    public_key = load_signing_key(key_file).public_key()
    apac = checkpoints_of(checkpoint_dir, "apac")
    assert len(apac) == 2 and apac[0][1].audit_id < apac[1][1].audit_id
    for path, point in apac:
        assert is_signed_by(public_key, point)
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
