"""POST /v1/messages and GET /v1/messages/{id} against the live API: a message reaches its
recipient's region cell with the contact sealed, idempotency keys return the original,
consent, suppression, residency and size limits refuse with codes, a batch answers per
message, "optimal" uses recipient_send_times, and other organizations see nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from api_kit import Tenant, Tenants

from serving.auth import Role
from serving.client import PostwiseClient
from warehouse.db import Cells


def message(email: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "recipient": {"email": email, "country": "DE", "name": "Ada"},
        "subject": "Hello {{name}}",
        "html": "<p>Hi {{name}}</p>",
        "variables": {"name": "Ada"},
        "sending_domain": "mail.acme.example",
    }
    body.update(extra)
    return body


def fresh(tenants: Tenants, region: str = "eu") -> tuple[Tenant, PostwiseClient]:
    tenant = tenants.org(region)
    return tenant, tenants.client(tenant, Role.CAMPAIGN_MANAGER)


def grant_consent(cells: Cells, region: str, contact_id: str) -> None:
    with cells.connection(region) as conn:
        conn.execute(
            "INSERT INTO consents (contact_id, purpose, status, policy_version) "
            "VALUES (%s, 'marketing', 'granted', 'v1')",
            (contact_id,),
        )


def test_a_message_is_queued_in_its_recipient_s_cell_with_the_contact_sealed(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant, client = fresh(tenants)

    response = client.post("/v1/messages", json=message("ada@example.org"))

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["region"], body["status"], body["created"]) == ("eu", "queued", True)
    assert body["send_time"]["strategy"] == "now"
    with serving_cells.connection("eu") as conn:
        row = conn.execute(
            "SELECT m.org_id, m.variables, c.email_ciphertext, c.country FROM messages m "
            "JOIN contacts c USING (contact_id) WHERE m.message_id = %s",
            (body["message_id"],),
        ).fetchone()
    assert row is not None
    assert row[0] == tenant.org_id
    assert row[1]["subject"] == "Hello {{name}}" and row[1]["name"] == "Ada"
    assert b"ada@example.org" not in bytes(row[2])
    assert row[3] == "DE"
    contact = client.get(f"/v1/contacts/{body['contact_id']}").json()
    assert (contact["email"], contact["name"], contact["region"]) == (
        "ada@example.org",
        "Ada",
        "eu",
    )

    again = client.post(
        "/v1/messages", json=message("ADA@example.org", recipient={"email": "ADA@example.org"})
    )
    assert again.status_code == 201, again.text
    assert again.json()["contact_id"] == body["contact_id"]  # found by blind index


def test_an_idempotency_key_returns_the_original_message(tenants: Tenants) -> None:
    _, client = fresh(tenants)
    first = client.post("/v1/messages", json=message("bo@example.org", idempotency_key="k-1"))
    repeat = client.post("/v1/messages", json=message("bo@example.org", idempotency_key="k-1"))
    by_header = client.post(
        "/v1/messages", json=message("bo@example.org"), headers={"Idempotency-Key": "k-2"}
    )
    header_repeat = client.post(
        "/v1/messages", json=message("bo@example.org"), headers={"Idempotency-Key": "k-2"}
    )

    assert (first.status_code, repeat.status_code) == (201, 200)
    assert repeat.json()["message_id"] == first.json()["message_id"]
    assert repeat.json()["created"] is False
    assert (by_header.status_code, header_repeat.status_code) == (201, 200)
    assert header_repeat.json()["message_id"] == by_header.json()["message_id"]


def test_marketing_needs_consent_and_a_refusal_writes_nothing(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant, client = fresh(tenants)

    refused = client.post("/v1/messages", json=message("cy@example.org", campaign_type="marketing"))

    assert refused.status_code == 422
    assert refused.json()["code"] == "no_consent"
    assert "consent" in refused.json()["detail"]
    with serving_cells.connection("eu") as conn:
        count = conn.execute("SELECT count(*) FROM contacts WHERE org_id = %s", (tenant.org_id,))
        assert count.fetchone() == (0,)
    sent = client.post("/v1/messages", json=message("cy@example.org"))  # transactional
    grant_consent(serving_cells, "eu", sent.json()["contact_id"])
    accepted = client.post(
        "/v1/messages", json=message("cy@example.org", campaign_type="marketing")
    )
    assert accepted.status_code == 201, accepted.text


def test_suppressed_addresses_are_refused_and_hard_ones_stop_transactional_mail(
    tenants: Tenants, serving_cells: Cells
) -> None:
    _, client = fresh(tenants)
    sent = client.post("/v1/messages", json=message("di@example.org")).json()
    grant_consent(serving_cells, "eu", sent["contact_id"])
    assert client.post("/v1/suppressions", json={"email": "di@example.org"}).status_code == 201

    marketing = client.post(
        "/v1/messages", json=message("di@example.org", campaign_type="marketing")
    )
    transactional = client.post("/v1/messages", json=message("di@example.org"))
    client.post("/v1/suppressions", json={"email": "di@example.org", "reason": "hard_bounce"})
    hard = client.post("/v1/messages", json=message("di@example.org"))

    assert (marketing.status_code, marketing.json()["code"]) == (422, "suppressed")
    assert transactional.status_code == 201  # a manual suppression does not stop receipts
    assert (hard.status_code, hard.json()["code"]) == (422, "suppressed")


def test_a_campaign_s_blocked_regions_refuse_recipients_there(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant, client = fresh(tenants)
    campaign_id = uuid.uuid4()
    with serving_cells.connection("control") as conn:
        conn.execute(
            "INSERT INTO campaigns (campaign_id, org_id, name, campaign_type, blocked_regions) "
            "VALUES (%s, %s, 'receipts', 'transactional', '{eu}')",
            (campaign_id, tenant.org_id),
        )
    try:
        blocked = client.post(
            "/v1/messages", json=message("ed@example.org", campaign_id=str(campaign_id))
        )
        us = message("ed@example.com", campaign_id=str(campaign_id))
        us["recipient"]["country"] = "US"
        allowed = client.post("/v1/messages", json=us)
        other = client.post(
            "/v1/messages", json=message("ed@example.org", campaign_id=str(uuid.uuid4()))
        )
    finally:
        with serving_cells.connection("control") as conn:
            conn.execute("DELETE FROM campaigns WHERE campaign_id = %s", (campaign_id,))

    assert (blocked.status_code, blocked.json()["code"]) == (422, "blocked_region")
    assert (allowed.status_code, allowed.json()["region"]) == (201, "na")
    assert (other.status_code, other.json()["code"]) == (404, "campaign_not_found")


def test_a_batch_answers_per_message(tenants: Tenants) -> None:
    _, client = fresh(tenants)
    no_country = message("fi@example.org")
    no_country["recipient"].pop("country")
    batch = {
        "messages": [
            message("ga@example.org", idempotency_key="b-1"),
            message("not-an-address"),
            no_consent := message("ha@example.org", campaign_type="marketing"),
            no_country,
            message("ga@example.org", idempotency_key="b-1"),
        ]
    }
    assert no_consent

    response = client.post("/v1/messages", json=batch)

    assert response.status_code == 200, response.text
    body = response.json()
    outcomes = [(r["outcome"], r["code"]) for r in body["results"]]
    assert outcomes == [
        ("accepted", None),
        ("rejected", "invalid_address"),
        ("rejected", "no_consent"),
        ("rejected", "country_required"),
        ("existing", None),
    ]
    assert (body["accepted"], body["existing"], body["rejected"]) == (1, 1, 3)
    assert (
        body["results"][4]["message"]["message_id"] == body["results"][0]["message"]["message_id"]
    )


def test_payload_limits_are_413_with_a_code(tenants: Tenants) -> None:
    _, client = fresh(tenants)
    big_variables = message("ib@example.org", variables={"blob": "x" * 40_000})
    too_many = {"messages": [message(f"r{i}@example.org") for i in range(1001)]}

    for body in (big_variables, too_many):
        response = client.post("/v1/messages", json=body)
        assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    invalid = client.post("/v1/messages", json={"recipient": {"email": "x@example.org"}})
    assert (invalid.status_code, invalid.json()["code"]) == (422, "invalid_body")


def test_optimal_send_time_uses_the_recipient_s_score_and_says_when_there_is_none(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant, client = fresh(tenants)
    first = client.post("/v1/messages", json=message("jo@example.org", send_at="optimal")).json()
    assert (first["send_time"]["source"], first["send_time"]["strategy"]) == ("none", "optimal")
    with serving_cells.connection("eu") as conn:
        conn.execute(
            "INSERT INTO recipient_send_times (contact_id, org_id, best_hour_utc, best_local_hour, "
            "open_probability_24h, model_name, model_version, fallback) "
            "VALUES (%s, %s, '2024-05-01 17:00+00', 19, 0.4, 'send_time_eu', '3', true)",
            (first["contact_id"], tenant.org_id),
        )

    scored = client.post("/v1/messages", json=message("jo@example.org", send_at="optimal")).json()
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    fixed = client.post(
        "/v1/messages", json=message("jo@example.org", send_at=at.isoformat())
    ).json()

    when = datetime.fromisoformat(scored["scheduled_at"])
    assert (when.hour, when.minute) == (17, 0)
    assert timedelta(0) <= when - datetime.now(UTC) <= timedelta(hours=24)
    assert scored["send_time"]["fallback"] is True
    assert scored["send_time"]["model_version"] == "send_time_eu/3"
    assert datetime.fromisoformat(fixed["scheduled_at"]) == at


def test_a_message_reads_back_with_its_events_and_only_for_its_organization(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant, client = fresh(tenants)
    _, stranger = fresh(tenants)
    analyst = tenants.client(tenant, Role.ANALYST)
    sent = client.post("/v1/messages", json=message("ka@example.org")).json()
    with serving_cells.connection("eu") as conn:
        conn.execute("SELECT ensure_event_partitions(current_date - 1, current_date + 1)")
        conn.execute(
            "INSERT INTO email_events (event_id, event_time, message_id, contact_id, org_id, "
            "campaign_type, region, type, smtp_code) "
            "VALUES (%s, now(), %s, %s, %s, 'transactional', 'eu', 'delivered', 250)",
            (uuid.uuid4(), sent["message_id"], sent["contact_id"], tenant.org_id),
        )

    read = analyst.get(f"/v1/messages/{sent['message_id']}")
    hidden = stranger.get(f"/v1/messages/{sent['message_id']}")

    assert read.status_code == 200, read.text
    assert read.json()["status"] == "queued"
    assert [(e["type"], e["smtp_code"]) for e in read.json()["events"]] == [("delivered", 250)]
    assert (hidden.status_code, hidden.json()["code"]) == (404, "message_not_found")
    assert stranger.get(f"/v1/contacts/{sent['contact_id']}").status_code == 404
    refused = analyst.post("/v1/messages", json=message("ka@example.org"))
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert analyst.get(f"/v1/contacts/{sent['contact_id']}").status_code == 403
