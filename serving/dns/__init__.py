"""Sending-domain prechecks over DNS: SPF evaluation, DMARC presence and DNSBL listings,
asked through a configurable resolver and cached in Redis."""

from .checks import DomainChecker, DomainChecks, Listing, ServerCheck
from .lookup import DnsTemporaryError, Lookup, ResolverLookup
from .spf import SpfResult, check_host

__all__ = [
    "DnsTemporaryError",
    "DomainChecker",
    "DomainChecks",
    "Listing",
    "Lookup",
    "ResolverLookup",
    "ServerCheck",
    "SpfResult",
    "check_host",
]
