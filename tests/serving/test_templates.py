"""Templates against the live API: versions on every update, archive instead of delete
when referenced, tenant isolation, and a sandboxed preview that refuses a template bomb
with a clear 422."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from api_kit import Tenants
from campaign_kit import remove_org_rows

from delivery.queue import NewMessage, enqueue
from serving.auth import Role
from warehouse.db import Cells

BODY = {
    "name": "Autumn newsletter",
    "subject": "Hello {{first_name}} & friends",
    "html": "<p>Hi {{first_name}}</p>{{> footer}}<script>alert(1)</script>",
    "text": "Hi {{first_name}}",
    "partials": {"footer": "<p>Bye</p>"},
}
# Nested sections over a long list: each level multiplies the output.
BOMB = (
    "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}xxxxxxxxxxxxxxxxxxxx{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}"
)


@pytest.fixture(autouse=True)
def _cleanup(tenants: Tenants, serving_cells: Cells) -> Iterator[None]:
    yield
    remove_org_rows(serving_cells, tenants.created)


def test_a_template_gets_a_new_version_on_every_update(tenants: Tenants) -> None:
    client = tenants.client(tenants.org())

    created = client.post("/v1/templates", json=BODY)
    assert created.status_code == 201, created.text
    template_id = created.json()["template_id"]
    updated = client.put(
        f"/v1/templates/{template_id}", json={**BODY, "name": None, "subject": "Second"}
    )
    assert updated.status_code == 200, updated.text

    assert updated.json()["latest_version"] == 2
    versions = client.get(f"/v1/templates/{template_id}/versions").json()
    assert [(v["version"], v["subject"]) for v in versions] == [
        (1, BODY["subject"]),
        (2, "Second"),
    ]
    first = client.get(f"/v1/templates/{template_id}/versions/1")
    assert first.json()["partials"] == {"footer": "<p>Bye</p>"}
    listed = client.get("/v1/templates").json()
    assert [t["template_id"] for t in listed] == [template_id]


def test_duplicate_names_conflict(tenants: Tenants) -> None:
    client = tenants.client(tenants.org())
    assert client.post("/v1/templates", json=BODY).status_code == 201

    again = client.post("/v1/templates", json=BODY)

    assert again.status_code == 409
    assert again.json()["code"] == "template_name_taken"


def test_preview_renders_in_the_sandbox_and_sanitizes(tenants: Tenants) -> None:
    tenant = tenants.org()
    writer = tenants.client(tenant)
    analyst = tenants.client(tenant, Role.ANALYST)
    outsider = tenants.client(tenants.org())  # another organization: not found
    template_id = writer.post("/v1/templates", json=BODY).json()["template_id"]
    assert outsider.post(f"/v1/templates/{template_id}/preview", json={}).status_code == 404
    assert outsider.get(f"/v1/templates/{template_id}").status_code == 404
    assert outsider.put(f"/v1/templates/{template_id}", json=BODY).status_code == 404
    assert outsider.delete(f"/v1/templates/{template_id}").status_code == 404

    preview = analyst.post(
        f"/v1/templates/{template_id}/preview", json={"variables": {"first_name": "Ada"}}
    )

    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["subject"] == "Hello Ada & friends"
    assert "Hi Ada" in body["html"] and "<p>Bye</p>" in body["html"]
    assert "script" not in body["html"]
    assert body["text"] == "Hi Ada"


def test_a_template_bomb_is_a_422_not_a_500(tenants: Tenants) -> None:
    client = tenants.client(tenants.org())
    template_id = client.post("/v1/templates", json={**BODY, "html": BOMB, "name": "bomb"}).json()[
        "template_id"
    ]

    preview = client.post(
        f"/v1/templates/{template_id}/preview", json={"variables": {"a": list(range(100))}}
    )

    assert preview.status_code == 422, preview.text
    assert preview.json()["code"] == "template_too_expensive"
    broken = client.post("/v1/templates", json={**BODY, "html": "{{#open}}", "name": "broken"})
    bad = client.post(f"/v1/templates/{broken.json()['template_id']}/preview", json={})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_template"


def test_a_referenced_template_is_archived_not_deleted(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant = tenants.org()
    client = tenants.client(tenant)
    unused = client.post("/v1/templates", json={**BODY, "name": "unused"}).json()["template_id"]
    used = client.post("/v1/templates", json=BODY).json()["template_id"]
    with serving_cells.connection("eu") as conn:
        enqueue(
            conn,
            NewMessage(tenant.org_id, uuid.uuid4(), "marketing", "news.acme.example",
                       template_id=uuid.UUID(used), template_version=1),
        )  # fmt: skip

    assert client.delete(f"/v1/templates/{unused}").json()["outcome"] == "deleted"
    assert client.get(f"/v1/templates/{unused}").status_code == 404
    assert client.delete(f"/v1/templates/{used}").json()["outcome"] == "archived"
    assert client.get(f"/v1/templates/{used}").json()["archived_at"] is not None
    assert client.get("/v1/templates").json() == []
    assert len(client.get("/v1/templates", params={"include_archived": "true"}).json()) == 1
    refused = client.put(f"/v1/templates/{used}", json=BODY)
    assert refused.status_code == 409
    assert refused.json()["code"] == "template_archived"


def test_analysts_read_but_do_not_write_templates(tenants: Tenants) -> None:
    tenant = tenants.org()
    analyst = tenants.client(tenant, Role.ANALYST)

    refused = analyst.post("/v1/templates", json=BODY)

    assert refused.status_code == 403
    assert analyst.get("/v1/templates").status_code == 200


def test_text_the_database_refuses_is_a_422(tenants: Tenants) -> None:
    client = tenants.client(tenants.org())

    refused = client.post("/v1/templates", json={**BODY, "name": "nul\x00name"})

    assert refused.status_code == 422 and refused.json()["code"] == "invalid_text"


def test_the_openapi_documents_every_template_campaign_domain_and_webhook_route(
    api_url: str,
) -> None:
    document = httpx.get(f"{api_url}/openapi.json").json()
    prefixes = ("/v1/templates", "/v1/campaigns", "/v1/domains", "/v1/webhooks")
    mine = {p: ops for p, ops in document["paths"].items() if p.startswith(prefixes)}

    assert len(mine) == 14
    for path, operations in mine.items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert "401" in documented, (method, path)
            if not path.startswith("/v1/webhooks/esp"):
                assert "403" in documented, (method, path)


def test_a_template_whose_first_version_the_database_refuses_leaves_nothing_behind(
    tenants: Tenants,
) -> None:
    client = tenants.client(tenants.org())
    body = {"name": "Nul", "subject": "Hi", "html": "<p>\u0000</p>"}

    refused = client.post("/v1/templates", json=body)
    listed = client.get("/v1/templates")

    assert refused.status_code == 422 and refused.json()["code"] == "invalid_text"
    assert listed.status_code == 200 and listed.json() == []
