"""Machine opens and clicks, told from people's at the tracking endpoints (pure rules).

A hit is flagged ``is_bot`` (and kept, never dropped) when any rule below matches; every
matching rule's name goes into the event's ``bot_reasons``. The rules use only what the
endpoint observes, and they agree with the warehouse's own classification
(``dbt/models/intermediate/int_event_classification.sql``, whose ``ingest_flag`` rule trusts
this flag): the same networks, the same scanner window, Gmail's image proxy treated the same.

1. ``honeypot`` - a click on the hidden link every message carries (``display:none``, no
   text): people never see it, link scanners follow every ``href``.
2. ``known_scanner`` - the same client (address and user agent) clicked a honeypot within
   the scanner memory (an hour by default): the rest of its burst is the scanner too.
3. ``scanner_user_agent`` - the user agent names a mail-security scanner, link-preview
   fetcher, crawler or HTTP library (Barracuda, Mimecast, Proofpoint, Symantec, Trend Micro,
   Cisco IronPort, Forcepoint, Sophos, Zscaler, Microsoft Safe Links / Defender, curl,
   python-requests, HeadlessChrome, ...), or there is none at all.
4. ``apple_mpp_user_agent`` - the user agent is exactly ``Mozilla/5.0``: Apple Mail Privacy
   Protection prefetching the pixel, whether or not the person ever reads the message.
5. ``apple_proxy_ip`` - the client address is in Apple's 17.0.0.0/8 (MPP's proxies).
6. ``head_request`` - a HEAD request: scanners check links, browsers fetch them.
7. ``prefetch`` - the request says it is a prefetch (``Sec-Purpose``/``Purpose``/``X-Moz``).
8. ``datacenter_ip`` - the client address is in a cloud or mail-security network (Microsoft
   Azure and Exchange Online Protection / Safe Links / Defender, AWS, Google Cloud,
   Proofpoint, Mimecast, Barracuda): people do not read mail from there, gateways do.
9. ``seconds_after_delivery`` - the hit came less than ``scanner_window_seconds`` (10 s by
   default) after delivery: nobody reads that fast, gateways scan on arrival.

Gmail's image proxy (``GoogleImageProxy``, 66.249.64.0/19) fetches the pixel when the person
opens the message, so its opens are people's: rules 4-9 do not apply to it (its address is
deliberately absent from the datacenter networks); only the honeypot and scanner rules do.
Known limitation: a scanner's clicks that arrive *before* its honeypot click are caught only by
the other rules (events are not rewritten afterwards); the warehouse's ``click_burst`` rule
looks at the whole burst.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

# Keep in sync with var machine_traffic in dbt/dbt_project.yml (a test compares them).
SCANNER_WINDOW_SECONDS = 10.0
APPLE_PROXY_NETWORKS: tuple[str, ...] = ("17.0.0.0/8",)
DATACENTER_NETWORKS: tuple[str, ...] = (
    # Microsoft Azure, Exchange Online Protection, Safe Links / Defender detonation
    "13.64.0.0/11", "13.104.0.0/14", "20.0.0.0/8", "40.64.0.0/10", "52.96.0.0/12",
    "104.40.0.0/13", "104.208.0.0/13", "137.116.0.0/15", "191.232.0.0/13",
    # Amazon Web Services
    "3.0.0.0/9", "18.128.0.0/9", "34.192.0.0/10", "44.192.0.0/10", "52.0.0.0/11",
    "54.64.0.0/11",
    # Google Cloud (not Gmail's image proxy)
    "34.64.0.0/10", "35.184.0.0/13",
    # Proofpoint, Mimecast, Barracuda
    "148.163.128.0/17", "67.231.144.0/20", "205.139.110.0/24", "207.211.30.0/24",
    "209.222.80.0/21",
)  # fmt: skip

APPLE_MPP_USER_AGENT = "Mozilla/5.0"
GOOGLE_IMAGE_PROXY = re.compile(r"GoogleImageProxy", re.IGNORECASE)
SCANNER_USER_AGENT = re.compile(
    r"barracuda|mimecast|proofpoint|symantec|messagelabs|trend ?micro|ironport|cisco|"
    r"forcepoint|fireeye|trellix|sophos|zscaler|safelinks|safe links|defender|"
    r"headlesschrome|phantomjs|python-requests|python-urllib|aiohttp|go-http-client|"
    r"\bcurl/|\bwget/|\bjava/|libwww-perl|apache-httpclient|scrapy|"
    r"facebookexternalhit|whatsapp/|\b(?:bot|crawler|spider)\b|"
    r"(?:google|bing|yandex|slack|twitter|linkedin|discord|telegram|apple|duckduck|petal)bot",
    re.IGNORECASE,
)
PREFETCH_HEADERS = ("sec-purpose", "purpose", "x-moz", "x-purpose")

Kind = Literal["open", "click"]


@dataclass(frozen=True)
class Hit:
    """What the endpoint knows about one open or click."""

    kind: Kind
    user_agent: str
    ip: str | None
    method: str = "GET"
    seconds_after_delivery: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    honeypot: bool = False
    known_scanner: bool = False


@dataclass(frozen=True)
class Verdict:
    is_bot: bool
    reasons: tuple[str, ...]
    proxy: str | None  # "apple" or "google" when a mail privacy proxy fetched


@dataclass(frozen=True)
class BotRules:
    """The rules' parameters; the defaults are the documented ones."""

    scanner_window_seconds: float = SCANNER_WINDOW_SECONDS
    apple_proxy_networks: Sequence[str] = APPLE_PROXY_NETWORKS
    datacenter_networks: Sequence[str] = DATACENTER_NETWORKS

    @cached_property
    def _apple(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n) for n in self.apple_proxy_networks)

    @cached_property
    def _datacenter(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n) for n in self.datacenter_networks)

    def classify(self, hit: Hit) -> Verdict:
        """Which rules ``hit`` matches (none: a person)."""
        reasons: list[str] = []
        if hit.honeypot:
            reasons.append("honeypot")
        if hit.known_scanner:
            reasons.append("known_scanner")
        user_agent = hit.user_agent.strip()
        if GOOGLE_IMAGE_PROXY.search(user_agent):
            return Verdict(bool(reasons), tuple(reasons), "google")
        if not user_agent or SCANNER_USER_AGENT.search(user_agent):
            reasons.append("scanner_user_agent")
        address = _address(hit.ip)
        mpp_agent = user_agent == APPLE_MPP_USER_AGENT
        apple_network = address is not None and any(address in n for n in self._apple)
        if mpp_agent:
            reasons.append("apple_mpp_user_agent")
        if apple_network:
            reasons.append("apple_proxy_ip")
        if hit.method.upper() == "HEAD":
            reasons.append("head_request")
        if any("prefetch" in hit.headers.get(name, "").lower() for name in PREFETCH_HEADERS):
            reasons.append("prefetch")
        if address is not None and any(address in n for n in self._datacenter):
            reasons.append("datacenter_ip")
        seconds = hit.seconds_after_delivery
        if seconds is not None and seconds < self.scanner_window_seconds:
            reasons.append("seconds_after_delivery")
        proxy = "apple" if hit.kind == "open" and (mpp_agent or apple_network) else None
        return Verdict(bool(reasons), tuple(reasons), proxy)


def _address(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not ip:
        return None
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None
