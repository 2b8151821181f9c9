"""Contacts imports with too many spam-trap hits, through the live API: the import is
quarantined (trap rows refused, hits per list source reported), none of its contacts can be
mailed until an owner decides; a release makes them sendable, a reject suppresses them for
good, each decision once and audited; an import under the threshold is not held at all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_kit import Tenant, Tenants
from settings_env import settings_environment

from compliance.crypto import cipher_for
from compliance.traps import ImportScreen, QuarantineDecided
from compliance.traps.quarantine import release
from postwise.cli import main
from postwise.settings import Settings, get_settings
from serving.auth import Role
from serving.client import PostwiseClient
from serving.ingest.import_writer import ContactImporter
from serving.ingest.importing import ContactRow
from warehouse.db import Cells


def csv(clean: int, traps: int, tag: str) -> bytes:
    rows = [f"p{i}-{tag}@example.org,DE,granted" for i in range(clean)]
    rows += [f"t{i}-{tag}@mailinator.com,DE,granted" for i in range(traps)]
    return ("email,country,consent\n" + "\n".join(rows) + "\n").encode()


def marketing(email: str) -> dict[str, Any]:
    return {
        "recipient": {"email": email},
        "campaign_type": "marketing",
        "subject": "Hello",
        "html": "<p>Hi</p>",
        "sending_domain": "mail.acme.example",
    }


def imported(client: PostwiseClient, body: bytes) -> dict[str, Any]:
    response = client.post(
        "/v1/contacts:import", content=body, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def holds(cells: Cells, org_id: uuid.UUID) -> dict[tuple[str, str], int]:
    with cells.connection("eu") as conn:
        rows = conn.execute(
            "SELECT reason, split_part(source, ':', 1), count(*) FROM suppressions "
            "WHERE org_id = %s AND source LIKE 'quarantine%%' GROUP BY 1, 2",
            (org_id,),
        ).fetchall()
    return {(reason, source): count for reason, source, count in rows}


def audit_actions(cells: Cells, import_id: str) -> list[str]:
    with cells.connection("control") as conn:
        rows = conn.execute(
            "SELECT action FROM audit_log WHERE subject = %s ORDER BY audit_id",
            (f"import:{import_id}",),
        ).fetchall()
    return [row[0] for row in rows]


@pytest.fixture
def tenant(tenants: Tenants, serving_cells: Cells) -> Iterator[Tenant]:
    made = tenants.org()
    yield made
    with serving_cells.connection("control") as conn:
        conn.execute("DELETE FROM import_quarantines WHERE org_id = %s", (made.org_id,))


def test_a_trappy_import_is_held_until_an_owner_releases_it(
    tenants: Tenants, tenant: Tenant, serving_cells: Cells
) -> None:
    client = tenants.client(tenant)

    report = imported(client, csv(36, 4, "a"))
    held = client.post("/v1/messages", json=marketing("p1-a@example.org"))

    assert (report["received"], report["created"], report["rejected"]) == (40, 36, 4)
    assert {e["code"] for e in report["errors"]} == {"spam_trap"}
    assert report["trap_hits"] == {"disposable-email-domains": 4}
    import_id = report["quarantine_id"]
    assert import_id is not None
    assert (held.status_code, held.json()["code"]) == (422, "suppressed"), held.text
    assert "quarantine" in held.json()["detail"]
    unheld = client.delete("/v1/suppressions", params={"email": "p1-a@example.org"})
    assert (unheld.status_code, unheld.json()["code"]) == (409, "quarantine_hold")
    assert holds(serving_cells, tenant.org_id) == {("quarantine", "quarantine"): 36}
    with serving_cells.connection("control") as conn:
        row = conn.execute(
            "SELECT status, received, trap_hits, hits_by_source, regions FROM import_quarantines "
            "WHERE import_id = %s",
            (import_id,),
        ).fetchone()
    assert row == ("quarantined", 40, 4, {"disposable-email-domains": 4}, ["eu"])

    decided = release(serving_cells, tenant.org_id, uuid.UUID(import_id), "user:owner")
    sent = client.post("/v1/messages", json=marketing("p1-a@example.org"))

    assert (decided.status, decided.decided_by) == ("released", "user:owner")
    assert sent.status_code == 201, sent.text
    assert holds(serving_cells, tenant.org_id) == {}
    with pytest.raises(QuarantineDecided):
        release(serving_cells, tenant.org_id, uuid.UUID(import_id), "user:owner")
    assert audit_actions(serving_cells, import_id) == [
        "traps.import_quarantined",
        "traps.import_released",
    ]


def test_an_import_under_the_threshold_is_not_held(
    tenants: Tenants, tenant: Tenant, serving_cells: Cells
) -> None:
    client = tenants.client(tenant)

    report = imported(client, csv(38, 2, "b"))  # 2 hits: under TRAP_QUARANTINE_MIN_HITS

    assert (report["created"], report["quarantine_id"]) == (38, None)
    assert report["trap_hits"] == {"disposable-email-domains": 2}
    assert holds(serving_cells, tenant.org_id) == {}
    assert client.post("/v1/messages", json=marketing("p2-b@example.org")).status_code == 201


@pytest.fixture
def cli_env(api_settings: Settings, tmp_path: Path) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings_environment(
            api_settings, POSTWISE_HOME=str(tmp_path / "home")
        ).items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


def test_a_rejected_import_stays_suppressed_and_the_commands_show_the_review(
    tenants: Tenants,
    tenant: Tenant,
    serving_cells: Cells,
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = tenants.client(tenant)
    import_id = imported(client, csv(10, 5, "c"))["quarantine_id"]
    org = ["--org", tenant.slug]

    assert main(["traps", "quarantined", *org]) == 0
    listing = capsys.readouterr().out
    assert import_id in listing and '{"disposable-email-domains": 5}' in listing
    assert main(["traps", "reject", *org, import_id]) == 0
    assert "rejected" in capsys.readouterr().out
    assert main(["traps", "release", *org, import_id]) == 1
    assert "rejected already" in capsys.readouterr().err
    assert main(["traps", "release", *org, str(uuid.uuid4())]) == 1

    assert holds(serving_cells, tenant.org_id) == {("manual", "quarantine-rejected"): 10}
    refused = client.post("/v1/messages", json=marketing("p3-c@example.org"))
    assert (refused.status_code, refused.json()["code"]) == (422, "suppressed")
    assert audit_actions(serving_cells, import_id) == [
        "traps.import_quarantined",
        "traps.import_rejected",
    ]


def test_an_owner_reviews_through_the_api_and_each_decision_is_taken_once(
    tenants: Tenants, tenant: Tenant, serving_cells: Cells
) -> None:
    client = tenants.client(tenant)
    owner = tenants.client(tenant, Role.OWNER)
    first = imported(client, csv(20, 4, "d"))["quarantine_id"]
    second = imported(client, csv(20, 4, "e"))["quarantine_id"]

    listed = owner.get("/v1/imports/quarantined")
    manager = client.get("/v1/imports/quarantined")
    released = owner.post(f"/v1/imports/{first}/release")
    rejected = owner.post(f"/v1/imports/{second}/reject")
    twice = owner.post(f"/v1/imports/{first}/reject")
    missing = owner.post(f"/v1/imports/{uuid.uuid4()}/release")

    assert listed.status_code == 200, listed.text
    assert [q["import_id"] for q in listed.json()] == [second, first]
    assert listed.json()[0]["hits_by_source"] == {"disposable-email-domains": 4}
    assert (manager.status_code, manager.json()["code"]) == (403, "forbidden")
    assert (released.status_code, released.json()["status"]) == (200, "released")
    assert released.json()["decided_by"].startswith("key:")
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    assert (twice.status_code, twice.json()["code"]) == (409, "quarantine_decided")
    assert (missing.status_code, missing.json()["code"]) == (404, "quarantine_not_found")
    assert owner.get("/v1/imports/quarantined").json() == []
    assert client.post("/v1/messages", json=marketing("p1-d@example.org")).status_code == 201
    assert holds(serving_cells, tenant.org_id) == {("manual", "quarantine-rejected"): 20}


def test_an_import_that_fails_midway_leaves_no_hold_without_a_verdict(
    tenant: Tenant, serving_cells: Cells, api_settings: Settings
) -> None:
    cipher = cipher_for(api_settings)
    importer = ContactImporter(
        serving_cells,
        cipher,
        tenant.org_id,
        chunk_rows=2,
        screen=ImportScreen(tenant.org_id, "test"),
    )
    for number in (1, 2):
        importer.add(number, ContactRow(email=f"mid{number}@example.org", country="DE"))
    assert holds(serving_cells, tenant.org_id) == {("quarantine", "quarantine"): 2}

    importer.abandon()  # what the route does when reading the rest of the body fails

    assert holds(serving_cells, tenant.org_id) == {}
