"""When people open: delay after delivery, local hour of day, weekday, personal peaks."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np

from simulator import calibration as cal
from simulator.activity import zone
from simulator.behaviour import RecipientState, simulate_send
from simulator.world import World

START = datetime(2025, 3, 3, tzinfo=UTC)


def _open_delays_hours(played) -> np.ndarray:
    return np.array(
        [
            (s.open_at - s.first("delivered").at).total_seconds() / 3600
            for s in played.of_type("marketing")
            if s.open_at is not None
        ]
    )


def test_cumulative_time_to_open_matches_published_curves(played) -> None:
    """§2 Mailchimp 2006, MailerMailer 2012, GetResponse 2020/2022, Inntopia: share of
    eventual opens by 1 h / 6 h / 24 h / 7 d = 0.20-0.33 / 0.50-0.61 / 0.73-0.79 / ~0.95."""
    delays = _open_delays_hours(played)
    assert len(delays) > 3000
    for hours, target in (
        (1, cal.OPENS_BY_1H),
        (6, cal.OPENS_BY_6H),
        (24, cal.OPENS_BY_24H),
        (168, cal.OPENS_BY_7D),
    ):
        share = float(np.mean(delays <= hours))
        assert target.widened(0.02).contains(share), f"{hours} h: {share:.3f} not in {target}"
    late = float(np.mean(delays > 720))
    assert cal.OPENS_AFTER_30D.widened(0.01).contains(late), f"after 30 d: {late:.3f}"


def test_local_hour_of_open_matches_campaign_monitor(played) -> None:
    """§2 Campaign Monitor 2013, 192M opens: 16% at 0-8h, 53% at 9-17h without the 13h
    lunch hour (7%), 24% at 18-23h; peaks 8-10 am and 3-4 pm (GetResponse 2012)."""
    hours = Counter(
        s.open_at.astimezone(zone(s.recipient.time_zone)).hour
        for s in played.of_type("marketing")
        if s.open_at is not None
    )
    total = sum(hours.values())

    def mass(hs: Iterable[int]) -> float:
        return sum(hours[h] for h in hs) / total

    buckets = (
        (range(0, 9), cal.OPEN_HOURS_NIGHT),
        ([h for h in range(9, 18) if h != 13], cal.OPEN_HOURS_WORK),
        (range(13, 14), cal.OPEN_HOURS_LUNCH),
        (range(18, 24), cal.OPEN_HOURS_EVENING),
    )
    for hs, target in buckets:
        assert target.widened(0.02).contains(mass(hs)), f"{hs}: {mass(hs):.3f} not in {target}"
    (m_lo, m_hi), (a_lo, a_hi) = cal.MORNING_PEAK_HOURS, cal.AFTERNOON_PEAK_HOURS
    assert m_lo <= max(range(6, 13), key=hours.__getitem__) <= m_hi + 1
    assert a_lo - 1 <= max(range(13, 18), key=hours.__getitem__) <= a_hi


def test_weekend_opens_are_20_to_40_percent_below_the_best_weekday() -> None:
    """§2 GetResponse via MarketingCharts: Sat/Sun opens 20-40% below Tue/Wed."""
    world = World(11, 2500, START, 28)
    people = [r for r in world.recipients() if r.address_status == "valid"]
    rng = np.random.default_rng(5)
    sent: Counter[int] = Counter()
    opened: Counter[int] = Counter()
    for _ in range(4):
        for r in people:
            state = RecipientState.initial(r)
            state.sends_since_open = 0
            at = START + timedelta(hours=float(rng.uniform(0, 24 * 14)))
            events = simulate_send(r, state, at, "marketing", None, rng)
            delivered = next((e for e in events if e.type == "delivered"), None)
            if delivered is not None:
                day = delivered.at.astimezone(state.profile.tz).weekday()
                sent[day] += 1
                opened[day] += state.last_open_at is not None
    rate = {d: opened[d] / sent[d] for d in range(7)}
    drop = 1 - (rate[5] + rate[6]) / 2 / max(rate[d] for d in range(5))
    assert cal.WEEKEND_OPEN_DROP.contains(drop), f"weekend drop {drop:.3f}"


def test_a_planted_activity_peak_is_recovered_from_simulated_opens() -> None:
    """One person with a single strong 20h peak: the mode of local open hours is 19-21h."""
    base = World(3, 50, START, 30).recipient(4)
    person = dataclasses.replace(
        base,
        activity_peaks=((20.0, 1.0, 1.0),),
        engagement=0.9,
        address_status="valid",
        mailbox_deleted_at=None,
        mailbox_full_from=None,
        apple_mpp=False,
    )
    rng = np.random.default_rng(12)
    hours: Counter[int] = Counter()
    for _ in range(300):
        state = RecipientState.initial(person)
        state.sends_since_open = 0
        at = START + timedelta(hours=float(rng.uniform(0, 24 * 60)))
        simulate_send(person, state, at, "marketing", None, rng)
        if state.last_open_at is not None:
            hours[state.last_open_at.astimezone(state.profile.tz).hour] += 1
    mode = max(hours, key=hours.__getitem__)
    assert abs(mode - 20) <= 1, hours
