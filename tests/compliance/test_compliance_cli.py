"""`postwise compliance erase|evidence` against the run's real PostgreSQL and Redis: the
certificate is printed as JSON, a repeat says already erased, the evidence pack lands in
the file named, and an unknown organization is one line and exit code 1."""

from __future__ import annotations

import json
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from erasure_kit import (  # noqa: F401 - fixtures
    cipher_fixture,
    erasure_cells_fixture,
    org_id_fixture,
    seed_contact,
)
from settings_env import settings_environment

from compliance.crypto import PiiCipher
from postwise.cli import main
from postwise.settings import Settings, get_settings
from warehouse.db import Cells


@pytest.fixture
def cli_env(
    settings: Settings, erasure_cells: Cells, tmp_path: Path
) -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings_environment(
            settings,
            DATABASE_PREFIX=f"{settings.database_prefix}_rtbf",
            POSTWISE_HOME=str(tmp_path / "home"),
        ).items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        yield patch
    get_settings.cache_clear()


def test_erase_prints_the_certificate_and_evidence_writes_the_pack(
    cli_env: pytest.MonkeyPatch,
    erasure_cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.org"
    seed_contact(erasure_cells, cipher, org_id, email, "Cli Person", events=10, messages=2)
    out = tmp_path / "pack.zip"

    subject = ["--org", str(org_id), "--subject", email]
    assert main(["compliance", "evidence", *subject, "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert main(["compliance", "erase", *subject]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["compliance", "erase", *subject]) == 0
    again = json.loads(capsys.readouterr().out)

    with zipfile.ZipFile(out) as pack:
        assert "consent.json" in pack.namelist()
    assert first["already_erased"] is False
    assert first["requested_by"].startswith("cli:")
    assert again["already_erased"] is True
    assert again["erasure_id"] == first["erasure_id"]


def test_an_unknown_organization_is_one_line_and_exit_code_one(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compliance", "erase", "--org", "no-such-org", "--subject", "a@example.org"])

    assert code == 1
    assert capsys.readouterr().err.strip().count("\n") == 0
