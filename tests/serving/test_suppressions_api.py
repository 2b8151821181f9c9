"""The suppression list over the live API: added by address in every cell, paged with a
cursor, looked up by address, removed (not erasures), per organization."""

from __future__ import annotations

from api_kit import Tenants

from serving.auth import Role
from warehouse.db import Cells


def test_suppressions_are_added_in_every_cell_paged_and_removed(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant = tenants.org()
    client = tenants.client(tenant)
    analyst = tenants.client(tenant, Role.ANALYST)

    created = [
        client.post("/v1/suppressions", json={"email": f"s{i}@example.org", "reason": "manual"})
        for i in range(5)
    ]
    repeat = client.post(
        "/v1/suppressions", json={"email": "S0@example.org", "reason": "complaint"}
    )

    assert [r.status_code for r in created] == [201] * 5
    assert repeat.status_code == 200 and repeat.json()["reason"] == "complaint"
    assert sorted(created[0].json()["regions"]) == sorted(serving_cells.regions)
    first = analyst.get("/v1/suppressions", params={"limit": 3}).json()
    second = analyst.get(
        "/v1/suppressions", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    hashes = [s["email_hash"] for s in first["items"] + second["items"]]
    assert len(hashes) == len(set(hashes)) == 5
    assert second["next_cursor"] is None
    one = analyst.get("/v1/suppressions", params={"email": "s3@example.org"}).json()["items"]
    assert [s["email_hash"] for s in one] == [created[3].json()["email_hash"]]

    assert client.delete("/v1/suppressions", params={"email": "s3@example.org"}).status_code == 204
    gone = client.delete("/v1/suppressions", params={"email": "s3@example.org"})
    assert (gone.status_code, gone.json()["code"]) == (404, "suppression_not_found")
    refused = analyst.post("/v1/suppressions", json={"email": "x@example.org"})
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


def test_erasures_stay_and_other_organizations_see_nothing(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant = tenants.org()
    client = tenants.client(tenant)
    stranger = tenants.client(tenants.org())
    added = client.post("/v1/suppressions", json={"email": "gone@example.org"}).json()
    with serving_cells.connection("eu") as conn:
        conn.execute(
            "UPDATE suppressions SET reason = 'erasure' WHERE org_id = %s", (tenant.org_id,)
        )

    kept = client.delete("/v1/suppressions", params={"email": "gone@example.org"})

    assert (kept.status_code, kept.json()["code"]) == (409, "erasure_suppression")
    assert stranger.get("/v1/suppressions").json()["items"] == []
    theirs = stranger.delete("/v1/suppressions", params={"email": "gone@example.org"})
    assert theirs.status_code == 404
    assert added["email_hash"]
    bad = client.get("/v1/suppressions", params={"cursor": "nonsense"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
