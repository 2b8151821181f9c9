"""What tracking endpoints see: user agents and IP addresses of people and machines.

Machine traffic follows reference-figures §3: Apple MPP fetches with the user agent exactly
``Mozilla/5.0`` from Apple's 17.0.0.0/8; Gmail's image proxy with ``GoogleImageProxy`` from
66.249.x; link scanners with browser-like user agents from Azure-like ranges, using HEAD
or GET. People's addresses come from residential-looking blocks chosen per region that
avoid those machine ranges, so the signal is statistical rather than a label.
"""

from __future__ import annotations

MPP_UA = "Mozilla/5.0"
GOOGLE_PROXY_UA = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
_IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile "
    "Safari/537.36"
)
_ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36"
)
_WIN_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/124.0.0.0 Safari/537.36"
)
_OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"
_MAC_MAIL = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
_MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.5 Safari/605.1.15"
)

# (open user agent, click user agent): the mail client fetches the pixel, the browser
# follows the link.
CLIENTS = (
    (_IPHONE, _IPHONE_SAFARI),  # 0 iOS mail app
    (_ANDROID, _ANDROID_CHROME),  # 1 Android mail app
    (_WIN_CHROME, _WIN_CHROME),  # 2 webmail in a Windows browser
    (_OUTLOOK, _WIN_CHROME),  # 3 Outlook for Windows
    (_MAC_MAIL, _MAC_SAFARI),  # 4 Apple Mail on macOS (MPP off)
)
SCANNER_UAS = (_WIN_CHROME, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0)")

# Residential first octets per region [A]; none of them is 13, 17, 20, 40, 52, 64 or 66.
_HOME_OCTETS = {
    "na": (24, 47, 50, 68, 69, 71, 73, 75, 76, 96, 97, 98, 99, 108, 173, 174),
    "eu": (31, 37, 46, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90, 91, 93, 95),
    "apac": (1, 27, 49, 58, 59, 60, 101, 110, 111, 112, 114, 118, 119, 121, 122, 124),
}
_AZURE_OCTETS = ((40, 94), (40, 107), (52, 100), (52, 101), (20, 42), (13, 107))
_GOOGLE_PROXY_THIRD = (64, 65, 66, 80, 81, 88, 90, 93)  # 66.249.64.0/19


def _octets(k: int, n: int) -> list[int]:
    return [((k >> (8 * i)) & 0xFF) % 254 + 1 for i in range(n)]


def person_ip(region: str, bits: int) -> str:
    """A residential or mobile-carrier IP in ``region`` from 64 random bits."""
    firsts = _HOME_OCTETS[region]
    a, b, c = _octets(bits >> 8, 3)
    return f"{firsts[bits % len(firsts)]}.{a}.{b}.{c}"


def mpp_ip(u: float) -> str:
    """An Apple MPP egress address (17.0.0.0/8)."""
    k = int(u * 2**40)
    a, b, c = _octets(k, 3)
    return f"17.{a}.{b}.{c}"


def google_proxy_ip(u: float) -> str:
    """A Google image-proxy address in 66.249.64.0/19."""
    k = int(u * 2**32)
    return f"66.249.{_GOOGLE_PROXY_THIRD[k % 8]}.{(k >> 3) % 254 + 1}"


def scanner_ip(u: float) -> str:
    """A link-scanner address in Azure / Exchange Online Protection-like ranges."""
    k = int(u * 2**40)
    a, b = _AZURE_OCTETS[k % len(_AZURE_OCTETS)]
    c, d = _octets(k >> 8, 2)
    return f"{a}.{b}.{c}.{d}"


def client_pair(corporate: bool, apple_share: float, u1: float, u2: float) -> tuple[int, int]:
    """(mobile client, desktop client) indexes into ``CLIENTS`` for one person."""
    mobile = 0 if u1 < min(0.3 + apple_share * 1.6, 0.75) else 1
    if corporate:
        desktop = 3 if u2 < 0.7 else 2
    else:
        desktop = 2 if u2 < 0.6 else 4 if u2 < 0.8 else 3
    return mobile, desktop
