"""Consent and the preference center over HTTP against a live uvicorn: opt-ins of one and
three steps through the API and the confirmation pages (a GET confirms nothing, a link
works once, an expired or forged link is refused with its reason), consent events with
the client's IP and user agent, the preference center page reached from an email (every
value escaped, no script) saving consents, topics, caps and the data expiration date, and
ingestion refusing a message of a topic the contact opted out of."""

from __future__ import annotations

import email
import email.policy
import html
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from api_kit import SendMessage, Tenant, Tenants

from compliance.consent import OptInTokens
from postwise.settings import Settings
from serving.auth import Role
from serving.client import PostwiseClient
from warehouse.db import Cells

REGION = "eu"
BROWSER = {"User-Agent": "Mozilla/5.0 (Preference test)", "X-Forwarded-For": "198.51.100.23"}


@dataclass
class Org:
    tenant: Tenant
    client: PostwiseClient
    cells: Cells

    def contact(self) -> uuid.UUID:
        contact_id = uuid.uuid4()
        with self.cells.connection(REGION) as conn:
            conn.execute(
                "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
                "wrapped_data_key, email_domain, country, region, time_zone) "
                "VALUES (%s, %s, 'x', %s, 'k', 'example.org', 'DE', %s, 'Europe/Berlin')",
                (contact_id, self.tenant.org_id, uuid.uuid4().bytes, REGION),
            )
        return contact_id


@pytest.fixture
def org(tenants: Tenants, serving_cells: Cells) -> Iterator[Org]:
    tenant = tenants.org()
    yield Org(tenant, tenants.client(tenant, Role.CAMPAIGN_MANAGER), serving_cells)
    with serving_cells.connection(REGION) as conn:
        for table in ("consent_events", "messages", "message_idempotency_keys", "contacts"):
            conn.execute(f"DELETE FROM {table} WHERE org_id = %s", (tenant.org_id,))  # noqa: S608
    with serving_cells.connection("control") as conn:
        conn.execute("DELETE FROM campaigns WHERE org_id = %s", (tenant.org_id,))


def consent(cells: Cells, contact_id: uuid.UUID) -> tuple[str, int, int] | None:
    with cells.connection(REGION) as conn:
        row = conn.execute(
            "SELECT status, opt_in_steps, steps_completed FROM consents WHERE contact_id = %s",
            (contact_id,),
        ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def events(cells: Cells, contact_id: uuid.UUID) -> list[tuple]:
    with cells.connection(REGION) as conn:
        return conn.execute(
            "SELECT action, step, source, host(ip), user_agent, policy_version "
            "FROM consent_events WHERE contact_id = %s ORDER BY consent_event_id",
            (contact_id,),
        ).fetchall()


def served(url: str, api_url: str) -> str:
    """``url`` (made with TRACKING_BASE_URL) on the API under test."""
    return api_url + url[url.index("/t/") :]


def form_action(page: str) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"', page)
    assert found, page
    return html.unescape(found.group(1))


def test_a_triple_opt_in_through_the_api_and_the_confirmation_pages(
    org: Org, serving_cells: Cells, api_url: str
) -> None:
    contact_id = org.contact()
    start = {
        "steps": 3, "source": "signup_form", "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (sign-up form)", "policy_version": "2026-05",
    }  # fmt: skip
    started = org.client.post(f"/v1/contacts/{contact_id}/opt-ins", json=start)
    assert started.status_code == 201, started.text
    body = started.json()
    assert (body["status"], body["opt_in_steps"], body["steps_completed"]) == ("pending", 3, 1)
    link = served(body["confirmation_url"], api_url)
    assert "/t/optin/" in link

    shown = httpx.get(link, headers=BROWSER)
    assert shown.status_code == 200 and '<form method="post">' in shown.text
    assert consent(serving_cells, contact_id) == ("pending", 3, 1)  # a GET confirms nothing

    step2 = httpx.post(link, headers=BROWSER)
    assert step2.status_code == 200, step2.text
    assert "Confirm your preferences" in step2.text and "<script" not in step2.text
    assert consent(serving_cells, contact_id) == ("pending", 3, 2)
    again = httpx.post(link, headers=BROWSER)
    assert again.status_code == 409 and again.headers["x-error-code"] == "used_opt_in_token"

    step3 = httpx.post(
        served(form_action(step2.text), api_url), data={"max_per_week": "4"}, headers=BROWSER
    )
    assert step3.status_code == 200 and "confirmed" in step3.text
    assert consent(serving_cells, contact_id) == ("granted", 3, 3)
    assert events(serving_cells, contact_id) == [
        ("requested", 1, "signup_form", "203.0.113.7", "Mozilla/5.0 (sign-up form)", "2026-05"),
        ("confirmed", 2, "confirmation_link", "198.51.100.23", BROWSER["User-Agent"], "v1"),
        ("preferences_confirmed", 3, "confirmation_link", "198.51.100.23",
         BROWSER["User-Agent"], "v1"),
    ]  # fmt: skip
    preferences = org.client.get(f"/v1/contacts/{contact_id}/preferences").json()
    assert preferences["max_per_week"] == 4
    assert [c["status"] for c in preferences["consents"]] == ["granted"]


def test_a_single_opt_in_is_granted_at_once_and_cannot_be_started_again(org: Org) -> None:
    contact_id = org.contact()
    path = f"/v1/contacts/{contact_id}/opt-ins"
    first = org.client.post(path, json={"steps": 1})
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["confirmation_url"]) == ("granted", None)
    second = org.client.post(path, json={"steps": 2})
    assert second.status_code == 409 and second.json()["code"] == "consent_state"
    withdrawn = org.client.post(f"/v1/contacts/{contact_id}/consents:withdraw", json={})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert org.client.post(path, json={"steps": 4}).status_code == 422
    assert org.client.post(path, json={"steps": 2, "ip": "not an ip"}).status_code == 422
    unknown = org.client.post(f"/v1/contacts/{uuid.uuid4()}/opt-ins", json={"steps": 1})
    assert unknown.status_code == 404


def test_expired_and_forged_confirmation_links_are_refused_with_their_reason(
    org: Org, api_url: str, api_settings: Settings
) -> None:
    contact_id = org.contact()
    org.client.post(f"/v1/contacts/{contact_id}/opt-ins", json={"steps": 2})
    tokens = OptInTokens(api_settings.secret_key, api_settings.opt_in_token_ttl_seconds)
    old = tokens.issue(
        contact_id=contact_id, org_id=org.tenant.org_id, region=REGION, channel="email",
        purpose="marketing", step=2, now=time.time() - api_settings.opt_in_token_ttl_seconds - 5,
    )  # fmt: skip
    expired = httpx.post(f"{api_url}/t/optin/{old}")
    assert expired.status_code == 410 and expired.headers["x-error-code"] == "expired_opt_in_token"
    assert "expired" in expired.text
    forged = OptInTokens("another secret of enough length", 3600).issue(
        contact_id=contact_id, org_id=org.tenant.org_id, region=REGION, channel="email",
        purpose="marketing", step=2,
    )  # fmt: skip
    for token in (forged, "garbage"):
        for method in ("GET", "POST"):
            refused = httpx.request(method, f"{api_url}/t/optin/{token}")
            assert refused.status_code == 400
            assert refused.headers["x-error-code"] == "invalid_opt_in_token"


def test_the_preference_center_renders_escaped_and_saves_everything(
    org: Org, serving_cells: Cells, api_url: str
) -> None:
    contact_id = org.contact()
    org.client.post(f"/v1/contacts/{contact_id}/opt-ins", json={"steps": 1})
    with serving_cells.connection("control") as conn:
        for topic in ("news", "<b>deals</b>"):
            conn.execute(
                "INSERT INTO campaigns (campaign_id, org_id, name, campaign_type, topic) "
                "VALUES (%s, %s, 'c', 'marketing', %s)",
                (uuid.uuid4(), org.tenant.org_id, topic),
            )
    answer = org.client.get(f"/v1/contacts/{contact_id}/preferences").json()
    url = served(answer["preference_center_url"], api_url)

    page = httpx.get(url, headers=BROWSER)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "&lt;b&gt;deals&lt;/b&gt;" in page.text and "<b>deals" not in page.text
    assert "<script" not in page.text
    assert 'name="consent" value="email:marketing" checked' in page.text

    saved = httpx.post(
        url,
        data={"topic": ["news"], "max_per_day": "2", "retention_months": "12"},
        headers=BROWSER,
    )
    assert saved.status_code == 200, saved.text
    assert "saved" in saved.text
    assert consent(serving_cells, contact_id) is not None
    assert consent(serving_cells, contact_id)[0] == "withdrawn"  # type: ignore[index]
    assert events(serving_cells, contact_id)[-1][:5] == (
        "withdrawn", None, "preference_center", "198.51.100.23", BROWSER["User-Agent"]
    )  # fmt: skip
    stored = org.client.get(f"/v1/contacts/{contact_id}/preferences").json()
    assert stored["topic_opt_outs"] == ["<b>deals</b>"] and stored["max_per_day"] == 2
    expected = datetime.now(UTC).date() + timedelta(days=360)
    assert stored["retention_until"] == expected.isoformat()

    bad = httpx.post(url, data={"retention_months": "600"})
    assert bad.status_code == 422
    assert httpx.get(url.rsplit("/", 1)[0] + "/forged-token").status_code == 400


def test_preferences_through_the_api_and_a_topic_opted_out_of_refuses_messages(
    org: Org,
) -> None:
    contact_id = org.contact()
    path = f"/v1/contacts/{contact_id}/preferences"
    assert org.client.put(path, json={"max_per_day": 0}).status_code == 422
    too_late = (datetime.now(UTC).date() + timedelta(days=5 * 365)).isoformat()
    refused = org.client.put(path, json={"retention_until": too_late})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_preferences"
    updated = org.client.put(path, json={"topic_opt_outs": ["promotions"], "max_per_week": 3})
    assert updated.status_code == 200, updated.text
    assert updated.json()["topic_opt_outs"] == ["promotions"]

    campaigns = {topic: str(uuid.uuid4()) for topic in ("promotions", "news")}
    with org.cells.connection("control") as conn:
        for topic, campaign_id in campaigns.items():
            conn.execute(
                "INSERT INTO campaigns (campaign_id, org_id, name, campaign_type, topic) "
                "VALUES (%s, %s, %s, 'marketing', %s)",
                (campaign_id, org.tenant.org_id, topic, topic),
            )
    address = f"pref-{uuid.uuid4().hex[:8]}@example.org"
    first = _send(org.client, address, None)  # transactional: creates the contact
    assert first["status"] == "queued", first
    contact = first["contact_id"]
    org.client.post(f"/v1/contacts/{contact}/opt-ins", json={"steps": 1})
    org.client.put(f"/v1/contacts/{contact}/preferences", json={"topic_opt_outs": ["promotions"]})
    opted_out = _send(org.client, address, campaigns["promotions"])
    assert opted_out.get("code") == "topic_opted_out", opted_out
    assert _send(org.client, address, campaigns["news"])["status"] == "queued"


def _send(client: PostwiseClient, address: str, campaign_id: str | None) -> dict:
    message = {
        "recipient": {"email": address, "country": "DE"},
        "subject": "Hello",
        "html": "<p>Hi</p>",
        "sending_domain": "mail.acme.example",
    }
    if campaign_id is not None:
        message["campaign_id"] = campaign_id
    response = client.post("/v1/messages", json=message)
    assert response.status_code in (201, 422), response.text
    return dict(response.json())


def test_every_email_links_to_the_recipient_s_preference_center(
    send_message: SendMessage,
) -> None:
    sent = send_message("eu")
    message = email.message_from_bytes(sent.raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    html_part = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    text_part = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    found = re.search(r'<a href="([^"]+/t/p/[^"]+)"', html_part)
    assert found and "/t/p/" in text_part
    page = httpx.get(html.unescape(found.group(1)))
    assert page.status_code == 200 and "Your email preferences" in page.text


def test_the_unsubscribe_link_withdraws_consent_with_its_evidence(
    send_message: SendMessage, serving_cells: Cells, api_url: str
) -> None:
    sent = send_message("eu")
    message = email.message_from_bytes(sent.raw, policy=email.policy.default)
    link = str(message["List-Unsubscribe"]).split(",")[0].strip(" <>")
    answer = httpx.post(
        served(link, api_url), data={"List-Unsubscribe": "One-Click"}, headers=BROWSER
    )
    assert answer.status_code == 200, answer.text
    assert consent(serving_cells, sent.contact_id) == ("withdrawn", 1, 0)
    assert events(serving_cells, sent.contact_id) == [
        ("withdrawn", None, "unsubscribe_link", "198.51.100.23", BROWSER["User-Agent"], "v1")
    ]
