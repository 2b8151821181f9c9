"""Recipients that open, click and unsubscribe by calling the real tracking endpoints.

Given the messages a :class:`~simulator.esp.SimulatedEsp` accepted, :func:`plan_engagement`
reads each one as a mail client would (the 1x1 pixel, the visible links, the hidden ones, the
``List-Unsubscribe`` header) and draws what happens to it from the recipient's latent
behaviour with :func:`~simulator.behaviour.simulate_send` (seeded: the same messages, world
and seed give the same plan). :func:`drive` then performs the plan over HTTP with httpx:

- machine traffic first, right after delivery: Apple Mail Privacy Protection fetching the
  pixel with its bare ``Mozilla/5.0`` from 17.0.0.0/8, and gateway link scanners following
  every link of a message, the hidden honeypot included, from Azure-like addresses;
- people after ``human_delay_seconds`` (time is compressed: a person who opens hours later
  in the simulation opens once the delay has passed, in the simulated order): the pixel
  with their mail client's user agent (or through Gmail's image proxy), clicks on visible
  links with their browser's, and unsubscribes (the confirmation page's button or the
  RFC 8058 one-click POST).

Redirects are checked, never followed (the destinations are other people's sites). The
client address is sent as ``X-Forwarded-For`` from loopback: the API trusts it from there,
as it would from its load balancer. Work is bounded by a concurrency limit and timeouts.
Complaints travel as ARF reports, not over HTTP, and are not part of this module.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from html import unescape
from typing import TYPE_CHECKING, Literal

import httpx
import numpy as np

from . import clients
from .behaviour import SimEvent, simulate_send

if TYPE_CHECKING:
    from .world import Recipient

log = logging.getLogger(__name__)

_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'\b([a-z-]+)="([^"]*)"', re.IGNORECASE)
_HIDDEN = re.compile(r"display\s*:\s*none", re.IGNORECASE)

ActionKind = Literal["open", "click", "unsubscribe"]


class EngagementError(RuntimeError):
    """A message the simulated recipients cannot read (no HTML part)."""


PREFERENCE_CENTER = "/t/p/"  # path of the preference-center link in every email's footer


@dataclass(frozen=True)
class TrackedMessage:
    """What a mail client finds in one accepted message."""

    recipient: str
    pixel: str | None
    links: tuple[str, ...]  # visible http(s) links, in document order
    hidden_links: tuple[str, ...]  # links nobody sees (a scanner follows them too)
    unsubscribe: str | None  # the https List-Unsubscribe URL
    one_click: bool  # List-Unsubscribe-Post: List-Unsubscribe=One-Click


@dataclass(frozen=True)
class Action:
    """One HTTP request a simulated recipient or machine makes."""

    message: int  # index into the planned messages
    kind: ActionKind
    url: str
    method: str
    user_agent: str
    ip: str
    machine: bool  # ground truth, for evaluating the endpoints' bot flags
    at: datetime  # simulated time (orders a message's actions)
    link: int | str | None = None  # visible link index, or "hidden"
    channel: str | None = None  # unsubscribes: "link" (the page) or "list_unsubscribe_post"


@dataclass
class Plan:
    messages: list[TrackedMessage]
    actions: list[Action]


@dataclass(frozen=True)
class Outcome:
    action: Action
    status: int | None  # None: no answer (timeout, refused)
    location: str | None = None  # where a 302 pointed (never followed)


@dataclass
class EngagementReport:
    """What :func:`drive` did, one outcome per action."""

    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, kind: ActionKind, machine: bool | None = None) -> int:
        """Answered actions of ``kind`` (by machines or people when ``machine`` is set)."""
        return sum(
            1
            for o in self.outcomes
            if o.action.kind == kind and o.status is not None and o.status < 400
            and (machine is None or o.action.machine == machine)
        )  # fmt: skip

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is None or o.status >= 400]


def read_message(recipient: str, raw: bytes) -> TrackedMessage:
    """The tracking pixel, links and unsubscribe URL of one raw message."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    part = parsed.get_body(("html",))
    if part is None:
        raise EngagementError(f"the message to {recipient} has no HTML part")
    html = part.get_content()
    pixel = None
    for tag in _IMG.findall(html):
        attrs = {k.lower(): v for k, v in _ATTR.findall(tag)}
        if attrs.get("width") == "1" and attrs.get("height") == "1" and "src" in attrs:
            pixel = unescape(attrs["src"])
    visible: list[str] = []
    hidden: list[str] = []
    for tag in _ANCHOR.findall(html):
        attrs = {k.lower(): v for k, v in _ATTR.findall(tag)}
        href = unescape(attrs.get("href", ""))
        if not href.startswith(("http://", "https://")):
            continue
        if PREFERENCE_CENTER in href:  # the footer's settings link, not the content's
            continue
        (hidden if _HIDDEN.search(attrs.get("style", "")) else visible).append(href)
    unsubscribe = None
    for entry in str(parsed.get("List-Unsubscribe", "")).split(","):
        url = entry.strip().strip("<>")
        if url.startswith(("http://", "https://")):
            unsubscribe = url
    one_click = str(parsed.get("List-Unsubscribe-Post", "")).strip() == "List-Unsubscribe=One-Click"
    return TrackedMessage(recipient, pixel, tuple(visible), tuple(hidden), unsubscribe, one_click)


@dataclass(frozen=True)
class SendContext:
    """When a recipient's message counts as sent and which content variant it carries.

    On a compressed clock a message scheduled hours ahead is delivered at once; its
    recipient reads it as if it had arrived at ``sent_at``."""

    sent_at: datetime
    variant: str | None = None


def plan_engagement(
    accepted: Sequence[tuple[str, bytes]],
    recipients: Mapping[str, Recipient],
    *,
    seed: int,
    sent_at: datetime | None = None,
    campaign_type: str = "marketing",
    variant: str | None = None,
    context: Mapping[str, SendContext] | None = None,
) -> Plan:
    """What the recipients of ``accepted`` (``(address, raw message)`` pairs, as
    ``SimulatedEsp.counters.delivered`` holds them) do, drawn from their latent behaviour.

    Addresses not in ``recipients`` (keyed by lower-case address) are skipped. ``context``
    (keyed by lower-case address) overrides ``sent_at`` and ``variant`` per recipient.
    """
    sent_at = sent_at or datetime.now(UTC)
    context = context or {}
    messages: list[TrackedMessage] = []
    actions: list[Action] = []
    seen: dict[str, int] = {}
    for address, raw in accepted:
        recipient = recipients.get(address.lower())
        if recipient is None:
            continue
        message = read_message(address, raw)
        index = len(messages)
        messages.append(message)
        nth = seen[address.lower()] = seen.get(address.lower(), -1) + 1
        rng = np.random.default_rng([seed, recipient.index, nth, zlib.crc32(b"http")])
        own = context.get(address.lower())
        events = simulate_send(
            recipient,
            None,
            own.sent_at if own else sent_at,
            campaign_type,
            own.variant if own else variant,
            rng,
            n_links=max(len(message.links), 1),
        )
        actions.extend(_actions(index, message, events))
    return Plan(messages, actions)


def _actions(index: int, message: TrackedMessage, events: Sequence[SimEvent]) -> list[Action]:
    out: list[Action] = []
    scanned = False
    for event in events:
        kind, at, is_bot, details = event.type, event.at, event.is_bot, event.details
        ua, ip = str(details.get("user_agent", "")), str(details.get("ip", "127.0.0.1"))
        method = str(details.get("method", "GET"))
        if kind == "opened" and message.pixel:
            out.append(Action(index, "open", message.pixel, "GET", ua, ip, is_bot, at))
        elif kind == "clicked" and message.links:
            link = int(details.get("link", 0)) % len(message.links)
            out.append(
                Action(index, "click", message.links[link], method, ua, ip, is_bot, at, link)
            )
            if is_bot and not scanned:
                # A scanner follows every href, hidden ones too.
                scanned = True
                out.extend(
                    Action(index, "click", url, method, ua, ip, True, at, "hidden")
                    for url in message.hidden_links
                )
        elif kind == "unsubscribed" and message.unsubscribe:
            channel = str(details.get("channel", "link"))
            if channel == "list_unsubscribe_post" and not message.one_click:
                channel = "link"
            person_ua, person_ip = clients.CLIENTS[0][1], clients.person_ip("na", index)
            out.append(
                Action(
                    index, "unsubscribe", message.unsubscribe, "POST", person_ua, person_ip,
                    False, at, channel=channel,
                )
            )  # fmt: skip
    return out


async def drive(
    plan: Plan,
    *,
    human_delay_seconds: float = 11.0,
    concurrency: int = 16,
    timeout_seconds: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> EngagementReport:
    """Perform ``plan`` over HTTP: machines at once, people after ``human_delay_seconds``
    (counted from this call: call it right after delivery)."""
    report = EngagementReport()
    started = time.monotonic()
    limit = asyncio.Semaphore(concurrency)
    by_message: dict[int, list[Action]] = {}
    for action in sorted(plan.actions, key=lambda a: (a.message, a.at)):
        by_message.setdefault(action.message, []).append(action)
    timeout = httpx.Timeout(timeout_seconds)
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, transport=transport
    ) as client:

        async def run(actions: list[Action], machine: bool) -> None:
            if not machine:
                await asyncio.sleep(max(0.0, started + human_delay_seconds - time.monotonic()))
            for action in actions:
                async with limit:
                    report.outcomes.append(await _perform(client, action))

        await asyncio.gather(
            *(
                run([a for a in actions if a.machine == machine], machine)
                for actions in by_message.values()
                for machine in (True, False)
            )
        )
    return report


async def _perform(client: httpx.AsyncClient, action: Action) -> Outcome:
    headers = {"User-Agent": action.user_agent, "X-Forwarded-For": action.ip}
    try:
        if action.kind == "unsubscribe":
            if action.channel == "link":
                page = await client.get(action.url, headers=headers)
                if page.status_code != 200:
                    return Outcome(action, page.status_code)
                form = {"List-Unsubscribe": "One-Click", "source": "page"}
            else:
                form = {"List-Unsubscribe": "One-Click"}
            response = await client.post(action.url, data=form, headers=headers)
        else:
            response = await client.request(action.method, action.url, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("%s %s failed: %s", action.method, action.url, exc)
        return Outcome(action, None)
    return Outcome(action, response.status_code, response.headers.get("location"))
