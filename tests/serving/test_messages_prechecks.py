"""POST /v1/messages runs the sending-domain prechecks campaign sends run (asked of the
loopback DNS server of the serving tests, cached in Redis): a definite failure refuses the
message with ``sending_domain_failed_checks``, a resolver that does not answer does not;
accepted messages count in the live per-minute ``sent`` counters."""

from __future__ import annotations

import uuid
from typing import Any

import redis
from api_kit import Tenants
from campaign_kit import own_api

from postwise.settings import Settings
from serving.limits.counters import LiveCounters
from simulator.dns import DnsServer
from warehouse.db import Cells


def message(domain: str = "mail.acme.example", **extra: Any) -> dict[str, Any]:
    return {
        "recipient": {"email": f"p-{uuid.uuid4().hex[:10]}@example.org", "country": "DE"},
        "subject": "Hello",
        "html": "<p>Hi</p>",
        "sending_domain": domain,
        **extra,
    }


def sent(settings: Settings, org_id: uuid.UUID) -> int:
    client = redis.Redis.from_url(str(settings.redis_url))
    try:
        return sum(count for _, count in LiveCounters(client, settings.database_prefix).read(
            "sent", org_id, minutes=2
        ))  # fmt: skip
    finally:
        client.close()


def test_accepted_messages_count_in_the_live_sent_counter(
    tenants: Tenants, api_settings: Settings
) -> None:
    org = tenants.org()
    client = tenants.client(org)
    keyed = message(idempotency_key="receipt-1")

    assert client.post("/v1/messages", json=keyed).status_code == 201
    assert sent(api_settings, org.org_id) == 1
    batch = {"messages": [message(), keyed, message(), message("bad@domain")]}
    assert client.post("/v1/messages", json=batch).status_code == 422  # counts nothing
    assert sent(api_settings, org.org_id) == 1

    answer = client.post("/v1/messages", json={"messages": batch["messages"][:3]}).json()
    assert (answer["accepted"], answer["existing"]) == (2, 1)
    assert sent(api_settings, org.org_id) == 3  # the repeat of receipt-1 is not a new send


def test_a_sending_domain_failing_its_prechecks_is_refused(
    tenants: Tenants, api_dns: DnsServer, api_settings: Settings
) -> None:
    domain = f"nodmarc-{uuid.uuid4().hex[:8]}.example"
    api_dns.add(domain, "TXT", '"v=spf1 ip4:127.0.0.0/8 -all"')  # SPF passes, no DMARC
    org = tenants.org()
    client = tenants.client(org)

    refused = client.post("/v1/messages", json=message(domain))
    asked = [name for name, _ in api_dns.queries if domain in name]
    batch = client.post("/v1/messages", json={"messages": [message(domain), message()]}).json()

    assert refused.status_code == 422
    assert refused.json()["code"] == "sending_domain_failed_checks"
    assert "(dmarc)" in refused.json()["detail"] and f"_dmarc.{domain}" in refused.json()["detail"]
    assert [r["outcome"] for r in batch["results"]] == ["rejected", "accepted"]
    assert batch["results"][0]["code"] == "sending_domain_failed_checks"
    assert [name for name, _ in api_dns.queries if domain in name] == asked  # from the cache
    assert sent(api_settings, org.org_id) == 1


def test_a_resolver_that_does_not_answer_does_not_block_a_message(
    api_settings: Settings, serving_cells: Cells
) -> None:
    silent = api_settings.model_copy(
        update={
            "dns_resolver_address": "127.0.0.1",
            "dns_resolver_port": 9,  # discard: nobody answers
            "dns_timeout_seconds": 0.2,
        }
    )
    with own_api(silent, serving_cells) as (_, tenants):
        client = tenants.client(tenants.org())
        accepted = client.post("/v1/messages", json=message("quiet.acme.example"))

    assert accepted.status_code == 201, accepted.text
