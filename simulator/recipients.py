"""Sampling of recipients' attributes, vectorised over a batch of indices.

Each recipient consumes one row of counter-based uniforms (``_random.uniform_block``), so
its attributes depend only on (seed, index). Column numbers below are part of the
world's definition: changing them changes every world.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _random
from .calibration import MAILBOX_DELETION_PER_MONTH, MPP_ADOPTION_AMONG_APPLE_MAIL
from .names import ascii_local, names_for
from .population import (
    COUNTRIES,
    LOCAL_ISP,
    PROVIDER_DOMAINS,
    Country,
    corporate_domain,
    cumulative,
)
from .providers import domain_key, mailbox_host

if TYPE_CHECKING:
    from .world import World

TOPICS = ("deals", "new_arrivals", "how_to", "events", "company_news")
VARIANTS = ("A", "B", "C")
HISTORY_BEFORE_START_DAYS = 730.0  # sign-ups spread over two years before the history

# Population peaks of daily activity (local hour, width h, weight desktop, weight mobile):
# mornings 8-10 and afternoons 15-16 (GetResponse 2012), lunch, a mobile evening "second
# wind" 19-21 and an early-morning mobile spike (Knotice [W], onlinemarketing-trends 2011).
PEAK_TEMPLATES = (
    (9.5, 0.9, 0.33, 0.20),
    (12.6, 0.6, 0.10, 0.10),
    (15.5, 1.1, 0.29, 0.16),
    (20.4, 1.4, 0.26, 0.49),
    (6.8, 0.8, 0.02, 0.05),
)
_PEAK_CUM = {
    dev: cumulative(tuple((str(i), t[2 + j]) for i, t in enumerate(PEAK_TEMPLATES)))[1]
    for j, dev in enumerate(("desktop", "mobile"))
}

# Engagement classes (dormant, occasional, engaged): logit-normal (mu, sigma). Older
# sign-ups are more often dormant (Return Path: 56% of subscribers remain after 12 months;
# newsweaver [W]: older cohorts open less).
_ENGAGEMENT = ((-3.9, 0.7), (-0.95, 0.6), (0.75, 0.6))
_REGION_ENGAGEMENT = {"na": 1.05, "eu": 0.95, "apac": 0.95}  # GetResponse 2023 by region
_OCEANIA = {"AU", "NZ"}  # Oceania opens 37.9% vs 26.8% worldwide (GetResponse 2023)
_SEGMENT_VARIANT = {
    "mobile": {"B": 0.12, "C": -0.08},
    "desktop": {"C": 0.10},
    "eu": {"A": 0.08},
    "apac": {"B": 0.06},
}
_SCANNED_SHARE = {"microsoft365": 0.45, "google": 0.20, "other": 0.35}  # [A] per domain

_C_COUNTRY, _C_TZ, _C_LOCALE, _C_PROVIDER, _C_DOMAIN, _C_COMPANY = range(6)
_C_FIRST, _C_LAST, _C_PATTERN, _C_DIGIT, _C_DEVICE, _C_APPLE, _C_MPP, _C_CLASS = range(6, 14)
_C_NPEAKS, _C_PEAK0, _C_WEIGHT0, _C_BASE_WEIGHT = 16, 17, 26, 31
_C_STATUS, _C_OFFSET, _C_DELETE, _C_FULL, _C_FULL_LEN = 44, 45, 46, 47, 48
_N_COLUMNS = 50
# Normal pairs: (cos column, sin column) -> two independent N(0, 1) draws.
_PAIRS = (
    (14, 15),
    (18, 19),
    (21, 22),
    (24, 25),
    (29, 30),
    (32, 33),
    (34, 35),
    (36, 37),
    (38, 39),
    (40, 41),
    (42, 43),
)

_PATTERNS = (
    "{f}.{l}{n}",
    "{f}{l}{n}",
    "{fi}{l}{n}",
    "{f}_{l}{n}",
    "{f}{n}",
    "{l}.{f}{n}",
    "{f}.{l}.{n}",
)
_PATTERN_CUM = cumulative(
    tuple(
        (p, w) for p, w in zip(_PATTERNS, (0.35, 0.15, 0.15, 0.07, 0.10, 0.08, 0.10), strict=True)
    )
)[1]
_COUNTRY_CUM = cumulative(tuple((c.code, c.weight) for c in COUNTRIES))[1]


# Inverse-CDF tables, built once: hashing the nested tuples on every call would dominate.
_TABLES = {
    c.code: {
        "tz": cumulative(c.time_zones),
        "locale": cumulative(c.locales),
        "provider": cumulative(c.providers),
    }
    for c in COUNTRIES
}


@cache
def _domain_table(provider: str, country_code: str) -> tuple[tuple[str, ...], list[float]]:
    by_country = PROVIDER_DOMAINS[provider]
    return cumulative(by_country.get(country_code, by_country["*"]))


def _choose(table: tuple[tuple[str, ...], list[float]], u: float) -> str:
    names, cum = table
    return names[min(bisect_right(cum, u), len(names) - 1)]


def _domain(provider: str, country: Country, u: float, u_company: float) -> str:
    if provider == "corporate":
        # u**3 skews towards low company numbers: a few large employers, a long tail.
        return corporate_domain(int(600 * u_company**3), country.corporate_tld)
    if provider == "isp":
        return LOCAL_ISP[country.code][1]
    return _choose(_domain_table(provider, country.code), u)


def signup_offsets_days(world: World, indices: np.ndarray) -> np.ndarray:
    """Days before the history's end at which each recipient signed up."""
    u = _random.uniform_block(world.seed_key, indices, _N_COLUMNS)[:, _C_OFFSET]
    return u * (world.days + HISTORY_BEFORE_START_DAYS)


def build_batch(world: World, indices: np.ndarray) -> list[dict[str, Any]]:
    """Field dicts of ``Recipient`` for ``indices`` (see ``world.Recipient``)."""
    u_all = _random.uniform_block(world.seed_key, indices, _N_COLUMNS)
    z_all = np.empty_like(u_all)
    for a, b in _PAIRS:
        r = np.sqrt(-2.0 * np.log(u_all[:, a]))
        z_all[:, a] = r * np.cos(2.0 * np.pi * u_all[:, b])
        z_all[:, b] = r * np.sin(2.0 * np.pi * u_all[:, b])
    end_h = world.end.timestamp() / 3600.0
    start_h = world.start.timestamp() / 3600.0
    span = world.days + HISTORY_BEFORE_START_DAYS
    effects = {v: world.variant_effect(v) for v in VARIANTS}
    return [
        _one(world, int(i), u, z, end_h, start_h, span, effects)
        for i, u, z in zip(indices.tolist(), u_all.tolist(), z_all.tolist(), strict=True)
    ]


def _one(
    world: World,
    index: int,
    u: list[float],
    z: list[float],
    end_h: float,
    start_h: float,
    span: float,
    effects: dict[str, float],
) -> dict[str, Any]:
    country = COUNTRIES[min(bisect_right(_COUNTRY_CUM, u[_C_COUNTRY]), len(COUNTRIES) - 1)]
    tables = _TABLES[country.code]
    locale = _choose(tables["locale"], u[_C_LOCALE])
    provider = _choose(tables["provider"], u[_C_PROVIDER])
    domain = _domain(provider, country, u[_C_DOMAIN], u[_C_COMPANY])
    if provider == "isp":
        provider = LOCAL_ISP[country.code][0]
    corporate = provider == "corporate"
    host = mailbox_host(world.seed_key, provider, domain)

    firsts, lasts = names_for(locale)
    first = firsts[int(u[_C_FIRST] * len(firsts))]
    last = lasts[int(u[_C_LAST] * len(lasts))]
    f, ln = ascii_local(first), ascii_local(last)
    pattern = _PATTERNS[min(bisect_right(_PATTERN_CUM, u[_C_PATTERN]), len(_PATTERNS) - 1)]
    # The trailing digits are a random digit followed by the index: unique in the world,
    # whatever the names, because names never contain digits.
    number = f"{1 + int(9 * u[_C_DIGIT])}{index}"
    email = pattern.format(f=f, l=ln, fi=f[:1], n=number) + "@" + domain

    apple_share = 0.85 if provider == "icloud" else 0.06 if corporate else country.apple_mail_share
    apple_mpp = u[_C_APPLE] < apple_share and u[_C_MPP] < MPP_ADOPTION_AMONG_APPLE_MAIL.value
    mobile_share = 0.75 if apple_mpp else 0.25 if corporate else 0.50
    device = "mobile" if u[_C_DEVICE] < mobile_share else "desktop"
    scanned = (
        corporate
        and _random.unit(world.seed_key, domain_key(domain), 2)
        < _SCANNED_SHARE[host if host in _SCANNED_SHARE else "other"]
    )

    offset_days = u[_C_OFFSET] * span
    signed_up_h = end_h - offset_days * 24.0
    dormant = 0.28 + 0.22 * (1.0 - math.exp(-offset_days / 365.0))
    cls = 0 if u[_C_CLASS] < dormant else 1 if u[_C_CLASS] < dormant + (1 - dormant) * 0.6 else 2
    mu, sigma = _ENGAGEMENT[cls]
    engagement = 1.0 / (1.0 + math.exp(-(mu + sigma * z[14])))
    engagement *= 1.15 if country.code in _OCEANIA else _REGION_ENGAGEMENT[country.region]

    peaks = _peaks(device, u, z)
    weekend = min(max(0.72 * math.exp(0.25 * z[32]), 0.3), 1.3)
    by_device, by_region = _SEGMENT_VARIANT[device], _SEGMENT_VARIANT.get(country.region, {})
    variant = {
        v: math.exp(effects[v] + by_device.get(v, 0.0) + by_region.get(v, 0.0) + 0.25 * z[35 + k])
        for k, v in enumerate(VARIANTS)
    }
    topic = {t: math.exp(0.35 * z[38 + k] - 0.06125) for k, t in enumerate(TOPICS)}

    status = "invalid" if u[_C_STATUS] < 0.008 else "full" if u[_C_STATUS] < 0.011 else "valid"
    deleted_at = full_from = None
    base_h = max(signed_up_h, start_h)
    hazard_per_day = MAILBOX_DELETION_PER_MONTH.value / 30.44
    delete_h = base_h - math.log(u[_C_DELETE]) / hazard_per_day * 24.0
    if delete_h < end_h + 365 * 24.0:
        deleted_at = _dt(delete_h)
        if u[_C_FULL] < 0.15:  # [A] some abandoned mailboxes fill up before deletion
            full_from = _dt(max(base_h, delete_h - (7.0 + 23.0 * u[_C_FULL_LEN]) * 24.0))

    return {
        "index": index,
        "contact_id": world.contact_id(index),
        "email": email,
        "first_name": first,
        "last_name": last,
        "country": country.code,
        "time_zone": _choose(tables["tz"], u[_C_TZ]),
        "locale": locale,
        "provider": provider,
        "email_domain": domain,
        "device": device,
        "apple_mpp": apple_mpp,
        "scanned_links": scanned,
        "engagement": min(engagement, 0.95),
        "activity_peaks": peaks,
        "weekend_factor": weekend,
        "variant_affinity": variant,
        "topic_affinity": topic,
        "address_status": status,
        "complaint_propensity": 0.00011 * math.exp(1.1 * z[33]),
        "unsubscribe_propensity": 0.0030 * math.exp(0.8 * z[34]),
        "created_at_offset_days": offset_days,
        "region": country.region,
        "mailbox_host": host,
        "signed_up_at": _dt(signed_up_h),
        "mailbox_full_from": full_from,
        "mailbox_deleted_at": deleted_at,
    }


def _peaks(device: str, u: list[float], z: list[float]) -> tuple[tuple[float, float, float], ...]:
    """1-3 personal peaks around the population templates, plus a broad waking-hours bump."""
    n = 1 if u[_C_NPEAKS] < 0.30 else 2 if u[_C_NPEAKS] < 0.75 else 3
    shift = 0.45 * z[29]  # a personal chronotype: everything earlier or later
    cum = _PEAK_CUM[device]
    peaks = []
    for k in range(n):
        c = _C_PEAK0 + 3 * k
        hour, width, _, _ = PEAK_TEMPLATES[min(bisect_right(cum, u[c]), len(cum) - 1)]
        centre = (hour + shift + 0.5 * z[c + 1]) % 24.0
        weight = 0.4 - math.log(u[_C_WEIGHT0 + k])
        peaks.append((centre, width * math.exp(0.25 * z[c + 2]), weight))
    total = sum(p[2] for p in peaks)
    base = total * (0.3 + 0.9 * u[_C_BASE_WEIGHT])
    peaks.append(((16.0 + shift + 0.5 * z[43]) % 24.0, 5.0 * math.exp(0.15 * z[30]), base))
    return tuple(peaks)


def _dt(hours: float) -> datetime:
    return datetime.fromtimestamp(hours * 3600.0, UTC)
