"""Erasures over the live API (uvicorn, real PostgreSQL and Redis): a contact imported through
the API is erased (201 with the certificate), a repeat answers 200 with the first one, the
contact reads back 404, an unknown address is 404, bad bodies are 422, an analyst gets 403."""

from __future__ import annotations

import uuid

from api_kit import Tenants

from compliance.audit import entries
from serving.auth import Role
from warehouse.db import CONTROL, Cells


def test_a_contact_is_erased_once_and_a_repeat_answers_with_the_first_certificate(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant = tenants.org()
    client = tenants.client(tenant)
    email = f"erase-{uuid.uuid4().hex[:8]}@example.org"
    imported = client.post(
        "/v1/contacts:import",
        json=[{"email": email, "country": "DE", "name": "Eraseme", "consent": "granted"}],
    )
    assert imported.status_code == 200, imported.text
    with serving_cells.connection("eu") as conn:
        row = conn.execute(
            "SELECT contact_id FROM contacts WHERE org_id = %s", (tenant.org_id,)
        ).fetchone()
    assert row is not None
    contact_id = row[0]

    erased = client.post("/v1/erasures", json={"email": email.upper()})
    again = client.post("/v1/erasures", json={"email": email})

    assert erased.status_code == 201, erased.text
    certificate = erased.json()
    assert certificate["already_erased"] is False
    assert [cell["region"] for cell in certificate["cells"]] == ["eu"]
    assert certificate["cells"][0]["pseudonymized"]["contacts"] == 1
    assert certificate["requested_by"].startswith("api:key:")
    assert email not in erased.text and str(contact_id) not in erased.text
    assert again.status_code == 200, again.text
    assert again.json()["already_erased"] is True
    assert again.json()["erasure_id"] == certificate["erasure_id"]
    gone = client.get(f"/v1/contacts/{contact_id}")
    assert (gone.status_code, gone.json()["code"]) == (404, "contact_not_found")
    with serving_cells.connection(CONTROL) as conn:
        control = list(entries(conn, subject=certificate["subject"]))
    assert [e.audit_id for e in control] == [certificate["control_audit_id"]]


def test_unknown_addresses_bad_bodies_and_analysts_are_refused(tenants: Tenants) -> None:
    tenant = tenants.org()
    manager = tenants.client(tenant)
    analyst = tenants.client(tenant, Role.ANALYST)

    unknown = manager.post("/v1/erasures", json={"email": "never-seen@example.org"})
    invalid = manager.post("/v1/erasures", json={"email": "not an address"})
    extra = manager.post("/v1/erasures", json={"email": "a@example.org", "also": 1})
    refused = analyst.post("/v1/erasures", json={"email": "a@example.org"})

    assert (unknown.status_code, unknown.json()["code"]) == (404, "subject_not_found")
    assert (invalid.status_code, invalid.json()["code"]) == (422, "invalid_address")
    assert extra.status_code == 422
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
