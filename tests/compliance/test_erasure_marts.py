"""Erasure with the real dbt project built: a simulated history in cells of this module's
own, every dbt model built in every region cell, then a contact who appears in the marts is
erased and every column of every table of every database (public, staging, intermediate
and marts schemas) is searched for them. The marts are searched as dbt left them: the next
dbt build reads sources that no longer name the contact."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from data_search import search_everything

from compliance.crypto import PiiCipher
from compliance.erasure import erase_subject
from postwise.dbt_env import build_all_regions
from postwise.settings import Settings
from simulator.history import HistoryOptions, simulate_history
from warehouse.db import Cells
from warehouse.migrate import temporary_cells

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt"


@dataclass(frozen=True)
class BuiltWorld:
    cells: Cells
    settings: Settings
    org_id: uuid.UUID


@pytest.fixture(scope="module")
def built(
    settings: Settings, database_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BuiltWorld]:
    own = settings.model_copy(update={"database_prefix": f"{settings.database_prefix}_rtbfm"})
    options = HistoryOptions(
        contacts=150,
        days=14,
        seed=5,
        org_slug="erasure-marts",
        end=datetime(2026, 5, 1, tzinfo=UTC),
    )
    with temporary_cells(own, database_server_url) as cells:
        history = simulate_history(cells, own, options, progress=False)
        build_all_regions(
            own,
            database_server_url,
            DBT_PROJECT,
            tmp_path_factory.mktemp("dbt-erasure"),
            {"as_of": options.resolved_end().isoformat()},
            timeout=600,
        )
        yield BuiltWorld(cells, own, history.org_id)


def test_a_contact_in_the_dbt_marts_is_found_nowhere_after_the_erasure(built: BuiltWorld) -> None:
    cipher = PiiCipher.from_settings(
        built.settings.key_encryption_key, built.settings.blind_index_key
    )
    with built.cells.connection("eu") as conn:
        row = conn.execute(
            "SELECT c.contact_id, c.email_ciphertext, c.name_ciphertext, c.wrapped_data_key, "
            "c.kek_version, c.email_blind_index FROM contacts c "
            "JOIN marts.recipient_engagement_features f USING (contact_id) "
            "WHERE c.org_id = %s AND c.name_ciphertext IS NOT NULL "
            "AND c.contact_id IN (SELECT contact_id FROM marts.send_time_training) LIMIT 1",
            (built.org_id,),
        ).fetchone()
    assert row is not None, "no contact of the simulated history reached the marts"
    contact_id, email_ct, name_ct, wrapped, version, blind_index = row
    email = cipher.open_field(contact_id, "email", bytes(email_ct), bytes(wrapped), version)
    name = cipher.open_field(contact_id, "name", bytes(name_ct), bytes(wrapped), version)
    needles = {
        "contact id": str(contact_id),
        "contact id (hex)": contact_id.hex,
        "email": email,
        "name": name,
        "blind index": bytes(blind_index).hex(),
    }
    before = search_everything(built.cells, needles)
    assert {"eu:marts.recipient_engagement_features", "eu:marts.send_time_training"} <= set(before)

    result = erase_subject(built.cells, cipher, built.org_id, email, requested_by="test")

    assert result.cells[0].training_rows["marts.send_time_training"] >= 1
    found = search_everything(built.cells, needles)
    assert found.pop("eu:public.suppressions", None) == {"blind index"}
    assert found == {}
