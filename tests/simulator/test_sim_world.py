"""The world is deterministic, and its population matches the reference mixes."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from simulator import calibration as cal
from simulator.population import COUNTRY_BY_CODE
from simulator.world import World

START = datetime(2025, 3, 3, tzinfo=UTC)
_MICROSOFT = {"outlook"}


def test_the_same_seed_gives_the_same_world() -> None:
    a, b = World(42, 500, START, 30), World(42, 500, START, 30)
    assert list(a.recipients()) == list(b.recipients())
    assert a.campaigns() == b.campaigns()


def test_different_seeds_give_different_worlds() -> None:
    a = list(World(1, 200, START, 30).recipients())
    b = list(World(2, 200, START, 30).recipients())
    assert sum(x.email == y.email for x, y in zip(a, b, strict=True)) < 20
    assert a[0].contact_id != b[0].contact_id
    assert World(1, 10, START, 30).campaigns() != World(2, 10, START, 30).campaigns()


def test_a_recipient_is_identical_whether_streamed_alone_or_in_any_batch() -> None:
    world = World(9, 10_000, START, 30)
    batch = {r.index: r for r in world.recipients(4090, 4110)}  # straddles a batch edge
    for i in (4090, 4095, 4096, 4109):
        assert world.recipient(i) == batch[i]
    assert list(World(9, 5000, START, 30).recipients(4090, 4100)) == [
        batch[i] for i in range(4090, 4100)
    ]


def test_contact_ids_and_emails_are_unique_and_look_real(population) -> None:
    emails = [r.email for r in population]
    assert len(set(emails)) == len(emails)
    assert len({r.contact_id for r in population}) == len(population)
    pattern = re.compile(r"^[a-z][a-z0-9._]*[0-9]@[a-z0-9-]+(\.[a-z0-9-]+)+$")
    assert all(pattern.match(e) for e in emails)
    assert all(r.email.endswith("@" + r.email_domain) for r in population)


def test_time_zones_and_locales_are_consistent_with_the_country(population) -> None:
    for r in population[:3000]:
        country = COUNTRY_BY_CODE[r.country]
        assert r.time_zone in dict(country.time_zones)
        assert r.locale in dict(country.locales)
        assert r.region == country.region
        ZoneInfo(r.time_zone)


def test_regions_split_45_35_20(population) -> None:
    """Region mix of the brief: North America ~45%, Europe ~35%, APAC ~20% [A]."""
    shares = Counter(r.region for r in population)
    for region, target in cal.REGION_MIX.items():
        assert abs(shares[region] / len(population) - target) < cal.REGION_MIX_TOLERANCE


@pytest.mark.parametrize(
    ("country", "providers", "target"),
    [
        ("US", {"gmail"}, cal.US_GMAIL_SHARE),
        ("US", {"yahoo", "aol"}, cal.US_YAHOO_AOL_SHARE),
        ("US", _MICROSOFT, cal.US_MICROSOFT_SHARE),
        ("DE", {"gmx", "webde"}, cal.DE_GMX_WEBDE_SHARE),
        ("DE", {"gmail"}, cal.DE_GMAIL_SHARE),
        ("DE", {"t-online"}, cal.DE_TONLINE_SHARE),
        ("FR", {"gmail"}, cal.FR_GMAIL_SHARE),
        ("FR", _MICROSOFT, cal.FR_MICROSOFT_SHARE),
        ("FR", {"orange"}, cal.FR_ORANGE_SHARE),
    ],
)
def test_provider_mix_by_country_follows_mapp(population, country, providers, target) -> None:
    """Mapp Global Provider Report / daniel-lange shares (reference figures §3)."""
    people = [r for r in population if r.country == country]
    share = sum(r.provider in providers for r in people) / len(people)
    assert target.contains(share), f"{country} {providers}: {share:.3f} not in {target}"


def test_every_country_has_a_share_of_corporate_domains(population) -> None:
    corporate = Counter(r.country for r in population if r.provider == "corporate")
    assert set(corporate) == {r.country for r in population}
    scanned = [r for r in population if r.scanned_links]
    assert scanned and all(r.provider == "corporate" for r in scanned)


def test_apple_mpp_readers_are_a_realistic_minority(population) -> None:
    """MPP needs Apple Mail; Apple's real share is ~25-35% in US/CA/AU/NZ (§3 critique [W])."""
    na = [r for r in population if r.country == "US"]
    share = sum(r.apple_mpp for r in na) / len(na)
    assert 0.15 <= share <= 0.35
    icloud = [r for r in population if r.provider == "icloud"]
    assert sum(r.apple_mpp for r in icloud) / len(icloud) > 0.7


def test_activity_peaks_differ_from_person_to_person(population) -> None:
    counts = Counter(len(r.activity_peaks) - 1 for r in population)  # minus the waking bump
    assert set(counts) == {1, 2, 3}
    main_peak = np.array(
        [max(r.activity_peaks[:-1], key=lambda p: p[2])[0] for r in population[:2000]]
    )
    assert main_peak.std() > 3.0  # people peak at different hours
    assert all(0.3 <= r.weekend_factor <= 1.3 for r in population)


def test_campaigns_follow_a_realistic_weekly_cadence() -> None:
    """2-3 newsletters a week; weekend sends 1/4-1/6 of a weekday's (§2 eROI 2005)."""
    world = World(5, 10, START, 91)
    marketing = [p for p in world.campaigns() if p.campaign_type == "marketing"]
    assert 2.0 <= len(marketing) / 13 <= 3.0
    hours = {p.send_at.hour for p in marketing}
    assert len(hours) >= 12  # send hours spread over the day
    weekend = sum(p.send_at.weekday() >= 5 for p in marketing)
    assert 0 < weekend < len(marketing) * 0.2
    kinds = Counter(p.campaign_type for p in world.campaigns())
    assert kinds["triggered"] and kinds["transactional"]
    assert all(world.start <= p.send_at < world.end for p in world.campaigns())
    assert all(set(p.variants) <= {"A", "B", "C"} for p in marketing)


def test_audience_membership_is_deterministic_and_matches_the_scalar_check() -> None:
    world = World(5, 3000, START, 60)
    plans = world.campaigns()
    recipients = list(world.recipients())
    for plan in [p for p in plans if p.campaign_type == "marketing"][:2] + [
        p for p in plans if p.trigger in ("welcome", "cart_abandonment")
    ][:4]:
        members = set(world.audience(plan).tolist())
        assert members == {r.index for r in recipients if plan.targets(r)}
        for i in list(members)[:20]:
            at = plan.send_time_for(recipients[i])
            assert at >= recipients[i].signed_up_at
            assert at - plan.send_at < timedelta(hours=plan.window_hours + 3)
    marketing = [p for p in plans if p.campaign_type == "marketing"][0]
    assert abs(len(world.audience(marketing)) / 3000 - marketing.audience_share) < 0.2
