"""SPF evaluation (RFC 7208, without macros): does a domain's SPF policy authorize an IP?

Mechanisms ``all``, ``ip4``, ``ip6``, ``a``, ``mx``, ``include`` and ``exists`` and the
``redirect`` modifier are evaluated; ``ptr`` (deprecated) never matches. The terms that
cost DNS look-ups (``a``, ``mx``, ``include``, ``exists``, ``redirect``) are bounded by
``max_lookups`` across the whole evaluation, as the RFC's limit of 10 requires: a policy
past it is a ``permerror``, as receivers would judge it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from .lookup import DnsTemporaryError, Lookup

MAX_LOOKUPS = 10
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}


class SpfResult(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


class _PermError(Exception):
    pass


@dataclass
class _Budget:
    left: int
    visited: set[str] = field(default_factory=set)

    def spend(self, term: str) -> None:
        self.left -= 1
        if self.left < 0:
            raise _PermError(f"more than {MAX_LOOKUPS} DNS look-ups (at {term})")


def spf_record(lookup: Lookup, domain: str) -> str | None:
    """The domain's SPF record; None without one; ``_PermError`` with several."""
    records = [t for t in lookup.txt(domain) if t.lower().split(" ", 1)[0] == "v=spf1"]
    if len(records) > 1:
        raise _PermError(f"{domain} publishes {len(records)} SPF records")
    return records[0] if records else None


def check_host(
    lookup: Lookup, ip: str, domain: str, *, max_lookups: int = MAX_LOOKUPS
) -> tuple[SpfResult, str]:
    """The SPF result of mail from ``domain`` sent by ``ip``, with a reason."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return SpfResult.PERMERROR, f"{ip!r} is not an IP address"
    try:
        return _check(lookup, address, domain.rstrip(".").lower(), _Budget(max_lookups))
    except _PermError as exc:
        return SpfResult.PERMERROR, str(exc)
    except DnsTemporaryError as exc:
        return SpfResult.TEMPERROR, str(exc)


def _check(
    lookup: Lookup, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, domain: str, budget: _Budget
) -> tuple[SpfResult, str]:
    if domain in budget.visited:
        raise _PermError(f"{domain} includes itself")
    budget.visited.add(domain)
    record = spf_record(lookup, domain)
    if record is None:
        return SpfResult.NONE, f"{domain} has no SPF record"
    redirect = None
    for term in record.split()[1:]:
        name, sep, value = term.partition("=")
        if sep and ":" not in name and "/" not in name:
            if name.lower() == "redirect":
                redirect = value
            continue  # exp= and unknown modifiers
        qualifier = term[0] if term[0] in QUALIFIERS else "+"
        mechanism = term[1:] if term[0] in QUALIFIERS else term
        if _matches(lookup, ip, domain, mechanism, budget):
            return SpfResult(QUALIFIERS[qualifier]), f"{ip} matched {term!r} of {domain}"
    if redirect is not None:
        budget.spend("redirect=" + redirect)
        result, reason = _check(lookup, ip, redirect.lower(), budget)
        if result is SpfResult.NONE:
            raise _PermError(f"redirect to {redirect}, which has no SPF record")
        return result, reason
    return SpfResult.NEUTRAL, f"no mechanism of {domain} matched {ip}"


def _matches(
    lookup: Lookup,
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
    domain: str,
    mechanism: str,
    budget: _Budget,
) -> bool:
    kind, _, argument = mechanism.partition(":")
    kind = kind.lower()
    if kind == "all":
        return True
    if kind in ("ip4", "ip6"):
        try:
            network = ipaddress.ip_network(argument, strict=False)
        except ValueError:
            raise _PermError(f"bad network in {mechanism!r}") from None
        return ip.version == network.version and ip in network
    if kind == "include":
        budget.spend(mechanism)
        result, _ = _check(lookup, ip, argument.lower(), budget)
        if result in (SpfResult.NONE, SpfResult.PERMERROR):
            raise _PermError(f"include:{argument} has no usable SPF record")
        return result is SpfResult.PASS
    if kind.split("/", 1)[0] in ("a", "mx"):
        budget.spend(mechanism)
        return _a_or_mx(lookup, ip, domain, mechanism)
    if kind == "exists":
        budget.spend(mechanism)
        return bool(lookup.addresses(argument, 4))
    if kind == "ptr":
        return False
    raise _PermError(f"unknown mechanism {mechanism!r}")


def _a_or_mx(
    lookup: Lookup, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, domain: str, mechanism: str
) -> bool:
    """``a``/``mx`` with an optional ``:domain`` and ``/cidr4`` / ``//cidr6``."""
    head, _, cidrs = mechanism.partition("/")
    kind, _, target = head.partition(":")
    cidr4, _, cidr6 = ("/" + cidrs).partition("//") if cidrs else ("", "", "")
    try:
        prefix4 = int(cidr4.lstrip("/")) if cidr4.strip("/") else 32
        prefix6 = int(cidr6) if cidr6 else 128
    except ValueError:
        raise _PermError(f"bad prefix length in {mechanism!r}") from None
    hosts = [target or domain]
    if kind.lower() == "mx":
        hosts = lookup.mx(target or domain)[:10]
    prefix = prefix4 if ip.version == 4 else prefix6
    for host in hosts:
        for address in lookup.addresses(host, ip.version):
            network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
            if ip in network:
                return True
    return False
