"""The API's audit trail: administrative calls leave a hash-chained entry in the control
database (never with recipient data); data-plane calls do not."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from api_kit import Tenants
from campaign_kit import remove_org_rows
from test_templates import BODY

from compliance.audit import entries, first_break
from serving.auth import Role
from warehouse.db import Cells


@pytest.fixture(autouse=True)
def _cleanup(tenants: Tenants, serving_cells: Cells) -> Iterator[None]:
    yield
    remove_org_rows(serving_cells, tenants.created)


def trail(cells: Cells, org_id: uuid.UUID) -> list[tuple[str, str, str, dict]]:
    with cells.connection("control") as conn:
        return [
            (entry.actor, entry.action, entry.subject, dict(entry.details))
            for entry in entries(conn)
            if entry.org_id == org_id
        ]


def test_administrative_calls_are_audited_and_data_plane_calls_are_not(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant = tenants.org("eu")
    owner = tenants.client(tenant, Role.OWNER)
    manager = tenants.client(tenant, Role.CAMPAIGN_MANAGER)
    analyst = tenants.client(tenant, Role.ANALYST)

    made = manager.post("/v1/templates", json=BODY)
    assert made.status_code == 201, made.text
    template_id = made.json()["template_id"]
    assert manager.delete(f"/v1/templates/{template_id}").status_code in (200, 204)
    refused = analyst.post("/v1/templates", json=BODY)
    assert refused.status_code == 403
    assert (
        manager.post(
            "/v1/suppressions", json={"email": "someone@example.org", "reason": "manual"}
        ).status_code
        == 201
    )
    sent = manager.post("/v1/messages", json={
        "recipient": {"email": "reader@example.org", "country": "DE"},
        "subject": "Hi", "html": "<p>Hi</p>", "sending_domain": "mail.acme.example",
    })  # fmt: skip
    assert sent.status_code in (201, 422), sent.text
    assert owner.get("/v1/users").status_code == 200

    found = trail(serving_cells, tenant.org_id)
    by_subject: dict[str, tuple[str, str, dict]] = {}
    for actor, action, subject, details in found:
        by_subject.setdefault(subject, (actor, action, details))  # the first of each
    create = by_subject["POST /v1/templates"]
    assert create[1] == "api.create_template" and create[2]["status"] == 201
    assert create[2]["role"] == "campaign_manager" and create[0].startswith("key:")
    assert f"DELETE /v1/templates/{template_id}" in by_subject
    assert any(s == "POST /v1/templates" and d["status"] == 403 for _, _, s, d in found)
    assert "POST /v1/suppressions" in by_subject
    assert not any("messages" in subject or "users" in subject for subject in by_subject)
    assert not any("someone@example.org" in str(entry) for entry in found)
    with serving_cells.connection("control") as conn:
        assert first_break(entries(conn)) is None
