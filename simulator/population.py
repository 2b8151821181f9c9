"""Who lives in the world: countries, time zones, locales and mailbox providers.

Provider shares for US, DE, FR and PL follow Mapp's Global Provider Report and
daniel-lange (reference figures §3); the other countries have no published figure there
and use our assumption ([A]) of a Gmail/Microsoft/Yahoo/Apple mix plus a local ISP.
Every country keeps a share of corporate (B2B) domains.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Country:
    """Sampling tables of one country."""

    code: str
    region: str  # Postwise cell: "na", "eu" or "apac"
    weight: float  # share of the world's contacts
    time_zones: tuple[tuple[str, float], ...]
    locales: tuple[tuple[str, float], ...]
    providers: tuple[tuple[str, float], ...]
    corporate_tld: str
    apple_mail_share: float  # [A] share of consumer users reading in Apple Mail (iOS strong)


_GENERIC_EU = (
    ("gmail", 0.45),
    ("outlook", 0.22),
    ("yahoo", 0.07),
    ("icloud", 0.05),
    ("isp", 0.05),
    ("corporate", 0.16),
)  # [A]


def _one_zone(
    code: str,
    region: str,
    weight: float,
    zone: str,
    locale: str,
    providers: tuple[tuple[str, float], ...],
    tld: str,
    apple: float,
) -> Country:
    return Country(code, region, weight, ((zone, 1.0),), ((locale, 1.0),), providers, tld, apple)


COUNTRIES: tuple[Country, ...] = (
    # North America, 45% ([A] brief). US mix: Mapp [V] and daniel-lange [W].
    Country(
        "US",
        "na",
        0.38,
        (
            ("America/New_York", 0.47),
            ("America/Chicago", 0.29),
            ("America/Denver", 0.05),
            ("America/Phoenix", 0.02),
            ("America/Los_Angeles", 0.16),
            ("America/Anchorage", 0.005),
            ("Pacific/Honolulu", 0.005),
        ),
        (("en-US", 0.9), ("es-US", 0.1)),
        (
            ("gmail", 0.44),
            ("yahoo", 0.15),
            ("aol", 0.05),
            ("outlook", 0.17),
            ("icloud", 0.04),
            ("comcast", 0.02),
            ("att", 0.02),
            ("corporate", 0.11),
        ),
        "com",
        0.22,
    ),
    Country(
        "CA",
        "na",
        0.07,
        (
            ("America/Toronto", 0.57),
            ("America/Vancouver", 0.17),
            ("America/Edmonton", 0.13),
            ("America/Winnipeg", 0.05),
            ("America/Halifax", 0.05),
            ("America/Regina", 0.03),
        ),
        (("en-CA", 0.78), ("fr-CA", 0.22)),
        (
            ("gmail", 0.47),
            ("outlook", 0.22),
            ("yahoo", 0.10),
            ("aol", 0.02),
            ("icloud", 0.05),
            ("corporate", 0.14),
        ),
        "ca",
        0.22,
    ),
    # Europe ("eu" cell), 35%. DE/FR/PL mixes: Mapp [V]; the others [A].
    _one_zone(
        "DE",
        "eu",
        0.07,
        "Europe/Berlin",
        "de-DE",
        (
            ("gmx", 0.26),
            ("webde", 0.14),
            ("gmail", 0.16),
            ("t-online", 0.12),
            ("outlook", 0.08),
            ("yahoo", 0.03),
            ("icloud", 0.03),
            ("corporate", 0.18),
        ),
        "de",
        0.10,
    ),
    _one_zone(
        "FR",
        "eu",
        0.06,
        "Europe/Paris",
        "fr-FR",
        (
            ("gmail", 0.27),
            ("outlook", 0.26),
            ("orange", 0.18),
            ("free", 0.06),
            ("sfr", 0.04),
            ("yahoo", 0.05),
            ("icloud", 0.02),
            ("corporate", 0.12),
        ),
        "fr",
        0.10,
    ),
    _one_zone(
        "GB",
        "eu",
        0.06,
        "Europe/London",
        "en-GB",
        (
            ("gmail", 0.38),
            ("outlook", 0.25),
            ("yahoo", 0.10),
            ("icloud", 0.07),
            ("isp", 0.06),
            ("corporate", 0.14),
        ),
        "co.uk",
        0.15,
    ),
    _one_zone("ES", "eu", 0.04, "Europe/Madrid", "es-ES", _GENERIC_EU, "es", 0.08),
    _one_zone("IT", "eu", 0.04, "Europe/Rome", "it-IT", _GENERIC_EU, "it", 0.08),
    _one_zone("NL", "eu", 0.03, "Europe/Amsterdam", "nl-NL", _GENERIC_EU, "nl", 0.10),
    _one_zone(
        "PL",
        "eu",
        0.02,
        "Europe/Warsaw",
        "pl-PL",
        (
            ("wp", 0.26),
            ("gmail", 0.25),
            ("onet", 0.14),
            ("interia", 0.08),
            ("outlook", 0.06),
            ("yahoo", 0.02),
            ("icloud", 0.02),
            ("o2", 0.02),
            ("corporate", 0.15),
        ),
        "pl",
        0.06,
    ),
    _one_zone("SE", "eu", 0.015, "Europe/Stockholm", "sv-SE", _GENERIC_EU, "se", 0.12),
    _one_zone("IE", "eu", 0.01, "Europe/Dublin", "en-IE", _GENERIC_EU, "ie", 0.12),
    Country(
        "BE",
        "eu",
        0.005,
        (("Europe/Brussels", 1.0),),
        (("nl-BE", 0.58), ("fr-BE", 0.42)),
        _GENERIC_EU,
        "be",
        0.08,
    ),
    # Asia-Pacific, 20% [A].
    Country(
        "AU",
        "apac",
        0.065,
        (
            ("Australia/Sydney", 0.40),
            ("Australia/Melbourne", 0.26),
            ("Australia/Brisbane", 0.20),
            ("Australia/Perth", 0.10),
            ("Australia/Adelaide", 0.04),
        ),
        (("en-AU", 1.0),),
        (
            ("gmail", 0.42),
            ("outlook", 0.22),
            ("yahoo", 0.07),
            ("icloud", 0.09),
            ("isp", 0.05),
            ("corporate", 0.15),
        ),
        "com.au",
        0.22,
    ),
    _one_zone(
        "JP",
        "apac",
        0.05,
        "Asia/Tokyo",
        "ja-JP",
        (
            ("gmail", 0.30),
            ("yahoo", 0.22),
            ("icloud", 0.14),
            ("outlook", 0.08),
            ("isp", 0.06),
            ("corporate", 0.20),
        ),
        "co.jp",
        0.25,
    ),
    Country(
        "IN",
        "apac",
        0.04,
        (("Asia/Kolkata", 1.0),),
        (("en-IN", 0.85), ("hi-IN", 0.15)),
        (("gmail", 0.68), ("outlook", 0.08), ("yahoo", 0.08), ("isp", 0.03), ("corporate", 0.13)),
        "co.in",
        0.05,
    ),
    _one_zone(
        "SG",
        "apac",
        0.025,
        "Asia/Singapore",
        "en-SG",
        (
            ("gmail", 0.50),
            ("outlook", 0.18),
            ("yahoo", 0.07),
            ("icloud", 0.08),
            ("corporate", 0.17),
        ),
        "com.sg",
        0.20,
    ),
    _one_zone(
        "NZ",
        "apac",
        0.02,
        "Pacific/Auckland",
        "en-NZ",
        (
            ("gmail", 0.42),
            ("outlook", 0.20),
            ("yahoo", 0.06),
            ("icloud", 0.09),
            ("isp", 0.08),
            ("corporate", 0.15),
        ),
        "co.nz",
        0.22,
    ),
)

COUNTRY_BY_CODE = {c.code: c for c in COUNTRIES}

# The local ISP behind the generic "isp" share, per country: (provider name, domain).
LOCAL_ISP = {
    "GB": ("btinternet", "btinternet.com"),
    "ES": ("telefonica", "telefonica.net"),
    "IT": ("libero", "libero.it"),
    "NL": ("ziggo", "ziggo.nl"),
    "SE": ("telia", "telia.com"),
    "IE": ("eircom", "eircom.net"),
    "BE": ("telenet", "telenet.be"),
    "AU": ("bigpond", "bigpond.com"),
    "JP": ("docomo", "docomo.ne.jp"),
    "IN": ("rediffmail", "rediffmail.com"),
    "NZ": ("xtra", "xtra.co.nz"),
}

# Consumer domains per provider; a country-specific entry wins over the default ("*").
PROVIDER_DOMAINS: dict[str, dict[str, tuple[tuple[str, float], ...]]] = {
    "gmail": {"*": (("gmail.com", 1.0),)},
    "outlook": {
        "*": (("outlook.com", 0.45), ("hotmail.com", 0.45), ("live.com", 0.10)),
        "DE": (("outlook.de", 0.35), ("hotmail.de", 0.45), ("live.de", 0.20)),
        "FR": (("hotmail.fr", 0.55), ("outlook.fr", 0.30), ("live.fr", 0.15)),
        "GB": (("hotmail.co.uk", 0.50), ("outlook.com", 0.35), ("live.co.uk", 0.15)),
        "ES": (("hotmail.es", 0.60), ("outlook.es", 0.40)),
        "IT": (("hotmail.it", 0.55), ("outlook.it", 0.20), ("live.it", 0.25)),
        "JP": (("hotmail.co.jp", 0.60), ("outlook.jp", 0.40)),
        "US": (("outlook.com", 0.40), ("hotmail.com", 0.45), ("live.com", 0.10), ("msn.com", 0.05)),
    },
    "yahoo": {
        "*": (("yahoo.com", 1.0),),
        "US": (("yahoo.com", 0.9), ("ymail.com", 0.1)),
        "DE": (("yahoo.de", 1.0),),
        "FR": (("yahoo.fr", 1.0),),
        "GB": (("yahoo.co.uk", 1.0),),
        "ES": (("yahoo.es", 1.0),),
        "IT": (("yahoo.it", 1.0),),
        "JP": (("yahoo.co.jp", 1.0),),
        "IN": (("yahoo.co.in", 1.0),),
        "SG": (("yahoo.com.sg", 1.0),),
        "AU": (("yahoo.com.au", 1.0),),
        "CA": (("yahoo.ca", 0.6), ("yahoo.com", 0.4)),
    },
    "aol": {"*": (("aol.com", 1.0),)},
    "icloud": {"*": (("icloud.com", 0.80), ("me.com", 0.15), ("mac.com", 0.05))},
    "gmx": {"*": (("gmx.de", 0.7), ("gmx.net", 0.3))},
    "webde": {"*": (("web.de", 1.0),)},
    "t-online": {"*": (("t-online.de", 1.0),)},
    "orange": {"*": (("orange.fr", 0.75), ("wanadoo.fr", 0.25))},
    "free": {"*": (("free.fr", 1.0),)},
    "sfr": {"*": (("sfr.fr", 1.0),)},
    "comcast": {"*": (("comcast.net", 1.0),)},
    "att": {"*": (("att.net", 0.6), ("sbcglobal.net", 0.4))},
    "wp": {"*": (("wp.pl", 1.0),)},
    "onet": {"*": (("onet.pl", 1.0),)},
    "interia": {"*": (("interia.pl", 1.0),)},
    "o2": {"*": (("o2.pl", 1.0),)},
}

# Corporate domains are compound names; a Zipf-like pick gives a few large employers.
_CORP_HEADS = (
    "north",
    "blue",
    "silver",
    "bright",
    "stone",
    "river",
    "summit",
    "harbor",
    "oak",
    "clear",
    "iron",
    "cedar",
    "maple",
    "swift",
    "prime",
    "true",
    "red",
    "green",
    "nova",
    "alpine",
    "coastal",
    "granite",
    "lumen",
    "vertex",
    "orbit",
    "atlas",
    "pioneer",
    "meridian",
    "sable",
    "copper",
)
_CORP_TAILS = (
    "works",
    "logistics",
    "systems",
    "labs",
    "group",
    "partners",
    "analytics",
    "foods",
    "retail",
    "health",
    "capital",
    "media",
    "energy",
    "freight",
    "software",
    "dynamics",
    "consulting",
    "robotics",
    "supply",
    "studios",
)
CORPORATE_NAMES = tuple(f"{h}{t}" for t in _CORP_TAILS for h in _CORP_HEADS)


def corporate_domain(name_index: int, tld: str) -> str:
    """The corporate domain of company ``name_index`` in a country's TLD."""
    return f"{CORPORATE_NAMES[name_index % len(CORPORATE_NAMES)]}.{tld}"


@lru_cache(maxsize=256)
def cumulative(pairs: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], list[float]]:
    """Names and normalised cumulative weights of a weighted table, for inverse sampling."""
    total = sum(w for _, w in pairs)
    acc, cum = 0.0, []
    for _, w in pairs:
        acc += w / total
        cum.append(acc)
    cum[-1] = 1.0
    return tuple(n for n, _ in pairs), cum
