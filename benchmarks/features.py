"""Feature builds: wall time of a full dbt build and of a one-day refresh, by event count.

What is timed is what a user (or Dagster) runs inside one region cell (target ``na``):

- full build: ``dbt build --full-refresh --target na``: every model *and* every data and
  unit test, the nightly full refresh. The nodes' own times from ``run_results.json`` are
  reported beside it (``models_seconds`` / ``tests_seconds``, summed over dbt's 2 threads),
  so the share of ``dbt run`` alone can be read off without a second full build;
- one-day refresh: ``dbt build --select config.materialized:incremental --vars
  '{"day": "YYYY-MM-DD"}' --target na``, Dagster's daily partition run (the incremental
  marts and their tests, with ``DBT_INDIRECT_SELECTION=buildable`` as
  :func:`postwise.dbt_env.dbt_environment` sets it), for a day in the middle of the data,
  right after the full build; ``--refresh-rounds`` times, the median is reported.

Each command's wall time includes dbt's start-up; its project parse is warmed first with
the same ``--vars`` (an untimed ``dbt parse`` into the same ``--target-path``), so the
numbers are the warehouse's work plus dbt's fixed per-invocation cost
(``dbt_overhead_seconds``), not a cold parse.

Data: each size gets a fresh database set (``pwfeat_<hex>_control/_na/_eu/_apac``,
migrated, dropped afterwards, also on failure) and a vectorised (numpy) generator writes one
cell's raw rows shaped like the simulator's (``simulator/behaviour.py``) over the 30 UTC
days ending today: contacts (random bytes for ciphertexts and blind index; US/CA/MX time
zones, mailbox providers and domains), about 20 messages per contact (marketing campaigns
with A/B(/C) variants, triggered and transactional mail, PDF invoices), and their events:
sent and delivered (provider replies from ``simulator.providers``), about 1% bounces with
enhanced codes and reply text, deferrals, Apple MPP prefetches (``Mozilla/5.0`` from
17.0.0.0/8, minutes after delivery), gateway scanners (open and a click burst from
Azure-like addresses within seconds, HEAD or GET), human opens hours later with the
clients' user agents (Gmail through its image proxy), re-opens, clicks (about 2.5% of
messages), complaints and unsubscribes: about 2.5 events per message. Events go in arrival
(time) order through :class:`warehouse.events.EventWriter`, the rest by COPY, then the raw
tables are vacuumed and analyzed. Generation and loading are not timed.

Targets (the issue): time(10M) / time(1M) <= 12 (near-linear) and a one-day refresh under
10% of the full build, both at the largest size.

    python -m benchmarks.features                        # 1M, 5M and 10M events
    python -m benchmarks.features --quick                # 200k events
    python -m benchmarks.features --sizes 1000000 2000000 --time-budget 30
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import psycopg

from benchmarks._common import (
    REPO_ROOT,
    emit,
    human_count,
    machine_info,
    server_url,
    setup_logging,
)
from postwise.dbt_env import dbt_environment
from postwise.settings import Settings
from simulator import clients
from simulator.population import CORPORATE_NAMES
from simulator.providers import CATALOGUE, DEFERRAL_RATE, Reply, mailbox_host, mx_host
from simulator.rows import CONSENT_COLUMNS
from warehouse.bulk import copy_in
from warehouse.db import connect
from warehouse.events import EmailEvent, EventWriter
from warehouse.migrate import temporary_cells

log = logging.getLogger("benchmarks.features")

DEFAULT_SIZES = (1_000_000, 5_000_000, 10_000_000)
QUICK_SIZES = (200_000,)
DEFAULT_TIME_BUDGET_MINUTES = 100.0
SCALING_TARGET = 1.2  # time(k x events) <= 1.2 x k x time(events): "<= 12" for 10x
REFRESH_SHARE_TARGET = 0.10
SEED = 20300401
REGION = "na"
DAYS = 30
EVENT_BATCH = 50_000
ROW_BATCH = 100_000
PROJECT_DIR = REPO_ROOT / "dbt"
DBT = Path(sys.executable).with_name("dbt")
DBT_PROGRESS = re.compile(r"\b(OK created|PASS|WARN|ERROR|FAIL|SKIP)\b|Finished running|Completed")

# ---------------------------------------------------------------------------------------
# What the generator draws from

_NS = uuid.UUID("5f7e2c1a-93b4-4d0e-8a61-2f0c9d3e7b15")
ORGS = (("acme", 0.6), ("globex", 0.3), ("initech", 0.1))
COUNTRIES = (  # code, share of contacts, corporate TLD, locales
    ("US", 0.80, "com", (("en-US", 0.9), ("es-US", 0.1))),
    ("CA", 0.15, "ca", (("en-CA", 0.78), ("fr-CA", 0.22))),
    ("MX", 0.05, "com.mx", (("es-MX", 1.0),)),
)
TIME_ZONES = {
    "US": (
        ("America/New_York", 0.47),
        ("America/Chicago", 0.29),
        ("America/Denver", 0.05),
        ("America/Phoenix", 0.02),
        ("America/Los_Angeles", 0.16),
        ("America/Anchorage", 0.005),
        ("Pacific/Honolulu", 0.005),
    ),
    "CA": (
        ("America/Toronto", 0.57),
        ("America/Vancouver", 0.17),
        ("America/Edmonton", 0.13),
        ("America/Winnipeg", 0.05),
        ("America/Halifax", 0.05),
        ("America/Regina", 0.03),
    ),
    "MX": (
        ("America/Mexico_City", 0.75),
        ("America/Monterrey", 0.12),
        ("America/Tijuana", 0.08),
        ("America/Cancun", 0.05),
    ),
}
PROVIDERS = {  # mailbox provider shares per country ("corporate": B2B domains)
    "US": (
        ("gmail", 0.44),
        ("yahoo", 0.15),
        ("aol", 0.05),
        ("outlook", 0.17),
        ("icloud", 0.04),
        ("comcast", 0.02),
        ("att", 0.02),
        ("corporate", 0.11),
    ),
    "CA": (
        ("gmail", 0.47),
        ("outlook", 0.22),
        ("yahoo", 0.10),
        ("aol", 0.02),
        ("icloud", 0.05),
        ("corporate", 0.14),
    ),
    "MX": (
        ("gmail", 0.55),
        ("outlook", 0.22),
        ("yahoo", 0.08),
        ("icloud", 0.03),
        ("corporate", 0.12),
    ),
}
DOMAINS = {
    "gmail": (("gmail.com", 1.0),),
    "outlook": (
        ("outlook.com", 0.40),
        ("hotmail.com", 0.45),
        ("live.com", 0.10),
        ("msn.com", 0.05),
    ),
    "yahoo": (("yahoo.com", 0.85), ("ymail.com", 0.05), ("yahoo.ca", 0.05), ("yahoo.com.mx", 0.05)),
    "aol": (("aol.com", 1.0),),
    "icloud": (("icloud.com", 0.80), ("me.com", 0.15), ("mac.com", 0.05)),
    "comcast": (("comcast.net", 1.0),),
    "att": (("att.net", 0.6), ("sbcglobal.net", 0.4)),
}
NA_HOME_OCTETS = np.array((24, 47, 50, 68, 69, 71, 73, 75, 76, 96, 97, 98, 99, 108, 173, 174))
AZURE_OCTETS = np.array(((40, 94), (40, 107), (52, 100), (52, 101), (20, 42), (13, 107)))
GOOGLE_PROXY_THIRD = np.array((64, 65, 66, 80, 81, 88, 90, 93))
# Local (Eastern) hour weights of when people trigger mail; UTC = local + 5.
LOCAL_HOUR_WEIGHTS = np.array(
    (1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 3.5, 3.5, 3.5, 3.5, 3.3, 3.2, 3.2, 3.3, 3.4, 3.5)
    + (3.2, 2.6, 2, 1.4)
)
CAMPAIGN_TYPES = ("marketing", "triggered", "transactional")
MESSAGE_MIX = (0.70, 0.20, 0.10)
TRIGGERS = (  # name, campaign type, share within its type, variants, attachment types
    ("welcome", 1, 0.15, 2, ()),
    ("cart_abandonment", 1, 0.35, 0, ()),
    ("browse_abandonment", 1, 0.35, 0, ()),
    ("win_back", 1, 0.15, 0, ()),
    ("order_confirmation", 2, 0.50, 0, ("application/pdf",)),
    ("shipping_update", 2, 0.35, 0, ()),
    ("password_reset", 2, 0.15, 0, ()),
)
OPEN_FACTOR = np.array((1.0, 1.3, 1.6))  # human open propensity x campaign type
CLICK_TO_OPEN = np.array((0.12, 0.15, 0.06))
BOUNCE_RATE, HARD_SHARE = 0.01, 0.6
MPP_SOON, MPP_LATER = 0.82, 0.13
APPLE_MAIL_READ_SHARE = 0.85  # MPP users' real opens happen unseen in Apple Mail
SCAN_SAMPLE, SCANNER_OPEN, SCAN_WINDOW_S, SCAN_LINKS = 0.02, 0.5, 10.0, 3
REOPEN, SECOND_CLICK = 0.25, 0.2
COMPLAINT_RATE, UNSUBSCRIBE_RATE = 0.0008, 0.0015
SENDER_IP = "198.51.100.25"
RCPT = "<recipient>"  # the address is masked in stored replies, as the simulator does

HOSTS = tuple(CATALOGUE)
REPLIES: list[Reply] = []
REPLY_INDEX: dict[tuple[str, str], list[int]] = {}
for _host, _family in CATALOGUE.items():
    for _kind, _replies in _family.items():
        REPLY_INDEX[_host, _kind] = list(range(len(REPLIES), len(REPLIES) + len(_replies)))
        REPLIES.extend(_replies)

EVENT_TYPES = (
    "sent", "delivered", "deferred", "bounced", "opened", "clicked", "complained", "unsubscribed",
)  # fmt: skip
SENT, DELIVERED, DEFERRED, BOUNCED, OPENED, CLICKED, COMPLAINED, UNSUBSCRIBED = range(8)
# How an event's details are built (see _details).
(
    D_SENT,
    D_REPLY,
    D_BOUNCE,
    D_MPP,
    D_PROXY,
    D_OPEN,
    D_CLICK,
    D_SCAN_OPEN,
    D_SCAN_CLICK,
    D_COMPLAINT,
    D_UNSUBSCRIBE,
) = range(11)
MESSAGE_STATUSES = ("queued", "sent", "delivered", "deferred", "bounced")
CONTACT_STATUSES = ("active", "bounced", "unsubscribed", "complained")
US_PER_S = 1_000_000
US_PER_H = 3_600 * US_PER_S


class BudgetExceeded(Exception):
    """The run would exceed ``--time-budget``."""


class Campaign(NamedTuple):
    campaign_id: uuid.UUID
    org: int
    campaign_type: int
    name: str
    template_id: uuid.UUID
    variants: int
    attachments: tuple[str, ...]
    send_us: int  # marketing: when sending starts; else 0


def _org_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(_NS, f"org:{slug}")


@dataclass
class Columns:
    """A table's rows as equally long numpy arrays, by column name."""

    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self.data[name] = value

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def take(self, index: np.ndarray) -> Columns:
        """The rows at ``index`` (an index array or boolean mask), in that order."""
        return Columns({name: values[index] for name, values in self.data.items()})

    @staticmethod
    def concat(parts: Sequence[Columns]) -> Columns:
        names = parts[0].data.keys()
        return Columns({name: np.concatenate([p.data[name] for p in parts]) for name in names})


@dataclass
class Dataset:
    """One region cell's raw rows as arrays: contacts, messages (by queue time) and events
    (by event time), with the lookup tables their codes index."""

    start_us: int
    end_us: int
    contacts: Columns
    messages: Columns
    events: Columns
    domains: list[str]
    campaigns: list[Campaign]
    seed: int

    def counts(self) -> dict[str, int]:
        return {
            "events": len(self.events),
            "messages": len(self.messages),
            "contacts": len(self.contacts),
        }


def _choice(rng: np.random.Generator, table: Sequence[tuple[Any, float]], size: int) -> np.ndarray:
    """Indexes into ``table`` ((value, weight) pairs) drawn by weight."""
    weights = np.array([w for _, w in table], dtype=float)
    return rng.choice(len(table), size=size, p=weights / weights.sum())


def _uuid_bytes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random version-4 UUIDs as an (n, 16) uint8 array."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return raw


def _uuids(raw: np.ndarray) -> list[uuid.UUID]:
    data = raw.tobytes()
    return [uuid.UUID(bytes=data[i : i + 16]) for i in range(0, len(data), 16)]


def _ipv4(a: np.ndarray | int, b: np.ndarray | int, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    return (np.int64(a) << 24) | (np.int64(b) << 16) | (c.astype(np.int64) << 8) | d


def _ip_text(ip: int) -> str:
    return f"{ip >> 24}.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}"


# ---------------------------------------------------------------------------------------
# Generation


def generate(n: int, end: datetime, seed: int = SEED) -> Dataset:
    """About ``n`` events (whole contacts' histories, cut at the contact where the count
    reaches ``n``) over the ``DAYS`` days before ``end``."""
    start = end - timedelta(days=DAYS)
    start_us, end_us = int(start.timestamp()) * US_PER_S, int(end.timestamp()) * US_PER_S
    margin = 1.06
    while True:
        n_contacts = int(n / (2.5 * 20) * margin) + 20
        data = _generate(n_contacts, start_us, end_us, np.random.default_rng([seed, n]), seed)
        if len(data.events) >= n:
            return _cut(data, n)
        margin *= 1.2 * n / max(len(data.events), 1)


def _generate(
    n_contacts: int, start_us: int, end_us: int, rng: np.random.Generator, seed: int
) -> Dataset:
    contacts, domains, hosts = _contacts(rng, n_contacts, start_us)
    campaigns = _campaigns(rng, start_us)
    messages = _messages(rng, contacts, campaigns, start_us, end_us)
    host = np.array([HOSTS.index(h) for h in hosts])[contacts["domain"][messages["contact"]]]
    events = _events(rng, contacts, messages, host, end_us)
    _finish(contacts, messages, events)
    return Dataset(start_us, end_us, contacts, messages, events, domains, campaigns, seed)


def _contacts(
    rng: np.random.Generator, n: int, start_us: int
) -> tuple[Columns, list[str], list[str]]:
    """Recipients: country, time zone, locale, domain (and its mail host), signup, the
    behaviour that shapes their events (Apple MPP, link scanning, open propensity, clients)."""
    c = Columns()
    c["id"] = _uuid_bytes(rng, n)
    c["org"] = _choice(rng, ORGS, n).astype(np.int8)
    country = _choice(rng, [(code, w) for code, w, _, _ in COUNTRIES], n).astype(np.int8)
    c["country"] = country
    zones = [zone for code, *_ in COUNTRIES for zone, _ in TIME_ZONES[code]]
    c["time_zone"] = np.zeros(n, dtype=np.int16)
    c["locale"] = np.zeros(n, dtype=np.int16)
    locales = [loc for *_, table in COUNTRIES for loc, _ in table]
    domains: list[str] = []
    domain_ix: dict[str, int] = {}

    def domain_index(name: str) -> int:
        if name not in domain_ix:
            domain_ix[name] = len(domains)
            domains.append(name)
        return domain_ix[name]

    c["domain"] = np.zeros(n, dtype=np.int32)
    provider_names = sorted({p for table in PROVIDERS.values() for p, _ in table})
    provider = np.zeros(n, dtype=np.int8)
    for k, (code, _, tld, locale_table) in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == k)
        zone_table = TIME_ZONES[code]
        c["time_zone"][rows] = zones.index(zone_table[0][0]) + _choice(rng, zone_table, len(rows))
        c["locale"][rows] = locales.index(locale_table[0][0]) + _choice(
            rng, locale_table, len(rows)
        )
        picks = _choice(rng, PROVIDERS[code], len(rows))
        for j, (name, _) in enumerate(PROVIDERS[code]):
            sub = rows[picks == j]
            provider[sub] = provider_names.index(name)
            if name == "corporate":
                # A Zipf-like pick: a few large employers, a long tail of small ones.
                firm = np.minimum(rng.zipf(1.6, len(sub)), len(CORPORATE_NAMES)) - 1
                names = [f"{CORPORATE_NAMES[int(f)]}.{tld}" for f in firm]
                c["domain"][sub] = [domain_index(d) for d in names]
            else:
                table = DOMAINS[name]
                ix = [domain_index(d) for d, _ in table]
                c["domain"][sub] = np.array(ix)[_choice(rng, table, len(sub))]
    hosts = _hosts(domains)
    corporate = provider == provider_names.index("corporate")
    icloud = provider == provider_names.index("icloud")
    u = rng.random((n, 8))
    c["mpp"] = np.where(icloud, u[:, 0] < 0.8, np.where(corporate, u[:, 0] < 0.05, u[:, 0] < 0.15))
    c["scanned"] = corporate & (u[:, 1] < 0.5)
    c["mobile_share"] = np.where(c["mpp"], 0.75, np.where(corporate, 0.25, 0.5))
    c["mobile_client"] = np.where(c["mpp"] | (u[:, 2] < 0.45), 0, 1).astype(np.int8)
    c["desktop_client"] = np.where(
        corporate,
        np.where(u[:, 3] < 0.7, 3, 2),
        np.where(u[:, 3] < 0.6, 2, np.where(u[:, 3] < 0.8, 4, 3)),
    ).astype(np.int8)
    octets = rng.integers(1, 255, size=(n, 6))
    first = NA_HOME_OCTETS[rng.integers(0, len(NA_HOME_OCTETS), size=(n, 2))]
    c["home_ip"] = _ipv4(first[:, 0], octets[:, 0], octets[:, 1], octets[:, 2])
    c["mobile_ip"] = _ipv4(first[:, 1], octets[:, 3], octets[:, 4], octets[:, 5])
    # Open propensity: many rarely open, a few open nearly everything.
    c["propensity"] = rng.beta(1.0, 4.0, n)
    # Signed up over the three years before the window, recent signups more common.
    c["signup"] = start_us - (3600 + (u[:, 4] ** 1.5) * 3 * 365 * 86400).astype(np.int64) * US_PER_S
    c["time_zone_names"] = np.array(zones, dtype=object)[c["time_zone"]]
    c["locale_names"] = np.array(locales, dtype=object)[c["locale"]]
    return c, domains, hosts


def _campaigns(rng: np.random.Generator, start_us: int) -> list[Campaign]:
    """Per org: one or two marketing sends a day (9 am to 1 pm Eastern, A/B or A/B/C variants
    on most), and the triggered and transactional flows."""
    campaigns = []
    for org, _ in enumerate(ORGS):
        for name, kind, _, variants, attachments in TRIGGERS:
            campaigns.append(
                Campaign(uuid.UUID(bytes=rng.bytes(16), version=4), org, kind, name,
                         uuid.UUID(bytes=rng.bytes(16), version=4), variants, attachments, 0)
            )  # fmt: skip
        for day in range(DAYS):
            for _ in range(1 + int(rng.random() < 0.5)):
                hour = 13 + 4 * rng.random()
                variants = int(rng.choice((0, 2, 3), p=(0.45, 0.40, 0.15)))
                send = start_us + int((day * 24 + hour) * US_PER_H)
                campaigns.append(
                    Campaign(uuid.UUID(bytes=rng.bytes(16), version=4), org, 0, f"newsletter-{day}",
                             uuid.UUID(bytes=rng.bytes(16), version=4), variants, (), send)
                )  # fmt: skip
    return campaigns


def _messages(
    rng: np.random.Generator,
    contacts: Columns,
    campaigns: list[Campaign],
    start_us: int,
    end_us: int,
) -> Columns:
    """About 20 messages per contact (heterogeneous), by type; sorted by queue time."""
    per_contact = rng.poisson(rng.gamma(4.0, 5.0, len(contacts)))
    contact = np.repeat(np.arange(len(contacts), dtype=np.int32), per_contact)
    m = len(contact)
    org = contacts["org"][contact]
    kind = rng.choice(3, size=m, p=MESSAGE_MIX).astype(np.int8)
    campaign = np.zeros(m, dtype=np.int32)
    created = np.zeros(m, dtype=np.int64)
    hour_p = np.roll(LOCAL_HOUR_WEIGHTS, 5) / LOCAL_HOUR_WEIGHTS.sum()
    sends = np.array([c.send_us for c in campaigns], dtype=np.int64)
    for o in range(len(ORGS)):
        of_org = org == o
        marketing = np.flatnonzero(of_org & (kind == 0))
        pool = np.array([i for i, c in enumerate(campaigns) if c.org == o and c.campaign_type == 0])
        campaign[marketing] = pool[rng.integers(0, len(pool), len(marketing))]
        # Sending a campaign takes up to 90 minutes.
        created[marketing] = sends[campaign[marketing]] + rng.integers(
            0, 90 * 60 * US_PER_S, len(marketing)
        )
        for t in (1, 2):
            rows = np.flatnonzero(of_org & (kind == t))
            flows = [(i, c) for i, c in enumerate(campaigns) if c.org == o and c.campaign_type == t]
            shares = np.array(
                [next(s for nm, _, s, _, _ in TRIGGERS if nm == c.name) for _, c in flows]
            )
            campaign[rows] = np.array([i for i, _ in flows])[
                rng.choice(len(flows), len(rows), p=shares / shares.sum())
            ]
            day = rng.integers(0, DAYS, len(rows))
            hour = rng.choice(24, len(rows), p=hour_p)
            created[rows] = (
                start_us + (day * 24 + hour) * US_PER_H + rng.integers(0, US_PER_H, len(rows))
            )
    variants = np.array([c.variants for c in campaigns])[campaign]
    variant = np.where(variants > 0, (rng.random(m) * np.maximum(variants, 1)).astype(int), -1)
    keep = created < end_us
    msgs = Columns(
        {
            "contact": contact,
            "campaign": campaign,
            "kind": kind,
            "variant": variant.astype(np.int8),
            "variants": variants.astype(np.int8),
            "created": created,
        }
    ).take(keep)
    msgs = msgs.take(np.argsort(msgs["created"], kind="stable"))
    msgs["id"] = _uuid_bytes(rng, len(msgs))
    return msgs


def _part(
    msg: np.ndarray, t: np.ndarray, etype: int, detail: int | np.ndarray, **params: Any
) -> Columns:
    n = len(msg)
    cols = Columns(
        {
            "msg": msg.astype(np.int32),
            "time": t.astype(np.int64),
            "type": np.full(n, etype, dtype=np.int8),
            "detail": np.broadcast_to(np.asarray(detail, dtype=np.int8), (n,)).copy(),
        }
    )
    for name, dtype in (("p1", np.int64), ("p2", np.int32), ("p3", np.int8), ("p4", np.int8)):
        value = params.get(name, 0)
        cols[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
    return cols


def _pick_replies(rng: np.random.Generator, host: np.ndarray, kinds: Sequence[str]) -> np.ndarray:
    """A reply index per row: of a kind chosen uniformly from ``kinds``, for its host."""
    out = np.zeros(len(host), dtype=np.int32)
    which = rng.integers(0, len(kinds), len(host))
    u = rng.random(len(host))
    for h, name in enumerate(HOSTS):
        for k, kind in enumerate(kinds):
            rows = (host == h) & (which == k)
            options = np.array(REPLY_INDEX[name, kind])
            out[rows] = options[np.minimum((u[rows] * len(options)).astype(int), len(options) - 1)]
    return out


def _events(
    rng: np.random.Generator, contacts: Columns, messages: Columns, host: np.ndarray, end_us: int
) -> Columns:
    """Every message's events, as the simulator draws them (see the module docstring)."""
    m = len(messages)
    idx = np.arange(m, dtype=np.int32)
    contact = messages["contact"]
    kind = messages["kind"]
    tokens = rng.integers(0, 2**47, m)
    parts: list[Columns] = []
    seconds = lambda s: (np.asarray(s) * US_PER_S).astype(np.int64)  # noqa: E731

    t_sent = messages["created"] + seconds(rng.uniform(0.2, 30, m))
    parts.append(_part(idx, t_sent, SENT, D_SENT, p2=contacts["domain"][contact]))
    t_reply = t_sent + seconds(rng.uniform(0.5, 5, m))

    bounced = rng.random(m) < BOUNCE_RATE
    hard = bounced & (rng.random(m) < HARD_SHARE)
    b = np.flatnonzero(bounced)
    reply = np.where(
        hard[b],
        _pick_replies(rng, host[b], ("invalid",)),
        _pick_replies(rng, host[b], ("full", "defer")),
    )
    parts.append(_part(b, t_reply[b], BOUNCED, D_BOUNCE, p1=tokens[b], p2=reply, p3=hard[b]))

    deferral_rate = np.array([DEFERRAL_RATE[h] for h in HOSTS])[host]
    deferred = ~bounced & (rng.random(m) < deferral_rate * 2.5)
    d = np.flatnonzero(deferred)
    reply = _pick_replies(rng, host[d], ("defer",))
    parts.append(_part(d, t_reply[d], DEFERRED, D_REPLY, p1=tokens[d], p2=reply))

    t_del = t_reply + np.where(deferred, seconds(60 * (5.0 - 25.0 * np.log(rng.random(m)))), 0)
    ok = np.flatnonzero(~bounced)
    accept = np.array([REPLY_INDEX[h, "accept"][0] for h in HOSTS])[host[ok]]
    parts.append(_part(ok, t_del[ok], DELIVERED, D_REPLY, p1=tokens[ok], p2=accept))

    # Engagement, for delivered messages only (arrays below are over `ok`).
    c = contact[ok]
    t0 = t_del[ok]
    u = rng.random((len(ok), 12))
    mpp = contacts["mpp"][c]
    soon = mpp & (u[:, 0] < MPP_SOON)
    later = mpp & ~soon & (u[:, 0] < MPP_SOON + MPP_LATER)
    fetch = np.where(
        soon, seconds(20 - 90 * np.log(u[:, 1])), seconds(3600 * (0.5 + 9.5 * u[:, 1]))
    )
    f = soon | later
    mpp_ip = _ipv4(
        17,
        rng.integers(1, 255, f.sum()),
        rng.integers(1, 255, f.sum()),
        rng.integers(1, 255, f.sum()),
    )
    parts.append(_part(ok[f], t0[f] + fetch[f], OPENED, D_MPP, p1=mpp_ip))

    scan = contacts["scanned"][c] & (u[:, 2] < SCAN_SAMPLE)
    s = np.flatnonzero(scan)
    net = AZURE_OCTETS[rng.integers(0, len(AZURE_OCTETS), len(s))]
    scan_ip = _ipv4(
        net[:, 0], net[:, 1], rng.integers(1, 255, len(s)), rng.integers(1, 255, len(s))
    )
    scan_ua = (rng.random(len(s)) >= 0.7).astype(np.int32)
    window = lambda k: seconds(SCAN_WINDOW_S * rng.random(k))  # noqa: E731
    o = rng.random(len(s)) < SCANNER_OPEN
    parts.append(
        _part(
            ok[s][o], t0[s][o] + window(o.sum()), OPENED, D_SCAN_OPEN, p1=scan_ip[o], p2=scan_ua[o]
        )
    )
    for scan_link in range(SCAN_LINKS):
        head = rng.random(len(s)) < 0.4
        parts.append(
            _part(ok[s], t0[s] + window(len(s)), CLICKED, D_SCAN_CLICK,
                  p1=scan_ip, p2=scan_ua, p3=head, p4=scan_link)
        )  # fmt: skip

    k = kind[ok]
    p_open = np.minimum(contacts["propensity"][c] * OPEN_FACTOR[k], 0.95)
    opened = u[:, 3] < p_open
    delay_h = np.where(
        u[:, 4] < 0.35,
        -np.log(u[:, 5]) / 3.0,
        np.exp(np.log(5.0) + 1.0 * rng.standard_normal(len(ok))),
    )
    t_open = t0 + (delay_h * US_PER_H).astype(np.int64)
    hidden = mpp & (u[:, 6] < APPLE_MAIL_READ_SHARE)
    proxy = host[ok] == HOSTS.index("google")
    mobile = u[:, 7] < contacts["mobile_share"][c]
    client = np.where(mobile, contacts["mobile_client"][c], contacts["desktop_client"][c])
    ip = np.where(mobile, contacts["mobile_ip"][c], contacts["home_ip"][c])
    g = np.flatnonzero(opened & ~hidden & proxy)
    gk = rng.integers(0, 2**32, len(g))
    g_ip = _ipv4(66, 249, GOOGLE_PROXY_THIRD[gk % 8], (gk >> 3) % 254 + 1)
    parts.append(_part(ok[g], t_open[g], OPENED, D_PROXY, p1=g_ip))
    h = np.flatnonzero(opened & ~hidden & ~proxy)
    parts.append(_part(ok[h], t_open[h], OPENED, D_OPEN, p1=ip[h], p2=client[h], p3=mobile[h]))
    r = h[rng.random(len(h)) < REOPEN]
    again = t_open[r] + seconds(60 - 6 * 3600 * np.log(rng.random(len(r))))
    parts.append(_part(ok[r], again, OPENED, D_OPEN, p1=ip[r], p2=client[r], p3=mobile[r]))

    clicked = np.flatnonzero(opened & (u[:, 8] < CLICK_TO_OPEN[k]))
    t_click = t_open[clicked] + seconds(5 + 25 * np.exp(rng.standard_normal(len(clicked))))
    weights = 1.0 / np.arange(1, 4)
    link = rng.choice(3, len(clicked), p=weights / weights.sum())
    args = {"p1": ip[clicked], "p2": client[clicked], "p3": mobile[clicked]}
    parts.append(_part(ok[clicked], t_click, CLICKED, D_CLICK, p4=link, **args))
    two = rng.random(len(clicked)) < SECOND_CLICK
    parts.append(
        _part(ok[clicked][two], t_click[two] + seconds(90), CLICKED, D_CLICK,
              p4=(link[two] + 1) % 3, **{key: v[two] for key, v in args.items()})
    )  # fmt: skip

    # Feedback on marketing mail, at the moment the person saw the message.
    marketing = k == 0
    complained = marketing & (u[:, 9] < COMPLAINT_RATE * np.where(opened, 2.0, 1.0))
    unsub = marketing & ~complained & (u[:, 10] < UNSUBSCRIBE_RATE * np.where(opened, 4.0, 1.0))
    gmail = proxy
    q = np.flatnonzero(complained)
    parts.append(
        _part(ok[q], t_open[q] + seconds(30), COMPLAINED, D_COMPLAINT, p3=opened[q], p4=gmail[q])
    )
    q = np.flatnonzero(unsub)
    parts.append(_part(ok[q], t_open[q] + seconds(60), UNSUBSCRIBED, D_UNSUBSCRIBE, p3=opened[q]))

    events = Columns.concat(parts)
    events = events.take(events["time"] < end_us)
    return events.take(np.argsort(events["time"], kind="stable"))


def _finish(contacts: Columns, messages: Columns, events: Columns) -> None:
    """Queue status per message and contact status from what their events say."""
    m = len(messages)
    etype = events["type"]
    msg = events["msg"]
    status = np.zeros(m, dtype=np.int8)  # queued: nothing happened before the data ends
    for value, t in ((1, SENT), (3, DEFERRED), (4, BOUNCED), (2, DELIVERED)):
        status[msg[etype == t]] = value
    messages["status"] = status
    lifecycle = etype <= BOUNCED
    updated = messages["created"].copy()
    np.maximum.at(updated, msg[lifecycle], events["time"][lifecycle])
    messages["updated"] = updated
    messages["sent"] = np.zeros(m, dtype=np.int64)
    sent = etype == SENT
    messages["sent"][msg[sent]] = events["time"][sent]
    smtp = np.zeros(m, dtype=np.int32)  # index into REPLIES + 1; 0 = none
    for t in (DEFERRED, BOUNCED, DELIVERED):  # the last answer wins
        rows = etype == t
        smtp[msg[rows]] = events["p2"][rows] + 1
    messages["reply"] = smtp
    attempts = np.ones(m, dtype=np.int16)
    attempts[msg[etype == DEFERRED]] = 2
    messages["attempts"] = attempts

    n = len(contacts)
    never = np.iinfo(np.int64).max
    firsts = []
    for t, extra in ((BOUNCED, events["p3"] == 1), (UNSUBSCRIBED, None), (COMPLAINED, None)):
        rows = etype == t if extra is None else (etype == t) & extra
        first = np.full(n, never, dtype=np.int64)
        np.minimum.at(first, messages["contact"][msg[rows]], events["time"][rows])
        firsts.append(first)
    stacked = np.vstack(firsts)
    earliest = stacked.min(axis=0)
    contacts["status"] = np.where(earliest < never, stacked.argmin(axis=0) + 1, 0).astype(np.int8)
    contacts["status_at"] = earliest


def _cut(data: Dataset, n: int) -> Dataset:
    """Keep whole contacts, in index order, while their events add up to at most ``n``."""
    contact_of_event = data.messages["contact"][data.events["msg"]]
    per_contact = np.bincount(contact_of_event, minlength=len(data.contacts))
    keep = int(np.searchsorted(np.cumsum(per_contact), n, side="right"))
    message_kept = data.messages["contact"] < keep
    new_index = np.cumsum(message_kept) - 1
    events = data.events.take(contact_of_event < keep)
    events["msg"] = new_index[events["msg"]].astype(np.int32)
    return Dataset(
        data.start_us,
        data.end_us,
        data.contacts.take(np.arange(keep)),
        data.messages.take(message_kept),
        events,
        data.domains,
        data.campaigns,
        data.seed,
    )


# ---------------------------------------------------------------------------------------
# Loading


def _datetimes(us: np.ndarray) -> list[datetime]:
    return [t.replace(tzinfo=UTC) for t in us.astype("datetime64[us]").tolist()]


def _details(
    kind: int, p1: int, p2: int, p3: int, p4: int, domain: str, t_us: int
) -> dict[str, Any]:
    """An event's details JSON, shaped as the simulator writes it."""
    if kind == D_SENT:
        return {"mx": domain}  # caller passes the MX host as `domain` for sent events
    if kind == D_REPLY:
        return {"reply": REPLIES[p2].render(RCPT, domain, SENDER_IP, p1, t_us // US_PER_H)}
    if kind == D_BOUNCE:
        text = REPLIES[p2].render(RCPT, domain, SENDER_IP, p1, p1 % 9000)
        return {"reply": text, "bounce_type": "hard" if p3 else "soft"}
    if kind == D_MPP:
        return {"user_agent": clients.MPP_UA, "ip": _ip_text(p1)}
    if kind == D_PROXY:
        return {"user_agent": clients.GOOGLE_PROXY_UA, "ip": _ip_text(p1), "proxy": "google"}
    device = "mobile" if p3 else "desktop"
    if kind == D_OPEN:
        return {"user_agent": clients.CLIENTS[p2][0], "ip": _ip_text(p1), "device": device}
    if kind == D_CLICK:
        ua = clients.CLIENTS[p2][1]
        return {"user_agent": ua, "ip": _ip_text(p1), "link": p4, "method": "GET", "device": device}
    if kind == D_SCAN_OPEN:
        return {"user_agent": clients.SCANNER_UAS[p2], "ip": _ip_text(p1)}
    if kind == D_SCAN_CLICK:
        method = "HEAD" if p3 else "GET"
        return {
            "user_agent": clients.SCANNER_UAS[p2],
            "ip": _ip_text(p1),
            "link": p4,
            "method": method,
        }
    if kind == D_COMPLAINT:
        report = "postmaster_aggregate" if p4 else "arf"
        return {"channel": "opened" if p3 else "inbox", "report": report}
    channel = "link" if p3 else "list_unsubscribe_post"
    return {"channel": channel, "method": "GET" if p3 else "POST"}


class _Lookups:
    """Python objects the row builders share: ids of orgs, campaigns and contacts."""

    def __init__(self, data: Dataset) -> None:
        self.org_ids = [_org_id(slug) for slug, _ in ORGS]
        self.campaign_ids = [c.campaign_id for c in data.campaigns]
        self.campaign_types = [CAMPAIGN_TYPES[c.campaign_type] for c in data.campaigns]
        self.routes = [
            "ses-virginia" if c.campaign_type == 0 else "primary" for c in data.campaigns
        ]
        self.contact_ids = _uuids(data.contacts["id"])
        self.mx = [mx_host(h, d) for h, d in zip(_hosts(data.domains), data.domains, strict=True)]


def _hosts(domains: list[str]) -> list[str]:
    providers = {d: name for name, table in DOMAINS.items() for d, _ in table}
    return [mailbox_host(SEED, providers.get(d, "corporate"), d) for d in domains]


def event_batches(data: Dataset, size: int = EVENT_BATCH) -> Iterator[list[EmailEvent]]:
    """The events as :class:`EmailEvent` rows, in time order, ``size`` at a time."""
    look = _Lookups(data)
    ev, msgs = data.events, data.messages
    for lo in range(0, len(ev), size):
        sl = slice(lo, lo + size)
        msg = ev["msg"][sl]
        contact = msgs["contact"][msg]
        campaign = msgs["campaign"][msg].tolist()
        ids = _uuids(_uuid_bytes(np.random.default_rng([data.seed, len(ev), lo]), len(msg)))
        message_ids = _uuids(msgs["id"][msg])
        domain_ix = data.contacts["domain"][contact].tolist()
        orgs = data.contacts["org"][contact].tolist()
        contacts = contact.tolist()
        times = ev["time"][sl]
        rows = []
        for i, (t, etype, kind, p1, p2, p3, p4, t_us) in enumerate(
            zip(
                _datetimes(times),
                ev["type"][sl].tolist(),
                ev["detail"][sl].tolist(),
                ev["p1"][sl].tolist(),
                ev["p2"][sl].tolist(),
                ev["p3"][sl].tolist(),
                ev["p4"][sl].tolist(),
                times.tolist(),
                strict=True,
            )
        ):
            camp = campaign[i]
            domain = look.mx[p2] if kind == D_SENT else data.domains[domain_ix[i]]
            reply = REPLIES[p2] if kind in (D_REPLY, D_BOUNCE) else None
            rows.append(
                EmailEvent(
                    event_id=ids[i],
                    event_time=t,
                    message_id=message_ids[i],
                    contact_id=look.contact_ids[contacts[i]],
                    org_id=look.org_ids[orgs[i]],
                    campaign_id=look.campaign_ids[camp],
                    campaign_type=look.campaign_types[camp],
                    region=REGION,
                    type=EVENT_TYPES[etype],
                    smtp_code=reply.code if reply else None,
                    enhanced_code=reply.enhanced if reply else None,
                    route=look.routes[camp],
                    details=_details(kind, p1, p2, p3, p4, domain, t_us),
                )
            )
        yield rows


CONTACT_COLUMNS = (
    "contact_id", "org_id", "email_ciphertext", "email_blind_index", "name_ciphertext",
    "wrapped_data_key", "kek_version", "email_domain", "country", "region", "time_zone",
    "locale", "attributes", "status", "created_at", "updated_at", "retention_until",
)  # fmt: skip
CONTACT_TYPES = (
    "uuid", "uuid", "bytea", "bytea", "bytea", "bytea", "int4", "text", "text", "text",
    "text", "text", "jsonb", "text", "timestamptz", "timestamptz", "date",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "message_id", "org_id", "campaign_id", "campaign_type", "contact_id", "template_id",
    "template_version", "variant", "variant_probability", "status", "scheduled_at",
    "attempts", "next_attempt_at", "route", "smtp_code", "created_at", "updated_at",
    "sent_at", "sending_domain", "attachment_types",
)  # fmt: skip
MESSAGE_TYPES = (
    "uuid", "uuid", "uuid", "text", "uuid", "uuid", "int4", "text", "float4", "text",
    "timestamptz", "int2", "timestamptz", "text", "int2", "timestamptz", "timestamptz",
    "timestamptz", "text", "text[]",
)  # fmt: skip


def contact_rows(data: Dataset, lo: int, hi: int) -> list[tuple[Any, ...]]:
    """``contacts`` rows ``lo..hi-1``: random bytes stand in for ciphertexts and keys."""
    c = data.contacts
    rng = np.random.default_rng([data.seed, 7, lo])
    look_ids = _uuids(c["id"][lo:hi])
    blobs = rng.bytes((48 + 32 + 40 + 60) * (hi - lo))
    signup = c["signup"][lo:hi]
    status_at = np.where(c["status"][lo:hi] > 0, c["status_at"][lo:hi], signup)
    rows = []
    for i, (signed, updated, org, country, domain, zone, locale, status) in enumerate(
        zip(
            _datetimes(signup),
            _datetimes(status_at),
            c["org"][lo:hi].tolist(),
            c["country"][lo:hi].tolist(),
            c["domain"][lo:hi].tolist(),
            c["time_zone_names"][lo:hi].tolist(),
            c["locale_names"][lo:hi].tolist(),
            c["status"][lo:hi].tolist(),
            strict=True,
        )
    ):
        b = 180 * i
        rows.append(
            (
                look_ids[i],
                _org_id(ORGS[org][0]),
                blobs[b : b + 48],
                blobs[b + 48 : b + 80],
                blobs[b + 80 : b + 120],
                blobs[b + 120 : b + 180],
                1,
                data.domains[domain],
                COUNTRIES[country][0],
                REGION,
                zone,
                locale,
                {"signup_source": "web_form", "first_name_known": True},
                CONTACT_STATUSES[status],
                signed,
                updated,
                (signed + timedelta(days=3 * 365)).date(),
            )
        )
    return rows


def message_rows(data: Dataset, lo: int, hi: int, look: _Lookups) -> list[tuple[Any, ...]]:
    """``messages`` rows ``lo..hi-1`` (already in queue-time order)."""
    m = data.messages
    camps = data.campaigns
    ids = _uuids(m["id"][lo:hi])
    created = _datetimes(m["created"][lo:hi])
    updated = _datetimes(m["updated"][lo:hi])
    sent_us = m["sent"][lo:hi]
    sent: list[datetime | None] = [
        t if us > 0 else None
        for t, us in zip(_datetimes(np.maximum(sent_us, 0)), sent_us.tolist(), strict=True)
    ]
    rows = []
    for i, (contact, camp, variant, variants, status, reply, attempts) in enumerate(
        zip(
            m["contact"][lo:hi].tolist(),
            m["campaign"][lo:hi].tolist(),
            m["variant"][lo:hi].tolist(),
            m["variants"][lo:hi].tolist(),
            m["status"][lo:hi].tolist(),
            m["reply"][lo:hi].tolist(),
            m["attempts"][lo:hi].tolist(),
            strict=True,
        )
    ):
        campaign = camps[camp]
        org = campaign.org
        sub = "news" if campaign.campaign_type == 0 else "mail"
        rows.append(
            (
                ids[i],
                look.org_ids[org],
                campaign.campaign_id,
                CAMPAIGN_TYPES[campaign.campaign_type],
                look.contact_ids[contact],
                campaign.template_id,
                1,
                "ABC"[variant] if variant >= 0 else None,
                1.0 / variants if variant >= 0 else None,
                MESSAGE_STATUSES[status],
                created[i],
                attempts,
                created[i],
                look.routes[camp],
                REPLIES[reply - 1].code if reply else None,
                created[i],
                updated[i],
                sent[i],
                f"{sub}.{ORGS[org][0]}.example",
                list(campaign.attachments),
            )
        )
    return rows


def load(url: str, data: Dataset) -> None:
    """Write the dataset into the cell at ``url``, then VACUUM ANALYZE and CHECKPOINT."""
    look = _Lookups(data)
    with connect(url) as conn:
        _timed_copy(conn, "contacts", len(data.contacts), lambda lo, hi: contact_rows(data, lo, hi),
                    CONTACT_COLUMNS, CONTACT_TYPES)  # fmt: skip
        _consent_rows(conn, data, look)
        _timed_copy(conn, "messages", len(data.messages),
                    lambda lo, hi: message_rows(data, lo, hi, look),
                    MESSAGE_COLUMNS, MESSAGE_TYPES)  # fmt: skip
        writer = EventWriter()
        started, written = time.perf_counter(), 0
        for batch in event_batches(data):
            written += writer.write(conn, batch)
            if written % (EVENT_BATCH * 20) == 0 or written == len(data.events):
                rate = written / (time.perf_counter() - started)
                log.info("email_events: %d rows written, %.0f rows/s", written, rate)
        if written != len(data.events):
            raise AssertionError(f"EventWriter stored {written} of {len(data.events)} events")
    with connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) contacts, consents, consent_events, suppressions")
        conn.execute("VACUUM (ANALYZE) messages")
        conn.execute("VACUUM (ANALYZE) email_events")
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            log.warning("not allowed to CHECKPOINT")
        log.info("vacuumed and analyzed in %.1f s", time.perf_counter() - started)


def _timed_copy(
    conn: psycopg.Connection,
    table: str,
    n: int,
    rows: Callable[[int, int], list[tuple[Any, ...]]],
    columns: Sequence[str],
    types: Sequence[str],
) -> None:
    started = time.perf_counter()
    for lo in range(0, n, ROW_BATCH):
        batch = rows(lo, min(lo + ROW_BATCH, n))
        with conn.transaction(), conn.cursor() as cur:
            copy_in(cur, table, columns, batch, types)
    log.info("%s: %d rows in %.1f s", table, n, time.perf_counter() - started)


def _consent_rows(conn: psycopg.Connection, data: Dataset, look: _Lookups) -> None:
    """Marketing consent per contact, its signup evidence, and suppressions for those who
    bounced hard, unsubscribed or complained."""
    c = data.contacts
    status = c["status"].tolist()
    signup = _datetimes(c["signup"])
    left = _datetimes(np.where(c["status"] > 0, c["status_at"], c["signup"]))
    orgs = [look.org_ids[o] for o in c["org"].tolist()]
    with conn.transaction(), conn.cursor() as cur:
        withdrawn = {2, 3}
        copy_in(
            cur,
            "consents",
            CONSENT_COLUMNS,
            [
                (
                    cid,
                    "email",
                    "marketing",
                    "withdrawn" if s in withdrawn else "granted",
                    1,
                    1,
                    "2026-01",
                    left[i] if s in withdrawn else signup[i],
                )  # fmt: skip
                for i, (cid, s) in enumerate(zip(look.contact_ids, status, strict=True))
            ],
        )
        copy_in(
            cur,
            "consent_events",
            (
                "contact_id",
                "org_id",
                "channel",
                "purpose",
                "action",
                "step",
                "source",
                "occurred_at",
                "policy_version",
            ),  # fmt: skip
            [
                (
                    cid,
                    orgs[i],
                    "email",
                    "marketing",
                    "requested",
                    1,
                    "signup_form",
                    signup[i],
                    "2026-01",
                )  # fmt: skip
                for i, cid in enumerate(look.contact_ids)
            ],
        )
        cur.execute(
            "INSERT INTO suppressions (org_id, email_blind_index, reason, source, created_at) "
            "SELECT org_id, email_blind_index, CASE status WHEN 'bounced' THEN 'hard_bounce' "
            "WHEN 'unsubscribed' THEN 'unsubscribe' ELSE 'complaint' END, 'benchmark', "
            "updated_at FROM contacts WHERE status <> 'active'"
        )


# ---------------------------------------------------------------------------------------
# dbt


@dataclass
class DbtRun:
    """One timed dbt invocation and what its run_results.json says."""

    seconds: float
    returncode: int
    elapsed: float  # dbt's own execution time (run_results elapsed_time)
    nodes: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        by_type: Counter[str] = Counter()
        for node in self.nodes:
            by_type[node["type"]] += node["seconds"]
        slowest = sorted(self.nodes, key=lambda node: -node["seconds"])[:6]
        failed = [n["name"] for n in self.nodes if n["status"] in ("error", "fail")]
        return {
            "dbt_execution_seconds": round(self.elapsed, 1),
            "dbt_overhead_seconds": round(self.seconds - self.elapsed, 1),
            "models_seconds": round(by_type["model"], 1),
            "tests_seconds": round(by_type["test"] + by_type["unit_test"], 1),
            "nodes": len(self.nodes),
            "slowest_nodes": [
                {"node": n["name"], "seconds": round(n["seconds"], 1)} for n in slowest
            ],
            "dbt_ok": self.returncode == 0 and not failed,
            **({"dbt_failures": failed} if failed else {}),
        }


class Dbt:
    """``dbt`` against one database set's ``na`` cell, target and logs in ``workdir``."""

    def __init__(self, settings: Settings, server: str, workdir: Path) -> None:
        self.env = {
            **os.environ,
            **dbt_environment(settings, server),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
            "DBT_USE_COLORS": "false",
        }
        self.workdir = workdir

    def command(self, *args: str) -> list[str]:
        return [
            str(DBT),
            *args,
            "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR),
            "--target", REGION,
            "--target-path", str(self.workdir / "target"),
            "--log-path", str(self.workdir / "logs"),
        ]  # fmt: skip

    def run(self, *args: str, deadline: float, relay: bool = True) -> DbtRun:
        """Run dbt, relaying its progress lines to the log; the wall time is measured
        around the whole process."""
        results = self.workdir / "target" / "run_results.json"
        results.unlink(missing_ok=True)
        command = self.command(*args)
        log.info("$ %s", " ".join([command[0], *args]))
        tail: list[str] = []
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        timer = threading.Timer(max(1.0, deadline - time.monotonic()), proc.kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                tail = [*tail[-40:], line.rstrip()]
                if relay and DBT_PROGRESS.search(line):
                    log.info("dbt: %s", line.rstrip())
            returncode = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        if returncode < 0:
            raise BudgetExceeded(f"dbt {args[0]} ran past the time budget")
        if returncode != 0:
            log.error("dbt %s exited with %d:\n%s", args[0], returncode, "\n".join(tail))
        elapsed, nodes = 0.0, []
        if results.exists():
            report = json.loads(results.read_text())
            elapsed = float(report.get("elapsed_time", 0.0))
            for node in report.get("results", []):
                parts = node["unique_id"].split(".")
                kind = parts[0]
                name = ".".join(parts[2:]) if kind == "unit_test" else parts[2]
                nodes.append(
                    {
                        "type": kind,
                        "name": f"{kind}:{name}",
                        "seconds": float(node.get("execution_time") or 0.0),
                        "status": node.get("status"),
                    }
                )
        return DbtRun(seconds, returncode, elapsed, nodes)


# ---------------------------------------------------------------------------------------
# Measuring


def _settings(server: str) -> Settings:
    return Settings(
        _env_file=None, database_url=server, database_prefix=f"pwfeat_{secrets.token_hex(4)}"
    )


def _day_events(url: str, day: date) -> int:
    with connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM email_events WHERE event_time >= %s AND event_time < %s",
            (
                datetime.combine(day, datetime.min.time(), UTC),
                datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC),
            ),
        ).fetchone()
    return int(row[0]) if row else 0


def measure(
    server: str, n: int, end: datetime, workdir: Path, deadline: float, refresh_rounds: int
) -> dict[str, Any]:
    """Generate and load ``n`` events into a fresh database set, then time the full build
    and the one-day refresh; the set is dropped afterwards."""
    started = time.perf_counter()
    data = generate(n, end)
    counts = data.counts()
    by_type = Counter(EVENT_TYPES[t] for t in data.events["type"].tolist())
    log.info(
        "generated %s in %.1f s; events by type: %s",
        ", ".join(f"{v:,} {k}" for k, v in counts.items()),
        time.perf_counter() - started,
        ", ".join(f"{k} {v:,}" for k, v in by_type.most_common()),
    )
    settings = _settings(server)
    with temporary_cells(settings, server) as cells:
        url = cells.url(REGION)
        log.info("database set %s_*: loading", settings.database_prefix)
        loaded = time.perf_counter()
        load(url, data)
        log.info("loaded %d events in %.1f s", counts["events"], time.perf_counter() - loaded)
        del data

        dbt = Dbt(settings, server, workdir)
        dbt.run("parse", deadline=deadline, relay=False)  # warm the partial parse
        full = dbt.run("build", "--full-refresh", deadline=deadline)
        log.info("full build of %d events: %.1f s (%s)", n, full.seconds, full.summary())

        day = (end - timedelta(days=DAYS // 2)).date()
        day_vars = json.dumps({"day": day.isoformat()})
        dbt.run("parse", "--vars", day_vars, deadline=deadline, relay=False)
        refreshes = []
        for _ in range(refresh_rounds):
            refreshes.append(
                dbt.run(
                    "build",
                    "--select",
                    "config.materialized:incremental",
                    "--vars",
                    day_vars,
                    deadline=deadline,
                )  # fmt: skip
            )
            log.info("one-day refresh (%s): %.1f s", day, refreshes[-1].seconds)
        refresh = sorted(refreshes, key=lambda r: r.seconds)[len(refreshes) // 2]
        day_events = _day_events(url, day)
    return {
        "n": n,
        "counts": counts,
        "full": full,
        "refresh": refresh,
        "refresh_rounds": [round(r.seconds, 1) for r in refreshes],
        "day": day.isoformat(),
        "day_events": day_events,
        "seconds_total": time.perf_counter() - started,
    }


def _at_most(
    metric: str,
    value: float | None,
    unit: str,
    baseline_name: str,
    baseline_value: float | None,
    max_ratio: float,
    target: str,
    digits: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """A result entry whose target is an upper bound (``value <= max_ratio x baseline``);
    ``_common.result`` covers ``>=`` targets, where more is better."""
    ratio = value / baseline_value if value is not None and baseline_value else None
    return {
        "metric": metric,
        "value": round(value, digits) if value is not None else None,
        "unit": unit,
        "baseline": {
            "name": baseline_name,
            "value": round(baseline_value, 1) if baseline_value is not None else None,
        },
        "ratio": round(ratio, 3) if ratio is not None else None,
        "target": target,
        "meets_target": ratio is not None and ratio <= max_ratio,
        **extra,
    }


def _skipped(metric: str, unit: str, reason: str, **extra: Any) -> dict[str, Any]:
    return {
        "metric": metric,
        "value": None,
        "unit": unit,
        "baseline": {"name": None, "value": None},
        "ratio": None,
        "target": None,
        "meets_target": False,
        **extra,
        "skipped": reason,
    }


def report(
    sizes: list[int], measured: dict[int, dict[str, Any]], skipped: dict[int, str]
) -> list[dict[str, Any]]:
    """The result entries: per size a full build and a one-day refresh, then the scaling
    ratio and the refresh share at the largest size."""
    results: list[dict[str, Any]] = []
    smallest = min(measured) if measured else None
    for n in sizes:
        name = human_count(n)
        m = measured.get(n)
        if m is None:
            reason = skipped.get(n, "not run")
            for metric in (f"full_build_seconds_{name}", f"one_day_refresh_seconds_{name}"):
                results.append(_skipped(metric, "s", reason, events=n))
            continue
        full, refresh = m["full"], m["refresh"]
        assert smallest is not None
        linear = (
            measured[smallest]["full"].seconds
            * m["counts"]["events"]
            / measured[smallest]["counts"]["events"]
        )
        results.append(
            _at_most(
                f"full_build_seconds_{name}",
                full.seconds,
                "s",
                f"linear scaling from the {human_count(smallest)} build",
                linear,
                SCALING_TARGET,
                f"<= {SCALING_TARGET:g} x baseline",
                rows_per_second=round(m["counts"]["events"] / full.seconds, 1),
                command="dbt build --full-refresh --target na",
                **m["counts"],
                **full.summary(),
            )
        )
        results.append(
            _at_most(
                f"one_day_refresh_seconds_{name}",
                refresh.seconds,
                "s",
                f"full build at {name}",
                full.seconds,
                REFRESH_SHARE_TARGET,
                f"< {REFRESH_SHARE_TARGET:g} x baseline",
                command="dbt build --select config.materialized:incremental "
                f'--vars \'{{"day": "{m["day"]}"}}\' --target na',
                day=m["day"],
                day_events=m["day_events"],
                rounds_seconds=m["refresh_rounds"],
                **refresh.summary(),
            )
        )
    if len(measured) >= 2:
        small, large = min(measured), max(measured)
        t_small, t_large = measured[small]["full"].seconds, measured[large]["full"].seconds
        factor = measured[large]["counts"]["events"] / measured[small]["counts"]["events"]
        results.append(
            _at_most(
                f"scaling_{human_count(large)}_over_{human_count(small)}",
                t_large / t_small,
                "x",
                f"linear scaling ({factor:.3g}x events)",
                factor,
                SCALING_TARGET,
                f"<= {SCALING_TARGET * factor:.3g}",
                digits=3,
                small_seconds=round(t_small, 1),
                large_seconds=round(t_large, 1),
            )
        )
    else:
        results.append(_skipped("scaling", "x", "needs two measured sizes"))
    if measured:
        large = max(measured)
        full_s, refresh_s = measured[large]["full"].seconds, measured[large]["refresh"].seconds
        share = _at_most(
            f"one_day_refresh_share_{human_count(large)}",
            refresh_s / full_s,
            "fraction",
            f"full build at {human_count(large)}",
            full_s,
            REFRESH_SHARE_TARGET,
            f"< {REFRESH_SHARE_TARGET:g}",
            digits=4,
            refresh_seconds=round(refresh_s, 1),
        )
        # The value is already the share: compare it, not value / baseline, to the target.
        share["ratio"] = share["value"]
        share["meets_target"] = refresh_s / full_s < REFRESH_SHARE_TARGET
        results.append(share)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON; exit status 1 when a dbt run failed."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.features",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
        help="numbers of events (default: 1000000 5000000 10000000)",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="alias for --sizes 200000")
    parser.add_argument(
        "--time-budget", type=float, default=DEFAULT_TIME_BUDGET_MINUTES,
        help="minutes; sizes that would run past it are reported as skipped",
    )  # fmt: skip
    parser.add_argument(
        "--refresh-rounds", type=int, default=3, help="one-day refreshes per size (median)"
    )
    args = parser.parse_args(argv)
    sizes = sorted(set(QUICK_SIZES if args.quick else args.sizes))
    setup_logging()
    # A polite stop (the runner's SIGTERM) still drops the databases: finally blocks run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.monotonic()
    deadline = started + args.time_budget * 60
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    server = server_url()
    with connect(server, autocommit=True) as conn:
        machine = machine_info(conn)
        for setting in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather"):
            row = conn.execute(f"SHOW {setting}").fetchone()
            machine[setting] = row[0] if row else None
    measured: dict[int, dict[str, Any]] = {}
    skipped: dict[int, str] = {}
    seconds_per_event = 0.0  # of a whole size (generation, load, builds), once known
    with tempfile.TemporaryDirectory(prefix="pwfeat-") as workdir:
        for n in sizes:
            remaining = deadline - time.monotonic()
            if seconds_per_event * n > remaining:
                log.warning(
                    "skipping %d events: about %.0f s needed, %.0f s left",
                    n, seconds_per_event * n, remaining,
                )  # fmt: skip
                skipped[n] = "time budget"
                continue
            log.info("=== %s events ===", human_count(n))
            try:
                measured[n] = measure(server, n, end, Path(workdir), deadline, args.refresh_rounds)
            except BudgetExceeded as exc:
                log.warning("%s", exc)
                skipped[n] = str(exc)
                continue
            # Builds grow a little faster than the data; plan with some headroom.
            seconds_per_event = 1.15 * measured[n]["seconds_total"] / n
    results = report(sizes, measured, skipped)
    log.info("done in %.0f s", time.monotonic() - started)
    emit("features", machine, results)
    ok = all(r.get("dbt_ok", True) for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
