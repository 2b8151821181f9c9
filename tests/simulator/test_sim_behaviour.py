"""simulate_send: event structure, provider replies, machine traffic and state effects."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np

from simulator.behaviour import RecipientState, simulate_send
from simulator.world import World

START = datetime(2025, 3, 3, tzinfo=UTC)
WORLD = World(77, 6000, START, 30)
PEOPLE = list(WORLD.recipients())


def _someone(**where: object):
    """The first recipient matching ``where`` whose mailbox stays valid for two months."""
    return next(
        r
        for r in PEOPLE
        if all(getattr(r, k) == v for k, v in where.items())
        and r.status_at(START + timedelta(days=60)) == "valid"
    )


def _send_many(
    recipient,
    n: int,
    seed: int = 1,
    campaign_type: str = "marketing",
    fresh: bool = True,
    spacing_hours: float = 0.0,
):
    rng = np.random.default_rng(seed)
    state = RecipientState.initial(recipient)
    out = []
    for k in range(n):
        if fresh:
            state = RecipientState.initial(recipient)
            state.sends_since_open = 0
        at = START + timedelta(
            hours=k * spacing_hours if spacing_hours else float(rng.uniform(0, 24 * 14))
        )
        out.append((simulate_send(recipient, state, at, campaign_type, "A", rng), state))
    return out


def test_events_start_with_sent_and_are_sorted_by_time(played) -> None:
    for send in played.sends[:5000]:
        assert send.events[0].type == "sent"
        assert send.events[0].at == send.sent_at
        times = [e.at for e in send.events]
        assert times == sorted(times)
        assert all(e.at.tzinfo is not None for e in send.events)
        outcome = send.events[1].type
        assert outcome in ("delivered", "deferred", "bounced")


def test_the_same_rng_seed_gives_the_same_events() -> None:
    r = PEOPLE[10]
    a = simulate_send(
        r, RecipientState.initial(r), START, "marketing", "B", np.random.default_rng(3)
    )
    b = simulate_send(
        r, RecipientState.initial(r), START, "marketing", "B", np.random.default_rng(3)
    )
    assert a == b


def test_an_invalid_address_hard_bounces_every_time_with_a_5_1_1_reply() -> None:
    r = dataclasses.replace(_someone(provider="gmail"), address_status="invalid")
    for events, state in _send_many(r, 20, fresh=False):
        bounce = events[1]
        assert (bounce.type, bounce.smtp_code, bounce.enhanced_code) == ("bounced", 550, "5.1.1")
        assert bounce.details["bounce_type"] == "hard"
        assert (
            "550-5.1.1 The email account that you tried to reach does not exist"
            in (bounce.details["reply"])
        )
        assert len(events) == 2
        assert not state.receiving()


def test_a_full_mailbox_soft_bounces_with_4_2_2_or_5_2_2() -> None:
    r = dataclasses.replace(_someone(provider="gmail"), address_status="full")
    for events, _ in _send_many(r, 10):
        assert events[1].type == "bounced"
        assert events[1].enhanced_code in ("4.2.2", "5.2.2")
        assert events[1].details["bounce_type"] == "soft"


def test_replies_come_from_the_provider_catalogue(played) -> None:
    replies = {
        (s.recipient.mailbox_host, e.type): e.details["reply"]
        for s in played.sends
        for e in s.events
        if e.type in ("deferred", "delivered")
    }
    assert replies[("google", "delivered")].startswith("250 2.0.0 OK")
    assert replies[("google", "delivered")].endswith("- gsmtp")
    deferrals = [e.details["reply"] for s in played.sends for e in s.events if e.type == "deferred"]
    assert any("[TSS04]" in d for d in deferrals) or any("4.7.28" in d for d in deferrals)
    yahoo = dataclasses.replace(_someone(mailbox_host="yahoo"), address_status="invalid")
    assert "doesn't have a" in _send_many(yahoo, 1)[0][0][1].details["reply"]


def test_mpp_readers_produce_a_machine_open_minutes_after_delivery() -> None:
    r = dataclasses.replace(_someone(apple_mpp=True), engagement=0.0)
    delays = []
    for events, _ in _send_many(r, 200):
        delivered = next(e for e in events if e.type == "delivered")
        for e in events:
            if e.type == "opened":
                assert e.is_bot and e.details["user_agent"] == "Mozilla/5.0"
                assert e.details["ip"].startswith("17.")
                delays.append((e.at - delivered.at).total_seconds())
    assert len(delays) > 170  # ~95% of messages are prefetched eventually
    assert np.median(delays) < 300  # most within minutes


def test_gmail_opens_arrive_through_the_image_proxy_at_the_human_open() -> None:
    r = dataclasses.replace(_someone(provider="gmail", apple_mpp=False), engagement=0.9)
    seen = 0
    for events, state in _send_many(r, 60):
        opens = [e for e in events if e.type == "opened"]
        for e in opens:
            assert "GoogleImageProxy" in e.details["user_agent"]
            assert e.details["ip"].startswith("66.249.")
            assert not e.is_bot and e.at == state.last_open_at
            seen += 1
    assert seen > 20


def test_link_scanners_click_every_link_within_five_seconds_of_delivery() -> None:
    r = _someone(scanned_links=True)
    scanned = 0
    for events, _ in _send_many(dataclasses.replace(r, engagement=0.0), 600):
        bots = [e for e in events if e.type == "clicked" and e.is_bot]
        if not bots:
            continue
        scanned += 1
        delivered = next(e for e in events if e.type == "delivered").at
        assert sorted(e.details["link"] for e in bots) == [0, 1, 2]
        assert all(0 <= (e.at - delivered).total_seconds() <= 5 for e in bots)
        assert {e.details["method"] for e in bots} <= {"HEAD", "GET"}
        assert all(e.details["ip"].split(".")[0] in {"13", "20", "40", "52"} for e in bots)
    assert 2 <= scanned <= 40  # sampled: only some messages are scanned


def test_machine_opens_cluster_right_after_delivery(played) -> None:
    bot: list[float] = []
    human: list[float] = []
    for send in played.sends:
        delivered = send.first("delivered")
        for e in send.events:
            if e.type == "opened":
                delay = (e.at - delivered.at).total_seconds() / 60
                (bot if e.is_bot else human).append(delay)
    assert len(bot) > 1000
    assert np.mean(np.array(bot) < 10) > 0.7
    assert np.mean(np.array(human) < 10) < 0.2


def test_fatigue_above_five_sends_a_week_lowers_opens() -> None:
    """§5 Validity: flat to ~5/week, then read rates fall; peasy.nu [W]: going from 2/week
    to daily cut opens from 28% to 19% (x0.68)."""
    people = [r for r in PEOPLE[:400] if r.address_status == "valid" and r.engagement > 0.2]

    def rate(spacing_days: float) -> float:
        opens = total = 0
        rng = np.random.default_rng(4)
        for r in people:
            state = RecipientState.initial(r)
            state.sends_since_open = 0
            for k in range(20):
                at = START + timedelta(days=k * spacing_days, hours=float(rng.uniform(0, 24)))
                simulate_send(r, state, at, "marketing", None, rng)
                if k >= 10:  # once the cadence has built up
                    total += 1
                    opens += state.last_open_at is not None
        return opens / total

    ratio = rate(1.0) / rate(3.5)
    assert 0.55 < ratio < 0.85, ratio


def test_after_an_unsubscribe_the_person_stops_engaging() -> None:
    r = dataclasses.replace(
        _someone(), engagement=0.9, unsubscribe_propensity=1.0, complaint_propensity=0.0
    )
    state = RecipientState.initial(r)
    rng = np.random.default_rng(8)
    at = START
    while state.unsubscribed_at is None:
        events = simulate_send(r, state, at, "marketing", None, rng)
        at += timedelta(days=1)
    assert any(e.type == "unsubscribed" for e in events)
    assert not state.receiving(state.unsubscribed_at)
    later = simulate_send(
        r, state, state.unsubscribed_at + timedelta(days=1), "marketing", None, rng
    )
    assert not [e for e in later if e.type in ("opened", "clicked") and not e.is_bot]
