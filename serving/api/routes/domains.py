"""Sending-domain prechecks: SPF covers the routes' servers, a DMARC record exists, the
sending IPs are not on the configured DNSBLs (asked of DNS, cached in Redis)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from ...auth import Permission, Principal
from ...dns import DomainChecker, ResolverLookup
from ..deps import RedisDep, SettingsDep, require
from ..protobuf import ProtobufRoute
from ..responses import AUTHENTICATED, errors

router = APIRouter(
    route_class=ProtobufRoute,
    prefix="/v1/domains",
    tags=["domains"],
    responses=errors(*AUTHENTICATED),
)
Reader = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_READ))]
DOMAIN = r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
DOMAIN_PATTERN = re.compile(DOMAIN)
Verdict = Literal["pass", "fail", "error"]


def get_domain_checker(settings: SettingsDep, redis: RedisDep) -> DomainChecker:
    """The prechecks as configured: the resolver, the routes' servers, the DNSBL zones."""
    lookup = ResolverLookup(
        settings.dns_resolver_address, settings.dns_resolver_port, settings.dns_timeout_seconds
    )
    routes = {name: route.host for name, route in settings.delivery_routes.items()}
    return DomainChecker(
        lookup, routes, settings.dnsbl_zones, redis, settings.database_prefix,
        settings.domain_checks_cache_seconds,
    )  # fmt: skip


DomainCheckerDep = Annotated[DomainChecker, Depends(get_domain_checker)]


class ServerCheckPublic(BaseModel):
    route: str = Field(examples=["primary"])
    ip: str = Field(examples=["192.0.2.10"])
    result: str = Field(description="the SPF result for this server", examples=["pass"])


class ListingPublic(BaseModel):
    ip: str
    zone: str = Field(examples=["zen.spamhaus.org"])
    code: str = Field(examples=["127.0.0.2"])


class DomainChecksPublic(BaseModel):
    domain: str = Field(examples=["news.acme.example"])
    ok: bool = Field(description="every check passed")
    blocking: bool = Field(description="a check failed: campaign sends are refused")
    spf: Verdict
    spf_servers: list[ServerCheckPublic]
    dmarc: Verdict
    dmarc_record: str | None = Field(examples=["v=DMARC1; p=quarantine"])
    dnsbl: Verdict
    dnsbl_listings: list[ListingPublic]
    problems: list[str] = Field(description="what failed, in sentences")
    errors: list[str] = Field(description="what could not be checked (resolver errors)")
    checked_at: str
    cached: bool


@router.get(
    "/{domain}/checks",
    response_model=DomainChecksPublic,
    summary="SPF, DMARC and DNSBL prechecks of a sending domain",
    responses=errors(examples={422: ("invalid_domain", "'no_dots' is not a domain name")}),
)
def domain_checks(
    domain: Annotated[str, Path(max_length=253, pattern=DOMAIN)],
    principal: Reader,
    checker: DomainCheckerDep,
    fresh: bool = False,
) -> DomainChecksPublic:
    result = checker.check(domain, fresh=fresh)
    return DomainChecksPublic(**result.as_dict(), blocking=result.blocking)
