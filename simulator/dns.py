"""The outside world's DNS: a small authoritative server on loopback (UDP, dnspython's
message parsing) answering for the records it is given, so the API's sending-domain
prechecks (SPF, DMARC, block lists) have real answers in demos and tests.

:func:`sender_records` gives the records a well-configured sender publishes.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class DnsServer:
    """Answers queries for its records authoritatively: NXDOMAIN for names it has no
    record of, an empty answer for other types of a known name."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, int], list[str]] = {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.address, self.port = self._sock.getsockname()
        self.queries: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns", daemon=True)

    def add(self, name: str, kind: str, *values: str) -> None:
        key = (_absolute(name), dns.rdatatype.from_text(kind))
        self._records.setdefault(key, []).extend(values)

    def clear(self) -> None:
        self._records.clear()
        self.queries.clear()

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(wire)
            except dns.exception.DNSException:
                continue
            self._sock.sendto(self._answer(query).to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().lower()
        self.queries.append((name, dns.rdatatype.to_text(question.rdtype)))
        values = self._records.get((name, question.rdtype))
        if values:
            response.answer.append(
                dns.rrset.from_text(name, 60, dns.rdataclass.IN, question.rdtype, *values)
            )
        elif not any(known == name for known, _ in self._records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response


def _absolute(name: str) -> str:
    return name.lower().rstrip(".") + "."


def sender_records(server: DnsServer, domains: Iterable[str]) -> None:
    """SPF allowing loopback (where the simulated providers send from) and an enforcing
    DMARC policy for each of ``domains``."""
    for domain in domains:
        server.add(domain, "TXT", '"v=spf1 ip4:127.0.0.0/8 -all"')
        server.add(f"_dmarc.{domain}", "TXT", '"v=DMARC1; p=reject"')
