"""Honeypot patterns shipped as data (``data/*.txt``, each file's header states its source
and licence): role local parts, typo domains of large mailbox providers, recycled domains
of shut-down mail services and disposable-mail domains.

They match on the plaintext address (the local part) or on its domain, so they are checked
wherever the address is at hand (API ingestion, imports) and, by domain alone, where only
the contact's stored ``email_domain`` is (campaign sends).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources

# Source names under which hits on the shipped lists are counted and suppressed.
ROLE_SOURCE = "postwise:role_local_parts"
TYPO_SOURCE = "postwise:typo_domains"
RECYCLED_SOURCE = "postwise:recycled_domains"
DISPOSABLE_SOURCE = "disposable-email-domains"


@dataclass(frozen=True)
class TrapMatch:
    """Why an address is a trap: the list ``source`` that names it and its ``kind``."""

    source: str
    kind: str


def entries(lines: Iterable[str]) -> Iterator[str]:
    """The entries of a list file: lower-cased, without ``#`` comments and blank lines."""
    for line in lines:
        entry = line.split("#", 1)[0].strip().lower()
        if entry:
            yield entry


def _data_file(name: str) -> frozenset[str]:
    text = resources.files("compliance.traps").joinpath("data").joinpath(name).read_text("utf-8")
    return frozenset(entries(text.splitlines()))


@dataclass(frozen=True)
class Honeypots:
    """The pattern lists, as sets; :func:`shipped_honeypots` loads the repository's."""

    role_local_parts: frozenset[str]
    typo_domains: frozenset[str]
    recycled_domains: frozenset[str]
    disposable_domains: frozenset[str]

    def match_domain(self, domain: str) -> TrapMatch | None:
        """The domain-level list naming ``domain`` (its parent domains included), or None."""
        labels = domain.strip().lower().rstrip(".").split(".")
        for start in range(len(labels) - 1):
            candidate = ".".join(labels[start:])
            if candidate in self.typo_domains:
                return TrapMatch(TYPO_SOURCE, "typo")
            if candidate in self.recycled_domains:
                return TrapMatch(RECYCLED_SOURCE, "recycled_domain")
            if candidate in self.disposable_domains:
                return TrapMatch(DISPOSABLE_SOURCE, "disposable_domain")
        return None

    def match_address(self, address: str) -> TrapMatch | None:
        """The list naming ``address`` by its local part (a ``+tag`` ignored) or domain."""
        local, _, domain = address.strip().lower().rpartition("@")
        if local.split("+", 1)[0] in self.role_local_parts:
            return TrapMatch(ROLE_SOURCE, "role")
        return self.match_domain(domain)


@functools.cache
def shipped_honeypots() -> Honeypots:
    """The lists shipped in ``compliance/traps/data`` (read once per process)."""
    return Honeypots(
        role_local_parts=_data_file("role_local_parts.txt"),
        typo_domains=_data_file("typo_domains.txt"),
        recycled_domains=_data_file("recycled_domains.txt"),
        disposable_domains=_data_file("disposable_domains.txt"),
    )
