"""What happens to one message: delivery, machine traffic and the recipient's reaction.

``simulate_send`` returns what a sender could observe (SMTP outcome, tracking hits and
feedback), sorted by time. Ground truth that no sender sees, such as the human open
behind an Apple MPP prefetch, is kept in ``RecipientState`` (``human_opens``,
``last_open_at``) and in ``is_bot`` on each event. Probabilities live in ``engagement``;
this module draws the outcomes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from . import clients
from .activity import Profile, delay_sample, immediate_share, local_weekday
from .calibration import SCANNER_CLICK_WINDOW_SECONDS
from .engagement import (
    MOBILE_OPEN_SHARE,
    click_to_open,
    complaint_probability,
    fatigue_after,
    open_probability,
    unsubscribe_probability,
)
from .providers import DEFERRAL_RATE, TRANSIENT_SOFT_BOUNCE_RATE, mx_host, pick
from .state import RecipientState

if TYPE_CHECKING:
    from .world import Recipient

__all__ = ["RecipientState", "SimEvent", "simulate_send"]

_MONDAY_EPOCH_HOURS = 96.0
_SECOND = 1.0 / 3600.0
_AT = attrgetter("at")
APPLE_MAIL_READ_SHARE = 0.85  # [A] MPP users' real opens that happen in Apple Mail (unseen)
MPP_FETCH_SOON, MPP_FETCH_LATER = 0.82, 0.13  # [A] rest: never fetched (battery, no Wi-Fi)
SCAN_SAMPLE = 0.02  # [A] gateways scan a sample of messages (§3, suped.com [W])
SCANNER_OPEN = 0.5  # [A] share of scans that also fetch the tracking pixel
REOPEN = 0.25  # [A] tracked clients that record a second open
SECOND_CLICK = 0.2  # [A]
SENDER_IP = "198.51.100.25"  # RFC 5737 documentation address, quoted in provider replies


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One observable event. ``is_bot`` is ground truth for evaluation only."""

    type: str  # sent, delivered, deferred, bounced, opened, clicked, complained, unsubscribed
    at: datetime  # UTC, tz-aware
    smtp_code: int | None
    enhanced_code: str | None
    is_bot: bool
    details: dict[str, Any] = field(default_factory=dict)


def _at(hours: float) -> datetime:
    return datetime.fromtimestamp(hours * 3600.0, UTC)


def simulate_send(
    recipient: Recipient,
    state: RecipientState | None,
    sent_at: datetime,
    campaign_type: str,
    variant: str | None,
    rng: np.random.Generator,
    n_links: int = 3,
    topic: str | None = None,
    sender_ip: str = SENDER_IP,
) -> list[SimEvent]:
    """Simulate one message to ``recipient`` handed to its MX at ``sent_at`` (aware UTC).

    Updates ``state`` (pass the same state for every send to this recipient; ``None``
    uses a throw-away fresh state). ``topic`` (a marketing plan's topic) scales opens and
    clicks by the recipient's topic affinity; ``sender_ip`` appears in provider replies.
    Returns events sorted by time, starting with "sent".
    """
    if state is None:
        state = RecipientState.initial(recipient)
    u = rng.random(16).tolist()
    host, domain, email = recipient.mailbox_host, recipient.email_domain, recipient.email
    t_h = sent_at.timestamp() / 3600.0
    token = int(u[1] * 2**48)
    events = [SimEvent("sent", sent_at, None, None, False, {"mx": mx_host(host, domain)})]
    state.sends += 1
    state.last_open_at = None
    lat_h = (0.5 + 4.5 * u[0]) * _SECOND

    status = recipient.status_at(sent_at)
    if status != "valid" or u[2] < TRANSIENT_SOFT_BOUNCE_RATE:
        kind = status if status != "valid" else "defer"
        reply = pick(host, kind, u[3])
        hard = status == "invalid"
        events.append(
            SimEvent(
                "bounced",
                _at(t_h + lat_h),
                reply.code,
                reply.enhanced,
                False,
                {
                    "reply": reply.render(email, domain, sender_ip, token, token % 9000),
                    "bounce_type": "hard" if hard else "soft",
                },
            )
        )
        if hard and state.hard_bounced_at is None:
            state.hard_bounced_at = events[-1].at
        return events

    deliver_h = t_h + lat_h
    if u[4] < DEFERRAL_RATE[host]:
        reply = pick(host, "defer", u[5])
        events.append(
            SimEvent(
                "deferred",
                _at(deliver_h),
                reply.code,
                reply.enhanced,
                False,
                {"reply": reply.render(email, domain, sender_ip, token)},
            )
        )
        deliver_h += (5.0 - 25.0 * math.log(u[6])) / 60.0  # retried after 5+ minutes
    accept = pick(host, "accept", 0.0)
    events.append(
        SimEvent(
            "delivered",
            _at(deliver_h),
            accept.code,
            accept.enhanced,
            False,
            {"reply": accept.render(email, domain, sender_ip, token, int(t_h))},
        )
    )
    state.delivered += 1
    counts = campaign_type != "transactional"
    if counts:
        state.fatigue, state.fatigue_at_h = fatigue_after(state, t_h)

    if recipient.apple_mpp:
        _mpp_prefetch(events, deliver_h, rng)
    if recipient.scanned_links and u[7] < SCAN_SAMPLE:
        _scan(events, deliver_h, n_links, rng)

    profile: Profile = state.profile
    x_sent, offset = profile.local_hours(sent_at)
    x_del = x_sent + (deliver_h - t_h)
    to_utc = _MONDAY_EPOCH_HOURS - offset
    g_del = profile.cumulative(x_del)
    if state.suppressed_before(sent_at):
        # Mail after an unsubscribe or complaint is not read, and annoys (§4 guidance).
        if u[14] < 0.03:
            x = profile.inverse(g_del + delay_sample(0.0, u[9], u[10], u[11]))
            _feedback(events, recipient, state, "complained", x + to_utc, "inbox")
        return sorted(events, key=_AT)

    p_open = open_probability(
        recipient, state, profile, x_del, deliver_h, campaign_type, topic, g_del
    )
    opened = u[8] < p_open
    complained = u[14] < complaint_probability(recipient, state, campaign_type)
    unsubscribed = (
        not complained and counts and u[15] < unsubscribe_probability(recipient, state, opened)
    )
    if opened or complained or unsubscribed:
        # When the person gets to the message: the open, or the inbox view where a
        # complaint or one-click unsubscribe happens without opening.
        quick = immediate_share(profile.cumulative(x_del + 1.0) - g_del)
        x_inbox = profile.inverse(g_del + delay_sample(quick, u[9], u[10], u[11]))
        inbox_h = x_inbox + to_utc
        if opened:
            _human_open(
                events,
                recipient,
                state,
                inbox_h,
                local_weekday(x_inbox) >= 5,
                campaign_type,
                variant,
                topic,
                n_links,
                u,
                rng,
            )
        if complained:
            _feedback(
                events,
                recipient,
                state,
                "complained",
                inbox_h + 30 * _SECOND,
                "opened" if opened else "inbox",
            )
        elif unsubscribed:
            _feedback(
                events,
                recipient,
                state,
                "unsubscribed",
                inbox_h + 60 * _SECOND,
                "link" if opened else "list_unsubscribe_post",
            )
    if not opened and counts:
        state.sends_since_open += 1
    events.sort(key=_AT)
    return events


def _human_open(
    events: list[SimEvent],
    recipient: Recipient,
    state: RecipientState,
    open_h: float,
    weekend: bool,
    campaign_type: str,
    variant: str | None,
    topic: str | None,
    n_links: int,
    u: list[float],
    rng: np.random.Generator,
) -> None:
    at = _at(open_h)
    state.human_opens += 1
    state.sends_since_open = 0
    state.last_open_at = at
    mobile = u[12] < MOBILE_OPEN_SHARE[recipient.device]
    client = clients.CLIENTS[state.mobile_client if mobile else state.desktop_client]
    ip = state.mobile_ip if mobile else state.home_ip
    v = rng.random(8).tolist()
    device = "mobile" if mobile else "desktop"
    if recipient.apple_mpp and u[13] < APPLE_MAIL_READ_SHARE:
        pass  # read in Apple Mail: the image was prefetched, the real open is never seen
    elif recipient.mailbox_host == "google":
        events.append(
            SimEvent(
                "opened",
                at,
                None,
                None,
                False,
                {
                    "user_agent": clients.GOOGLE_PROXY_UA,
                    "ip": clients.google_proxy_ip(v[0]),
                    "proxy": "google",
                },
            )
        )  # a real open seen through Gmail's image proxy (§3)
    else:
        events.append(
            SimEvent(
                "opened",
                at,
                None,
                None,
                False,
                {"user_agent": client[0], "ip": ip, "device": device},
            )
        )
        if v[1] < REOPEN:
            again = open_h + (60.0 - 3600.0 * math.log(v[2]) * 6) * _SECOND
            events.append(
                SimEvent(
                    "opened",
                    _at(again),
                    None,
                    None,
                    False,
                    {"user_agent": client[0], "ip": ip, "device": device},
                )
            )
    ctor = click_to_open(recipient, campaign_type, variant, topic, mobile, weekend)
    if v[3] >= ctor:
        return
    state.human_clicks += 1
    click_h = open_h + (5.0 + 25.0 * math.exp(1.0 * _z(v[4], v[5]))) * _SECOND
    links = [_link(v[6], n_links)]
    if v[7] < SECOND_CLICK and n_links > 1:
        links.append((links[0] + 1) % n_links)
    for k, link in enumerate(links):
        events.append(
            SimEvent(
                "clicked",
                _at(click_h + k * 90 * _SECOND),
                None,
                None,
                False,
                {
                    "user_agent": client[1],
                    "ip": ip,
                    "link": link,
                    "method": "GET",
                    "device": device,
                },
            )
        )


def _feedback(
    events: list[SimEvent],
    recipient: Recipient,
    state: RecipientState,
    kind: str,
    at_h: float,
    channel: str,
) -> None:
    at = _at(at_h)
    if kind == "complained":
        state.complained_at = state.complained_at or at
        # Gmail sends no per-message feedback loop; complaints surface only in aggregate.
        report = "postmaster_aggregate" if recipient.provider == "gmail" else "arf"
        events.append(SimEvent(kind, at, None, None, False, {"channel": channel, "report": report}))
    else:
        state.unsubscribed_at = state.unsubscribed_at or at
        method = "GET" if channel == "link" else "POST"
        events.append(SimEvent(kind, at, None, None, False, {"channel": channel, "method": method}))


def _mpp_prefetch(events: list[SimEvent], deliver_h: float, rng: np.random.Generator) -> None:
    w = rng.random(3).tolist()
    if w[0] < MPP_FETCH_SOON:
        delay = (20.0 - 90.0 * math.log(w[1])) * _SECOND  # minutes after delivery
    elif w[0] < MPP_FETCH_SOON + MPP_FETCH_LATER:
        delay = 0.5 + 9.5 * w[1]  # when the phone is next charging on Wi-Fi
    else:
        return
    events.append(
        SimEvent(
            "opened",
            _at(deliver_h + delay),
            None,
            None,
            True,
            {"user_agent": clients.MPP_UA, "ip": clients.mpp_ip(w[2])},
        )
    )


def _scan(events: list[SimEvent], deliver_h: float, n_links: int, rng: np.random.Generator) -> None:
    w = rng.random(4 + 2 * n_links).tolist()
    ip = clients.scanner_ip(w[0])
    ua = clients.SCANNER_UAS[0 if w[1] < 0.7 else 1]
    if w[2] < SCANNER_OPEN:
        at = _at(deliver_h + SCANNER_CLICK_WINDOW_SECONDS.value * w[3] * _SECOND)
        events.append(SimEvent("opened", at, None, None, True, {"user_agent": ua, "ip": ip}))
    for link in range(n_links):
        at = _at(deliver_h + SCANNER_CLICK_WINDOW_SECONDS.value * w[4 + 2 * link] * _SECOND)
        method = "HEAD" if w[5 + 2 * link] < 0.4 else "GET"
        events.append(
            SimEvent(
                "clicked",
                at,
                None,
                None,
                True,
                {"user_agent": ua, "ip": ip, "link": link, "method": method},
            )
        )


def _link(v: float, n_links: int) -> int:
    # Earlier links get more clicks: weights 1, 1/2, 1/3, ...
    weights = [1.0 / (i + 1) for i in range(max(n_links, 1))]
    target = v * sum(weights)
    for i, w in enumerate(weights):
        target -= w
        if target < 0:
            return i
    return len(weights) - 1


def _z(u1: float, u2: float) -> float:
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)
