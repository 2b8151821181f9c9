"""Sending-domain prechecks against a small authoritative DNS server on loopback: SPF
covering the routes' servers, DMARC presence, DNSBL listings, the Redis cache, and the
GET /v1/domains/{domain}/checks route on a live API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from api_kit import Tenants
from campaign_kit import own_api

from postwise.settings import Settings
from serving.auth import Role
from serving.dns import DomainChecker, ResolverLookup
from simulator.dns import DnsServer
from warehouse.db import Cells

ROUTES = {"primary": "127.0.0.1", "frankfurt": "smtp.esp.example"}


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture(autouse=True)
def zones(dns_server: DnsServer) -> Iterator[DnsServer]:
    dns_server.clear()
    dns_server.add("good.example", "TXT", '"v=spf1 ip4:127.0.0.0/8 include:esp.example -all"')
    dns_server.add("esp.example", "TXT", '"v=spf1 a:smtp.esp.example -all"')
    dns_server.add("smtp.esp.example", "A", "192.0.2.25")
    dns_server.add("_dmarc.good.example", "TXT", '"v=DMARC1; p=quarantine"')
    dns_server.add("narrow.example", "TXT", '"v=spf1 ip4:127.0.0.1 -all"')
    dns_server.add("_dmarc.narrow.example", "TXT", '"v=DMARC1; p=none"')
    yield dns_server


def checker(dns_server: DnsServer, cache: redis.Redis | None = None, **kw: object) -> DomainChecker:
    lookup = ResolverLookup(dns_server.address, dns_server.port, timeout=1.0)
    prefix = f"pwt_prechecks_{uuid.uuid4().hex[:12]}"  # no cache shared between runs
    return DomainChecker(lookup, ROUTES, ("bl.test",), cache, prefix, 60)


def test_a_domain_whose_spf_covers_every_route_passes(dns_server: DnsServer) -> None:
    result = checker(dns_server).run("good.example")

    assert (result.spf, result.dmarc, result.dnsbl) == ("pass", "pass", "pass")
    assert {(s.route, s.ip, s.result) for s in result.spf_servers} == {
        ("primary", "127.0.0.1", "pass"),
        ("frankfurt", "192.0.2.25", "pass"),
    }
    assert result.dmarc_record == "v=DMARC1; p=quarantine"
    assert not result.blocking and result.as_dict()["ok"]


def test_spf_not_covering_a_route_or_no_dmarc_fails(dns_server: DnsServer) -> None:
    narrow = checker(dns_server).run("narrow.example")
    bare = checker(dns_server).run("bare.example")

    assert narrow.spf == "fail" and narrow.blocking
    assert "frankfurt (192.0.2.25): fail" in narrow.problems[0]
    assert (bare.spf, bare.dmarc) == ("fail", "fail")
    assert any("_dmarc.bare.example" in p for p in bare.problems)


def test_a_listed_sending_ip_fails_the_dnsbl_check(dns_server: DnsServer) -> None:
    dns_server.add("25.2.0.192.bl.test", "A", "127.0.0.2")

    result = checker(dns_server).run("good.example")

    assert result.dnsbl == "fail" and result.blocking
    assert [(x.ip, x.zone, x.code) for x in result.dnsbl_listings] == [
        ("192.0.2.25", "bl.test", "127.0.0.2")
    ]
    assert ("25.2.0.192.bl.test.", "A") in dns_server.queries


def test_results_are_cached_in_redis_until_asked_fresh(
    dns_server: DnsServer, redis_client: redis.Redis
) -> None:
    cached = checker(dns_server, redis_client)
    first = cached.check("good.example")
    dns_server.queries.clear()

    second = cached.check("good.example")
    assert second.cached and not first.cached
    assert dns_server.queries == []
    assert second.as_dict() == {**first.as_dict(), "cached": True}
    assert not cached.check("good.example", fresh=True).cached
    assert dns_server.queries


def test_an_unreachable_resolver_is_an_error_not_a_failure() -> None:
    lookup = ResolverLookup("127.0.0.1", 9, timeout=0.3)  # discard port: nobody answers
    result = DomainChecker(lookup, {"primary": "127.0.0.1"}, ("bl.test",), None, "x", 60).run(
        "good.example"
    )

    assert (result.spf, result.dmarc, result.dnsbl) == ("error", "error", "error")
    assert not result.blocking and result.errors


@pytest.fixture(scope="module")
def api(
    api_settings: Settings, serving_cells: Cells, dns_server: DnsServer
) -> Iterator[tuple[str, Tenants]]:
    settings = api_settings.model_copy(
        update={
            "dns_resolver_address": dns_server.address,
            "dns_resolver_port": dns_server.port,
            "dnsbl_zones": ("bl.test",),
        }
    )
    with own_api(settings, serving_cells) as served:
        yield served


def test_the_checks_route_answers_for_any_role(api: tuple[str, Tenants]) -> None:
    _, tenants = api
    analyst = tenants.client(tenants.org(), Role.ANALYST)

    good = analyst.get("/v1/domains/good.example/checks")
    bare = analyst.get("/v1/domains/bare.example/checks")
    invalid = analyst.get("/v1/domains/not_a_domain/checks")

    assert good.status_code == 200, good.text
    assert good.json()["ok"] and not good.json()["blocking"]
    assert bare.json()["blocking"] and bare.json()["dmarc"] == "fail"
    assert invalid.status_code == 422
