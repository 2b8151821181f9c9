"""Campaigns against a live API whose prechecks ask a DNS server on loopback: CRUD,
validation, isolation, and sends that apply segment, residency, status, suppression,
consent and holdout (kept out, or sent at once as send-time optimization's control arm),
choose send times, and add nothing when repeated."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_kit import Tenant, Tenants
from campaign_kit import add_contact, own_api

from postwise.settings import Settings
from serving.auth import Role
from serving.campaigns.planning import is_held_out
from serving.client import PostwiseClient
from simulator.dns import DnsServer
from warehouse.db import Cells

DOMAIN = "news.acme.example"
TEMPLATE = {"name": "Autumn", "subject": "Hi {{first_name}}", "html": "<p>Hi {{first_name}}</p>"}


@pytest.fixture(scope="module")
def api(api_settings: Settings, serving_cells: Cells) -> Iterator[tuple[str, Tenants, DnsServer]]:
    with DnsServer() as dns_server:
        dns_server.add(DOMAIN, "TXT", '"v=spf1 ip4:127.0.0.0/8 -all"')
        dns_server.add(f"_dmarc.{DOMAIN}", "TXT", '"v=DMARC1; p=reject"')
        dns_server.add("nodmarc.example", "TXT", '"v=spf1 ip4:127.0.0.0/8 -all"')
        settings = api_settings.model_copy(
            update={
                "dns_resolver_address": dns_server.address,
                "dns_resolver_port": dns_server.port,
                "dnsbl_zones": ("bl.test",),
            }
        )
        with own_api(settings, serving_cells) as (url, tenants):
            yield url, tenants, dns_server


@pytest.fixture
def org(api: tuple[str, Tenants, DnsServer]) -> tuple[Tenant, PostwiseClient]:
    tenants = api[1]
    tenant = tenants.org("eu")
    return tenant, tenants.client(tenant)


def make_campaign(client: PostwiseClient, **fields: Any) -> dict[str, Any]:
    template = client.post("/v1/templates", json={**TEMPLATE, "name": uuid.uuid4().hex})
    assert template.status_code == 201, template.text
    body = {
        "name": "Autumn sale",
        "campaign_type": "marketing",
        "template_id": template.json()["template_id"],
        "sending_domain": DOMAIN,
        **fields,
    }
    created = client.post("/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def queued(cells: Cells, region: str, campaign_id: str) -> list[tuple[Any, ...]]:
    with cells.connection(region) as conn:
        return conn.execute(
            "SELECT contact_id, idempotency_key, template_version, scheduled_at, sending_domain "
            "FROM messages WHERE campaign_id = %s ORDER BY contact_id",
            (campaign_id,),
        ).fetchall()


def test_a_send_queues_the_eligible_segment_and_counts_the_rest(
    org: tuple[Tenant, PostwiseClient], serving_cells: Cells
) -> None:
    tenant, client = org
    pro = {"plan": "pro"}
    wanted = [add_contact(serving_cells, tenant.org_id, "eu", attributes=pro) for _ in range(3)]
    wanted.append(add_contact(serving_cells, tenant.org_id, "na", country="US", attributes=pro))
    add_contact(serving_cells, tenant.org_id, "eu", attributes={"plan": "free"})  # not in segment
    add_contact(serving_cells, tenant.org_id, "eu", attributes=pro, consent="withdrawn")
    add_contact(serving_cells, tenant.org_id, "eu", attributes=pro, consent=None)
    add_contact(serving_cells, tenant.org_id, "eu", attributes=pro, suppressed="complaint")
    add_contact(serving_cells, tenant.org_id, "eu", attributes=pro, status="unsubscribed")
    add_contact(serving_cells, tenant.org_id, "apac", country="JP", attributes=pro)
    campaign = make_campaign(
        client,
        segment={"field": "attributes.plan", "op": "eq", "value": "pro"},
        blocked_regions=["apac"],
    )

    sent = client.post(f"/v1/campaigns/{campaign['campaign_id']}/send")

    assert sent.status_code == 200, sent.text
    report = sent.json()
    assert (report["queued"], report["already_queued"], report["held_out"]) == (4, 0, 0)
    assert report["skipped"] == {
        "blocked_region": 1, "contact_inactive": 1, "no_consent": 2, "suppressed": 1,
    }  # fmt: skip
    assert report["queued_by_region"] == {"eu": 3, "na": 1}
    rows = queued(serving_cells, "eu", campaign["campaign_id"])
    rows += queued(serving_cells, "na", campaign["campaign_id"])
    assert sorted(r[0] for r in rows) == sorted(wanted)
    assert all(r[1] == f"campaign:{campaign['campaign_id']}:{r[0]}" for r in rows)
    assert {(r[2], r[4]) for r in rows} == {(1, DOMAIN)}
    assert queued(serving_cells, "apac", campaign["campaign_id"]) == []

    again = client.post(f"/v1/campaigns/{campaign['campaign_id']}/send").json()
    assert (again["queued"], again["already_queued"]) == (0, 4)
    status = client.get(f"/v1/campaigns/{campaign['campaign_id']}").json()
    assert status["status"] == "sending" and status["template_version"] == 1
    refused = client.patch(f"/v1/campaigns/{campaign['campaign_id']}", json={"name": "x"})
    assert refused.status_code == 409 and refused.json()["code"] == "campaign_not_draft"


def test_the_holdout_is_kept_out_and_recorded(
    org: tuple[Tenant, PostwiseClient], serving_cells: Cells
) -> None:
    tenant, client = org
    contacts = [add_contact(serving_cells, tenant.org_id, "eu") for _ in range(40)]
    campaign = make_campaign(client, holdout_share=0.5)
    campaign_id = uuid.UUID(campaign["campaign_id"])

    report = client.post(f"/v1/campaigns/{campaign_id}/send").json()

    expected = {c for c in contacts if is_held_out(campaign_id, c, 0.5)}
    assert report["held_out"] == len(expected) and report["queued"] == 40 - len(expected)
    with serving_cells.connection("eu") as conn:
        recorded = conn.execute(
            "SELECT contact_id, arm FROM campaign_holdouts WHERE campaign_id = %s",
            (campaign_id,),
        ).fetchall()
    assert {r[0] for r in recorded} == expected
    assert {r[1] for r in recorded} == {"not_sent"}
    assert not expected & {r[0] for r in queued(serving_cells, "eu", str(campaign_id))}
    again = client.post(f"/v1/campaigns/{campaign_id}/send").json()
    assert (again["queued"], again["held_out"]) == (0, len(expected))


def test_an_optimal_campaign_s_holdout_is_sent_at_once_as_the_control_arm(
    org: tuple[Tenant, PostwiseClient], serving_cells: Cells
) -> None:
    tenant, client = org
    slot = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0) - timedelta(days=2)
    contacts = [add_contact(serving_cells, tenant.org_id, "eu", best_slot=slot) for _ in range(30)]
    campaign = make_campaign(client, send_strategy="optimal", holdout_share=0.5)
    campaign_id = uuid.UUID(campaign["campaign_id"])

    before = datetime.now(UTC)
    report = client.post(f"/v1/campaigns/{campaign_id}/send").json()

    expected = {c for c in contacts if is_held_out(campaign_id, c, 0.5)}
    assert 0 < len(expected) < 30
    assert report["held_out"] == len(expected) and report["queued"] == 30
    assert report["send_time"] == {"optimal": 30 - len(expected), "fallback": 0}
    with serving_cells.connection("eu") as conn:
        recorded = conn.execute(
            "SELECT contact_id, arm FROM campaign_holdouts WHERE campaign_id = %s",
            (campaign_id,),
        ).fetchall()
    assert {r[0] for r in recorded} == expected
    assert {r[1] for r in recorded} == {"sent_unoptimized"}
    times = {r[0]: r[3] for r in queued(serving_cells, "eu", str(campaign_id))}
    assert times.keys() == set(contacts)
    for contact, when in times.items():
        if contact in expected:  # the control arm: now, not the best slot
            assert before - timedelta(seconds=5) <= when <= datetime.now(UTC) + timedelta(seconds=5)
        else:
            assert when == slot + timedelta(days=2)
    again = client.post(f"/v1/campaigns/{campaign_id}/send").json()
    assert (again["queued"], again["already_queued"], again["held_out"]) == (0, 30, len(expected))


def test_optimal_send_times_come_from_the_scores_with_fallback_reported(
    org: tuple[Tenant, PostwiseClient], serving_cells: Cells
) -> None:
    tenant, client = org
    slot = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0) - timedelta(days=5)
    scored = add_contact(serving_cells, tenant.org_id, "eu", best_slot=slot)
    add_contact(serving_cells, tenant.org_id, "eu")  # no score: sent now
    campaign = make_campaign(client, send_strategy="optimal")

    before = datetime.now(UTC)
    report = client.post(f"/v1/campaigns/{campaign['campaign_id']}/send").json()

    assert report["send_time"] == {"optimal": 1, "fallback": 1}
    times = {r[0]: r[3] for r in queued(serving_cells, "eu", campaign["campaign_id"])}
    assert times[scored] == slot + timedelta(days=5)
    unscored = next(t for c, t in times.items() if c != scored)
    assert before - timedelta(seconds=5) <= unscored <= datetime.now(UTC) + timedelta(seconds=5)


def test_a_domain_failing_its_prechecks_sends_nothing(
    org: tuple[Tenant, PostwiseClient], serving_cells: Cells
) -> None:
    tenant, client = org
    add_contact(serving_cells, tenant.org_id, "eu")
    campaign = make_campaign(client, sending_domain="nodmarc.example")

    refused = client.post(f"/v1/campaigns/{campaign['campaign_id']}/send")

    assert refused.status_code == 422
    assert refused.json()["code"] == "sending_domain_failed_checks"
    assert "_dmarc.nodmarc.example" in refused.json()["detail"]
    assert queued(serving_cells, "eu", campaign["campaign_id"]) == []


def test_bad_campaign_bodies_are_422s_with_codes(org: tuple[Tenant, PostwiseClient]) -> None:
    _, client = org
    template_id = client.post("/v1/templates", json=TEMPLATE).json()["template_id"]
    base = {"name": "x", "campaign_type": "marketing", "template_id": template_id,
            "sending_domain": DOMAIN}  # fmt: skip

    def code(**fields: Any) -> str:
        response = client.post("/v1/campaigns", json={**base, **fields})
        assert response.status_code == 422, response.text
        return str(response.json().get("code"))

    assert code(segment={"field": "country", "op": "like", "value": "D%"}) == "invalid_segment"
    assert code(blocked_regions=["mars"]) == "unknown_region"
    assert code(send_strategy="scheduled") == "scheduled_at_required"
    assert code(template_id=str(uuid.uuid4())) == "campaign_template_invalid"
    assert code(template_version=9) == "campaign_template_invalid"


def test_campaigns_are_invisible_to_other_organizations_and_roles_apply(
    api: tuple[str, Tenants, DnsServer], org: tuple[Tenant, PostwiseClient]
) -> None:
    tenant, client = org
    tenants = api[1]
    campaign = make_campaign(client)
    path = f"/v1/campaigns/{campaign['campaign_id']}"
    outsider = tenants.client(tenants.org())
    analyst = tenants.client(tenant, Role.ANALYST)

    assert outsider.get(path).status_code == 404
    assert outsider.patch(path, json={"name": "mine"}).status_code == 404
    assert outsider.post(f"{path}/send").status_code == 404
    assert outsider.delete(path).status_code == 404
    assert outsider.get("/v1/campaigns").json() == []
    assert analyst.get("/v1/campaigns").json()[0]["campaign_id"] == campaign["campaign_id"]
    assert analyst.post(f"{path}/send").status_code == 403
    assert analyst.patch(path, json={"name": "x"}).status_code == 403
    changed = client.patch(path, json={"name": "Renamed", "holdout_share": 0.1})
    assert changed.json()["name"] == "Renamed" and changed.json()["holdout_share"] == 0.1
    assert client.delete(path).status_code == 204
    assert client.get(path).status_code == 404
