"""Sending-domain prechecks: SPF covers the routes' servers, a DMARC record exists, and
the sending IPs are not listed on the configured DNSBLs.

Each check ends ``pass``, ``fail`` or ``error`` (the resolver could not answer: not the
sender's fault, so it does not block a send on its own). Results are cached in Redis
under the domain and a digest of what was checked, so a configuration change is never
answered from an old result.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis

from .lookup import DnsTemporaryError, Lookup, RunLookup
from .spf import SpfResult, check_host

log = logging.getLogger(__name__)
PASS, FAIL, ERROR = "pass", "fail", "error"


@dataclass(frozen=True)
class ServerCheck:
    route: str
    ip: str
    result: str  # an SpfResult value


@dataclass(frozen=True)
class Listing:
    ip: str
    zone: str
    code: str


@dataclass
class DomainChecks:
    """The outcome of the prechecks of one sending domain."""

    domain: str
    spf: str
    spf_servers: list[ServerCheck]
    dmarc: str
    dmarc_record: str | None
    dnsbl: str
    dnsbl_listings: list[Listing]
    problems: list[str]
    checked_at: str
    cached: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        """A definite failure (not a resolver error): sending would hurt delivery."""
        return FAIL in (self.spf, self.dmarc, self.dnsbl)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": not self.problems and not self.errors}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DomainChecks:
        values = {k: v for k, v in data.items() if k != "ok"}
        values["spf_servers"] = [ServerCheck(**s) for s in values["spf_servers"]]
        values["dnsbl_listings"] = [Listing(**s) for s in values["dnsbl_listings"]]
        return cls(**values)


class DomainChecker:
    """Runs and caches the prechecks; ``routes`` maps route names to their server hosts
    (names or IP literals), ``zones`` are the DNSBL zones."""

    def __init__(
        self,
        lookup: Lookup,
        routes: Mapping[str, str],
        zones: Sequence[str],
        cache: redis.Redis | None,
        prefix: str,
        ttl_seconds: int,
    ) -> None:
        self._lookup = lookup
        self._routes = dict(routes)
        self._zones = tuple(zones)
        self._cache = cache
        self._ttl = ttl_seconds
        digest = hashlib.sha256(json.dumps([sorted(self._routes.items()), self._zones]).encode())
        self._key_prefix = f"{prefix}:domain-checks:{digest.hexdigest()[:16]}"

    def check(self, domain: str, *, fresh: bool = False) -> DomainChecks:
        """The checks of ``domain``: from the cache unless ``fresh`` or expired."""
        domain = domain.rstrip(".").lower()
        key = f"{self._key_prefix}:{domain}"
        if not fresh and (cached := self._cached(key)) is not None:
            return cached
        result = self.run(domain)
        if self._cache is not None:
            try:
                self._cache.set(key, json.dumps(result.as_dict()), ex=self._ttl)
            except redis.RedisError as exc:  # a cache miss next time, nothing worse
                log.warning("domain checks not cached: %s", exc)
        return result

    def _cached(self, key: str) -> DomainChecks | None:
        if self._cache is None:
            return None
        try:
            raw = self._cache.get(key)
        except redis.RedisError as exc:
            log.warning("domain checks cache unavailable: %s", exc)
            return None
        if raw is None:
            return None
        found = DomainChecks.from_dict(json.loads(raw))
        found.cached = True
        return found

    def run(self, domain: str) -> DomainChecks:
        """The checks of ``domain``, asked of DNS now."""
        return _Run(RunLookup(self._lookup), self._routes, self._zones).run(domain)


class _Run:
    """One run of the checks over one :class:`RunLookup`."""

    def __init__(self, lookup: Lookup, routes: dict[str, str], zones: tuple[str, ...]) -> None:
        self._lookup = lookup
        self._routes = routes
        self._zones = zones

    def run(self, domain: str) -> DomainChecks:
        problems: list[str] = []
        errors: list[str] = []
        servers, server_errors = self._servers()
        errors += server_errors
        spf_results = [
            ServerCheck(r, ip, check_host(self._lookup, ip, domain)[0]) for r, ip in servers
        ]
        spf = _verdict([SpfResult(s.result) for s in spf_results])
        if spf == FAIL:
            bad = sorted(
                {f"{s.route} ({s.ip}): {s.result}" for s in spf_results if s.result != "pass"}
            )
            problems.append(f"the SPF record of {domain} does not authorize {', '.join(bad)}")
        elif spf == ERROR:
            errors.append(f"SPF of {domain} could not be evaluated: the resolver did not answer")
        dmarc, record = self._dmarc(domain, problems, errors)
        listings, dnsbl = self._dnsbl(sorted({ip for _, ip in servers}), problems, errors)
        return DomainChecks(
            domain=domain,
            spf=spf,
            spf_servers=spf_results,
            dmarc=dmarc,
            dmarc_record=record,
            dnsbl=dnsbl,
            dnsbl_listings=listings,
            problems=problems,
            errors=errors,
            checked_at=datetime.now(UTC).isoformat(),
        )

    def _servers(self) -> tuple[list[tuple[str, str]], list[str]]:
        servers: list[tuple[str, str]] = []
        errors: list[str] = []
        for route, host in sorted(self._routes.items()):
            try:
                servers.append((route, str(ipaddress.ip_address(host))))
                continue
            except ValueError:
                pass
            try:
                found = self._lookup.addresses(host, 4) + self._lookup.addresses(host, 6)
            except DnsTemporaryError as exc:
                errors.append(f"route {route}: {exc}")
                continue
            servers += [(route, ip) for ip in found]
        return servers, errors

    def _dmarc(self, domain: str, problems: list[str], errors: list[str]) -> tuple[str, str | None]:
        try:
            records = [
                t for t in self._lookup.txt(f"_dmarc.{domain}") if t.lower().startswith("v=dmarc1")
            ]
        except DnsTemporaryError as exc:
            errors.append(f"DMARC: {exc}")
            return ERROR, None
        if len(records) != 1:
            problems.append(
                f"_dmarc.{domain} has {'no' if not records else 'more than one'} DMARC record"
            )
            return FAIL, None
        return PASS, records[0]

    def _dnsbl(
        self, ips: list[str], problems: list[str], errors: list[str]
    ) -> tuple[list[Listing], str]:
        listings: list[Listing] = []
        failed = False
        for ip in ips:
            reversed_name = ipaddress.ip_address(ip).reverse_pointer.rsplit(".", 2)[0]
            for zone in self._zones:
                try:
                    codes = self._lookup.addresses(f"{reversed_name}.{zone}", 4)
                except DnsTemporaryError as exc:
                    errors.append(f"DNSBL {zone}: {exc}")
                    failed = True
                    continue
                if codes:
                    listings.append(Listing(ip, zone, codes[0]))
        for listing in listings:
            problems.append(f"{listing.ip} is listed on {listing.zone} ({listing.code})")
        return listings, FAIL if listings else (ERROR if failed else PASS)


def _verdict(results: list[SpfResult]) -> str:
    if not results:
        return ERROR
    if any(r is SpfResult.TEMPERROR for r in results):
        return ERROR
    return PASS if all(r is SpfResult.PASS for r in results) else FAIL
