"""Residency end to end through the API: everything about an EU recipient (contact, consent
and its evidence, preferences, messages, events, audit entries) is written to the EU cell
and to no other database; a US recipient's data likewise stays in the NA cell."""

from __future__ import annotations

import uuid

from api_kit import Tenants
from data_search import search_everything

from compliance.crypto import cipher_for
from compliance.subjects import subject_ref
from postwise.settings import Settings
from serving.auth import Role
from warehouse.db import Cells


def message_to(email: str, country: str) -> dict:
    return {
        "recipient": {"email": email, "country": country, "name": "Resident"},
        "subject": "Hello",
        "html": "<p>Hello</p>",
        "sending_domain": "mail.acme.example",
        "campaign_type": "transactional",
    }


def test_an_eu_recipient_s_data_lands_only_in_the_eu_cell(
    tenants: Tenants, serving_cells: Cells, api_settings: Settings
) -> None:
    tenant = tenants.org("na")  # an American organization mailing Europeans
    client = tenants.client(tenant, Role.CAMPAIGN_MANAGER)
    cipher = cipher_for(api_settings)
    tag = uuid.uuid4().hex[:10]
    people = {
        "eu": (f"eu-resident-{tag}@example.org", "DE"),
        "na": (f"us-resident-{tag}@example.com", "US"),
    }
    found_ids: dict[str, dict[str, str]] = {}
    for region, (email, country) in people.items():
        sent = client.post("/v1/messages", json=message_to(email, country))
        assert sent.status_code == 201, sent.text
        assert sent.json()["region"] == region
        contact_id = sent.json()["contact_id"]
        opted = client.post(f"/v1/contacts/{contact_id}/opt-ins", json={"steps": 1})
        assert opted.status_code in (200, 201), opted.text
        saved = client.put(
            f"/v1/contacts/{contact_id}/preferences",
            json={"topic_opt_outs": ["offers"], "max_per_week": 3},
        )
        assert saved.status_code == 200, saved.text
        blind_index = cipher.blind_index(email)
        found_ids[region] = {
            "email": email,
            "contact id": contact_id,
            "message id": sent.json()["message_id"],
            "blind index": blind_index.hex(),
            "subject reference": subject_ref(blind_index),
        }
    imported = client.post(
        "/v1/contacts:import",
        content=f"email,country,consent\nfr-{tag}@example.org,FR,granted\n".encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.status_code == 200 and imported.json()["created"] == 1, imported.text

    eu = search_everything(serving_cells, found_ids["eu"])
    assert eu, "the EU recipient's data must be somewhere"
    assert {where.split(":")[0] for where in eu} == {"eu"}, eu
    assert {"eu:public.contacts", "eu:public.messages", "eu:public.consents",
            "eu:public.consent_events", "eu:public.contact_preferences",
            "eu:public.audit_log"} <= set(eu)  # fmt: skip
    assert not any("email" in hits for hits in eu.values())  # sealed, never in plaintext
    na = search_everything(serving_cells, found_ids["na"])
    assert {where.split(":")[0] for where in na} == {"na"}, na
    french = search_everything(
        serving_cells, {"blind index": cipher.blind_index(f"fr-{tag}@example.org").hex()}
    )
    assert set(french) == {"eu:public.contacts"}, french
