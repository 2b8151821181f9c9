"""Spam traps at enqueue, against the live API and the real cells: a message to a feed's
trap or to a honeypot pattern is refused with ``spam_trap``, the address is suppressed with
the list as source and the hit is counted per list source; a campaign send skips, suppresses
and counts its trap contacts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from api_kit import Tenants
from campaign_kit import add_contact

from compliance.crypto import PiiCipher
from compliance.traps.store import sync
from postwise.settings import Settings
from serving.campaigns.send import Content, send_campaign
from serving.campaigns.store import Campaign
from warehouse.db import Cells


def message(email: str) -> dict[str, Any]:
    return {
        "recipient": {"email": email, "country": "DE"},
        "subject": "Hello",
        "html": "<p>Hi</p>",
        "sending_domain": "mail.acme.example",
    }


def hits(cells: Cells, region: str, org_id: uuid.UUID) -> dict[tuple[str, str], int]:
    with cells.connection(region) as conn:
        rows = conn.execute(
            "SELECT source, kind, hits FROM spam_trap_hits WHERE org_id = %s", (org_id,)
        ).fetchall()
    return {(source, kind): count for source, kind, count in rows}


def suppression(cells: Cells, region: str, org_id: uuid.UUID, index: bytes) -> tuple[str, str]:
    with cells.connection(region) as conn:
        row = conn.execute(
            "SELECT reason, source FROM suppressions WHERE org_id = %s AND email_blind_index = %s",
            (org_id, index),
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_messages_to_traps_are_refused_suppressed_and_counted_per_source(
    tenants: Tenants, serving_cells: Cells, api_settings: Settings
) -> None:
    cipher = PiiCipher.from_settings(api_settings.key_encryption_key, api_settings.blind_index_key)
    source = f"vendor-{uuid.uuid4().hex[:8]}"
    trap = f"old-{uuid.uuid4().hex[:8]}@recycled.example"
    with serving_cells.connection("eu") as conn:
        sync(conn, cipher, [trap], source, actor="test", region="eu")
    tenant = tenants.org()
    client = tenants.client(tenant)

    fed = client.post("/v1/messages", json=message(trap))
    again = client.post("/v1/messages", json=message(trap.upper()))
    role = client.post("/v1/messages", json=message("abuse@shop.example"))
    disposable = client.post("/v1/messages", json=message("ada@mailinator.com"))
    clean = client.post("/v1/messages", json=message("ada@example.org"))

    for refused in (fed, again, role, disposable):
        assert (refused.status_code, refused.json()["code"]) == (422, "spam_trap"), refused.text
    assert source in fed.json()["detail"]
    assert clean.status_code == 201, clean.text
    assert suppression(serving_cells, "eu", tenant.org_id, cipher.blind_index(trap)) == (
        "spam_trap",
        source,
    )
    assert suppression(
        serving_cells, "eu", tenant.org_id, cipher.blind_index("abuse@shop.example")
    )[1] == ("postwise:role_local_parts")
    assert hits(serving_cells, "eu", tenant.org_id) == {
        (source, "feed"): 2,
        ("postwise:role_local_parts", "role"): 1,
        ("disposable-email-domains", "disposable_domain"): 1,
    }
    with serving_cells.connection("eu") as conn:
        contacts = conn.execute(
            "SELECT count(*) FROM contacts WHERE org_id = %s", (tenant.org_id,)
        ).fetchone()
    assert contacts == (1,)  # no contact was made for a trap


def test_a_campaign_send_skips_suppresses_and_counts_trap_contacts(
    tenants: Tenants, serving_cells: Cells
) -> None:
    tenant = tenants.org()
    wanted = add_contact(serving_cells, tenant.org_id, "eu")
    fed = add_contact(serving_cells, tenant.org_id, "eu")
    typo = add_contact(serving_cells, tenant.org_id, "eu")
    source = f"vendor-{uuid.uuid4().hex[:8]}"
    with serving_cells.connection("eu") as conn:
        conn.execute(
            "UPDATE contacts SET email_domain = 'gmial.com' WHERE contact_id = %s", (typo,)
        )
        fed_index = bytes(
            conn.execute(
                "SELECT email_blind_index FROM contacts WHERE contact_id = %s", (fed,)
            ).fetchone()[0]  # type: ignore[index]
        )
        # The feed names the contact by its blind index, as a feed of its address would.
        conn.execute(
            "INSERT INTO spam_traps (email_blind_index, source, kind) VALUES (%s, %s, 'feed')",
            (fed_index, source),
        )
    now = datetime.now(UTC)
    campaign = Campaign(
        uuid.uuid4(), tenant.org_id, "Autumn", "marketing", None, 1, None, [], "now", 0.0,
        "sending", None, "news.acme.example", {}, now, now, None,
    )  # fmt: skip

    report = send_campaign(serving_cells, campaign, Content(1), now)
    again = send_campaign(serving_cells, campaign, Content(1), now)

    assert (report.queued, dict(report.skipped)) == (1, {"spam_trap": 2})
    assert dict(again.skipped) == {"suppressed": 2}  # suppressed now, and not counted twice
    assert suppression(serving_cells, "eu", tenant.org_id, fed_index) == ("spam_trap", source)
    assert hits(serving_cells, "eu", tenant.org_id) == {
        (source, "feed"): 1,
        ("postwise:typo_domains", "typo"): 1,
    }
    with serving_cells.connection("eu") as conn:
        queued = conn.execute(
            "SELECT contact_id FROM messages WHERE campaign_id = %s", (campaign.campaign_id,)
        ).fetchall()
        for table in ("messages", "message_idempotency_keys", "suppressions", "contacts"):
            conn.execute(f"DELETE FROM {table} WHERE org_id = %s", (tenant.org_id,))  # noqa: S608
    assert queued == [(wanted,)]
