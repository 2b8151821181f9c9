"""POST /v1/contacts:import and GET /v1/contacts/{id} against the live API: CSV, JSON lines
and JSON arrays import with a per-record report, PII sealed on write, upserts by blind index,
consent recorded with source ``import``, signatures over the streamed body, roles and
tenant isolation."""

from __future__ import annotations

import json

import httpx
from api_kit import Tenants

from serving.auth import Role
from serving.auth.signing import sign_request
from warehouse.db import Cells

CSV = (
    "email,name,country,consent,attr.plan\n"
    "ada@example.org,Ada,DE,granted,pro\n"
    "bob@,Bob,DE,,\n"
    "cy@example.com,Cy,US,,basic\n"
    "dee@example.org,Dee,,,\n"
    "eve@example.org,Eve,XX,,\n"
)


def test_a_csv_import_reports_each_refused_record_and_seals_the_rest(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant = tenants.org()
    client = tenants.client(tenant)

    response = client.post(
        "/v1/contacts:import", content=CSV.encode(), headers={"content-type": "text/csv"}
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["received"], report["created"], report["rejected"]) == (5, 2, 3)
    assert [(e["row"], e["code"]) for e in report["errors"]] == [
        (2, "invalid_address"),
        (4, "country_required"),
        (5, "unknown_country"),
    ]
    with serving_cells.connection("eu") as conn:
        eu = conn.execute(
            "SELECT c.contact_id, c.email_ciphertext, c.attributes, k.status FROM contacts c "
            "JOIN consents k USING (contact_id) WHERE c.org_id = %s",
            (tenant.org_id,),
        ).fetchall()
        evidence = conn.execute(
            "SELECT source, action FROM consent_events WHERE org_id = %s", (tenant.org_id,)
        ).fetchall()
    with serving_cells.connection("na") as conn:
        na = conn.execute(
            "SELECT count(*) FROM contacts WHERE org_id = %s", (tenant.org_id,)
        ).fetchone()
    assert len(eu) == 1 and na == (1,)
    contact_id, ciphertext, attributes, consent = eu[0]
    assert b"ada" not in bytes(ciphertext)
    assert (attributes, consent) == ({"plan": "pro"}, "granted")
    assert evidence == [("import", "granted")]
    contact = client.get(f"/v1/contacts/{contact_id}").json()
    assert (contact["email"], contact["name"], contact["country"]) == (
        "ada@example.org",
        "Ada",
        "DE",
    )
    assert contact["consents"][0]["status"] == "granted"


def test_json_lines_and_arrays_upsert_by_address(tenants: Tenants) -> None:
    tenant = tenants.org()
    client = tenants.client(tenant)
    lines = "\n".join(
        json.dumps(r)
        for r in (
            {"email": "fay@example.org", "country": "FR", "name": "Fay", "attributes": {"a": 1}},
            {"email": "gus@example.org", "country": "JP"},
        )
    )
    first = client.post(
        "/v1/contacts:import",
        content=lines.encode(),
        headers={"content-type": "application/x-ndjson"},
    ).json()
    array = [
        {"email": "FAY@example.org", "time_zone": "Europe/Paris", "attributes": {"b": 2}},
        {"email": "gus@example.org", "country": "US"},
        "not an object",
    ]
    second = client.post("/v1/contacts:import", json=array).json()

    assert (first["created"], first["rejected"]) == (2, 0)
    assert (second["created"], second["updated"], second["rejected"]) == (0, 1, 2)
    assert [(e["row"], e["code"]) for e in second["errors"]] == [
        (2, "region_conflict"),
        (3, "invalid_row"),
    ]


def test_a_large_import_is_written_in_chunks(tenants: Tenants, serving_cells: Cells) -> None:
    tenant = tenants.org()
    client = tenants.client(tenant)
    rows = "".join(f"person{i}@example.org,DE\n" for i in range(2600))

    report = client.post(
        "/v1/contacts:import",
        content=f"email,country\n{rows}".encode(),
        headers={"content-type": "text/csv"},
    ).json()

    assert (report["received"], report["created"], report["rejected"]) == (2600, 2600, 0)
    with serving_cells.connection("eu") as conn:
        count = conn.execute("SELECT count(*) FROM contacts WHERE org_id = %s", (tenant.org_id,))
        assert count.fetchone() == (2600,)


def test_imports_need_a_signature_over_the_body_a_role_and_a_known_format(
    tenants: Tenants, api_url: str
) -> None:
    tenant = tenants.org()
    manager = tenants.client(tenant)
    analyst = tenants.client(tenant, Role.ANALYST)
    body = b"email,country\nhal@example.org,DE\n"
    headers = sign_request(
        manager._private_key, manager.api_key, "POST", "/v1/contacts:import", body
    )  # noqa: SLF001

    tampered = httpx.post(
        f"{api_url}/v1/contacts:import",
        content=body + b"ivy@example.org,DE\n",
        headers={**headers, "content-type": "text/csv"},
    )
    refused = analyst.post(
        "/v1/contacts:import", content=body, headers={"content-type": "text/csv"}
    )
    unknown = manager.post(
        "/v1/contacts:import", content=body, headers={"content-type": "text/xml"}
    )

    assert (tampered.status_code, tampered.json()["code"]) == (401, "invalid_signature")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert (unknown.status_code, unknown.json()["code"]) == (415, "unsupported_media_type")


def test_a_contact_is_only_visible_to_its_organization(tenants: Tenants) -> None:
    tenant = tenants.org()
    client = tenants.client(tenant)
    stranger = tenants.client(tenants.org())
    client.post("/v1/contacts:import", json=[{"email": "jo@example.org", "country": "DE"}])
    listed = client.post("/v1/messages", json={
        "recipient": {"email": "jo@example.org"}, "subject": "s", "html": "<p>h</p>",
        "sending_domain": "mail.acme.example",
    }).json()  # fmt: skip

    assert client.get(f"/v1/contacts/{listed['contact_id']}").status_code == 200
    hidden = stranger.get(f"/v1/contacts/{listed['contact_id']}")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "contact_not_found")
