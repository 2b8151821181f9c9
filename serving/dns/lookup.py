"""DNS look-ups through a configurable resolver (dnspython), behind a small protocol the
checks are written against.

``Lookup`` answers TXT strings, addresses and MX hosts of a name; an empty answer means
the name or the record type does not exist (NXDOMAIN, NODATA). A resolver that cannot
answer (timeout, SERVFAIL, no nameserver) raises :class:`DnsTemporaryError`.
"""

from __future__ import annotations

from typing import Protocol

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver


class DnsTemporaryError(Exception):
    """The resolver could not answer now; the check may succeed later."""


class Lookup(Protocol):
    def txt(self, name: str) -> list[str]: ...

    def addresses(self, name: str, family: int) -> list[str]: ...

    def mx(self, name: str) -> list[str]: ...


class ResolverLookup:
    """:class:`Lookup` through a dnspython resolver: the system's (``address`` None) or the
    nameserver at ``address``:``port``."""

    def __init__(self, address: str | None, port: int = 53, timeout: float = 2.0) -> None:
        if address:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [address]
            resolver.port = port
        else:
            resolver = dns.resolver.Resolver()
        resolver.timeout = timeout
        resolver.lifetime = timeout
        resolver.cache = None  # the checks are cached as a whole, in Redis
        self._resolver = resolver

    def txt(self, name: str) -> list[str]:
        return [
            b"".join(rdata.strings).decode("utf-8", "replace")
            for rdata in self._query(name, dns.rdatatype.TXT)
        ]

    def addresses(self, name: str, family: int) -> list[str]:
        kind = dns.rdatatype.A if family == 4 else dns.rdatatype.AAAA
        return [rdata.address for rdata in self._query(name, kind)]

    def mx(self, name: str) -> list[str]:
        answers = sorted(self._query(name, dns.rdatatype.MX), key=lambda r: r.preference)
        return [rdata.exchange.to_text(omit_final_dot=True) for rdata in answers]

    def _query(self, name: str, kind: dns.rdatatype.RdataType) -> list:
        try:
            answer = self._resolver.resolve(name, kind, search=False, raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.name.EmptyLabel, dns.name.LabelTooLong):
            return []
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            raise DnsTemporaryError(f"{name} {kind.name}: {exc}") from None
        except dns.exception.DNSException as exc:
            raise DnsTemporaryError(f"{name} {kind.name}: {exc}") from None
        return list(answer.rrset or ())


class RunLookup:
    """One check run's look-ups: each question asked once, and after the resolver failed
    to answer once, every further question fails at once, so a dead resolver costs one
    timeout per run rather than one per question."""

    def __init__(self, inner: Lookup) -> None:
        self._inner = inner
        self._answers: dict[tuple[str, str, int], list[str]] = {}
        self._failure: DnsTemporaryError | None = None

    def txt(self, name: str) -> list[str]:
        return self._ask("txt", name, 0)

    def addresses(self, name: str, family: int) -> list[str]:
        return self._ask("addresses", name, family)

    def mx(self, name: str) -> list[str]:
        return self._ask("mx", name, 0)

    def _ask(self, kind: str, name: str, family: int) -> list[str]:
        key = (kind, name.lower(), family)
        if key in self._answers:
            return self._answers[key]
        if self._failure is not None:
            raise DnsTemporaryError(f"{name}: not asked, the resolver failed before")
        try:
            if kind == "txt":
                found = self._inner.txt(name)
            elif kind == "mx":
                found = self._inner.mx(name)
            else:
                found = self._inner.addresses(name, family)
        except DnsTemporaryError as exc:
            self._failure = exc
            raise
        self._answers[key] = found
        return found
