"""The secure link of the fallback channel over real HTTP (uvicorn): ``/t/f/{token}``
answers the sealed PDF while the link is valid, never cached; a forged token is a 400, an
expired document or one whose contact was erased a 404, each as a small page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from api_kit import Tenant, Tenants
from campaign_kit import remove_org_rows

from compliance.crypto import cipher_for
from delivery.fallback import NoFallbackRecipient, phone_of, store_document
from delivery.fallback.pdf import render_pdf
from delivery.fallback.wiring import document_links
from delivery.queue import NewMessage, enqueue
from postwise.settings import Settings
from warehouse.db import Cells

REGION = "eu"


@pytest.fixture
def document(api_settings: Settings, serving_cells: Cells) -> Iterator[tuple[uuid.UUID, bytes]]:
    """A message of a sealed contact whose PDF is kept for a week; removed afterwards."""
    org_id, contact_id = uuid.uuid4(), uuid.uuid4()
    cipher = cipher_for(api_settings)
    sealed = cipher.seal_contact(contact_id, "ada@example.org", "Ada")
    pdf = render_pdf("<h1>Your invoice</h1><p>Due on Friday.</p>")
    with serving_cells.connection(REGION) as conn:
        conn.execute(
            "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
            "name_ciphertext, wrapped_data_key, kek_version, email_domain, country, region, "
            "time_zone) VALUES (%s, %s, %s, %s, %s, %s, %s, 'example.org', 'DE', %s, 'UTC')",
            (
                contact_id, org_id, sealed.email_ciphertext, sealed.email_blind_index,
                sealed.name_ciphertext, sealed.wrapped_data_key, sealed.kek_version, REGION,
            ),
        )  # fmt: skip
        message_id = enqueue(
            conn, NewMessage(org_id, contact_id, "transactional", "mail.acme.example")
        ).message_id
        store_document(conn, cipher, message_id, pdf, datetime.now(UTC) + timedelta(days=7))
    yield message_id, pdf
    with serving_cells.connection(REGION) as conn:
        conn.execute("DELETE FROM fallback_documents WHERE message_id = %s", (message_id,))
        conn.execute("DELETE FROM messages WHERE org_id = %s", (org_id,))
        conn.execute("DELETE FROM message_idempotency_keys WHERE org_id = %s", (org_id,))
        conn.execute("DELETE FROM contacts WHERE org_id = %s", (org_id,))


def _link(api_settings: Settings, api_url: str, message_id: uuid.UUID, region: str) -> str:
    """The link the SMS carried, on the test server's address."""
    url = document_links(api_settings).url(message_id, region)
    return f"{api_url}/t/f/{url.rsplit('/', 1)[-1]}"


def test_the_link_answers_the_pdf_uncached_while_it_is_valid(
    api_settings: Settings, api_url: str, document: tuple[uuid.UUID, bytes]
) -> None:
    message_id, pdf = document
    answer = httpx.get(_link(api_settings, api_url, message_id, REGION))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content == pdf and answer.content.startswith(b"%PDF-")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_forged_expired_and_erased_links_are_refused_with_a_page(
    api_settings: Settings,
    api_url: str,
    serving_cells: Cells,
    document: tuple[uuid.UUID, bytes],
) -> None:
    message_id, _ = document
    link = _link(api_settings, api_url, message_id, REGION)
    forged = httpx.get(link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb"))
    assert (forged.status_code, forged.headers["x-error-code"]) == (400, "invalid_token")
    assert forged.headers["content-type"].startswith("text/html")
    elsewhere = httpx.get(_link(api_settings, api_url, message_id, "mars"))
    assert elsewhere.status_code == 400

    with serving_cells.connection(REGION) as conn:
        conn.execute(
            "UPDATE fallback_documents SET expires_at = now() - interval '1 second' "
            "WHERE message_id = %s",
            (message_id,),
        )
    expired = httpx.get(link)
    assert (expired.status_code, expired.headers["x-error-code"]) == (404, "document_unavailable")
    assert b"%PDF" not in expired.content

    with serving_cells.connection(REGION) as conn:
        conn.execute(
            "UPDATE fallback_documents SET expires_at = now() + interval '1 day' "
            "WHERE message_id = %s",
            (message_id,),
        )
    assert httpx.get(link).status_code == 200
    # An erasure shreds the contact's data key: the sealed PDF can no longer be opened.
    with serving_cells.connection(REGION) as conn:
        conn.execute(
            "UPDATE contacts SET wrapped_data_key = ''::bytea WHERE contact_id = "
            "(SELECT contact_id FROM messages WHERE message_id = %s)",
            (message_id,),
        )
    erased = httpx.get(link)
    assert (erased.status_code, erased.headers["x-error-code"]) == (404, "document_unavailable")


def test_a_campaign_opts_in_to_the_fallback_channel_and_out_again(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant = tenants.org("eu")
    try:
        _opt_in_and_out(tenants, tenant, serving_cells)
    finally:
        remove_org_rows(serving_cells, [tenant.org_id])


def _opt_in_and_out(tenants: Tenants, tenant: Tenant, serving_cells: Cells) -> None:
    client = tenants.client(tenant)
    template = client.post(
        "/v1/templates", json={"name": "Invoice", "subject": "Invoice", "html": "<p>Due</p>"}
    )
    assert template.status_code == 201, template.text
    body = {
        "name": "Invoices", "campaign_type": "transactional",
        "template_id": template.json()["template_id"], "sending_domain": "mail.acme.example",
    }  # fmt: skip
    created = client.post("/v1/campaigns", json={**body, "fallback_channel": "sms"})
    assert created.status_code == 201, created.text
    campaign_id = created.json()["campaign_id"]
    assert created.json()["fallback_channel"] == "sms"
    with serving_cells.connection("control") as conn:
        row = conn.execute(
            "SELECT fallback_channel FROM campaigns WHERE campaign_id = %s", (campaign_id,)
        ).fetchone()
    assert row == ("sms",)

    out = client.patch(f"/v1/campaigns/{campaign_id}", json={"fallback_channel": None})
    assert out.status_code == 200 and out.json()["fallback_channel"] is None
    plain = client.post("/v1/campaigns", json=body)
    assert plain.status_code == 201 and plain.json()["fallback_channel"] is None
    refused = client.post("/v1/campaigns", json={**body, "fallback_channel": "fax"})
    assert refused.status_code == 422


def test_a_contacts_phone_number_is_set_sealed_and_removed_through_the_api(
    tenants: Tenants, api_settings: Settings, serving_cells: Cells
) -> None:
    tenant = tenants.org("eu")
    try:
        client = tenants.client(tenant)
        contacts = client.post(
            "/v1/contacts:import", json=[{"email": "sms.me@example.org", "country": "DE"}]
        )
        assert contacts.status_code == 200 and contacts.json()["created"] == 1, contacts.text
        with serving_cells.connection(REGION) as conn:
            row = conn.execute(
                "SELECT contact_id FROM contacts WHERE org_id = %s", (tenant.org_id,)
            ).fetchone()
        assert row is not None
        contact_id = row[0]
        path = f"/v1/contacts/{contact_id}/phone"

        stored = client.put(path, json={"phone": "0049 (151) 1234-5678"})
        assert stored.status_code == 200, stored.text
        assert stored.json() == {"contact_id": str(contact_id), "phone": "+4915112345678"}
        with serving_cells.connection(REGION) as conn:
            assert phone_of(conn, cipher_for(api_settings), contact_id) == "+4915112345678"
            sealed = conn.execute(
                "SELECT phone_ciphertext FROM contacts WHERE contact_id = %s", (contact_id,)
            ).fetchone()
        assert sealed is not None and b"12345678" not in bytes(sealed[0])

        bad = client.put(path, json={"phone": "151 1234"})
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_phone")
        missing = client.put(f"/v1/contacts/{uuid.uuid4()}/phone", json={"phone": None})
        assert (missing.status_code, missing.json()["code"]) == (404, "contact_not_found")
        removed = client.put(path, json={"phone": None})
        assert removed.status_code == 200 and removed.json()["phone"] is None
        with serving_cells.connection(REGION) as conn:
            with pytest.raises(NoFallbackRecipient):
                phone_of(conn, cipher_for(api_settings), contact_id)
    finally:
        remove_org_rows(serving_cells, [tenant.org_id])
