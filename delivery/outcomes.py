"""What an SMTP answer does to a leased message, in one transaction: its queue state and
its events (through the event writer), and the suppression of a hard-bounced address.

- delivered: ``sent`` and ``delivered`` events, terminal;
- bounced: a ``bounced`` event with the reason; a hard bounce suppresses the address for
  the organization; terminal;
- deferred: a ``deferred`` event and a retry after the policy's backoff (on the fallback
  route once the policy says so), or, after the last attempt, ``failed`` (terminal).

``record_delivered`` records many delivered messages together (what a worker's batch of
concurrent sends mostly is). ``record_fallback`` ends a message whose last deferral
exhausted email and whose campaign's fallback channel was tried: ``delivered`` on that
channel (``messages.delivered_channel``, ``details.channel`` of its event) or ``failed``.
``record_unsent`` ends a message that is never sent:
``suppressed`` or ``failed`` with a reason (a template that blew up, a header injection, a
consent withdrawn meanwhile).

Event ids are derived from the message, the kind and the attempt, so recording the same
outcome twice (a worker retrying after a lost commit) writes nothing twice. A worker that
lost its lease records nothing (``"lost"``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import psycopg

from delivery.bounces.reasons import ENHANCED_CODE
from delivery.fallback.gateway import GatewayReceipt
from warehouse.events import EmailEvent, event_id_for

from .queue import Claimed, defer, finish, finish_delivered
from .retry import RetryPolicy, after_deferral
from .smtp import SmtpOutcome


class EventSink(Protocol):
    """Where outcome events go: a :class:`warehouse.events.EventWriter`, or a buffer that
    writes the events of several outcomes together."""

    def write(self, conn: psycopg.Connection, events: Sequence[EmailEvent]) -> int: ...


@dataclass(frozen=True)
class Recorded:
    status: str  # the message's state now, or "lost"
    next_route: str | None = None


def record_outcome(
    conn: psycopg.Connection,
    writer: EventSink,
    worker_id: str,
    message: Claimed,
    outcome: SmtpOutcome,
    *,
    route: str,
    fallback_route: str | None,
    region: str,
    policy: RetryPolicy,
    rng: random.Random,
    now: datetime | None = None,
) -> Recorded:
    """Apply ``outcome`` of the message's current attempt through ``route``."""
    now = now or datetime.now(UTC)
    details: dict[str, object] = {
        "reply": outcome.text[:500],
        "reason": outcome.reason,
        "hard": outcome.hard,
        # What the marts read (stg_email_events.bounce_type): a 5xx is not always hard.
        "bounce_type": "hard" if outcome.hard else "soft",
    }
    if outcome.status == "delivered":
        if not finish(conn, worker_id, message, "delivered", route=route, smtp_code=outcome.code):
            return Recorded("lost")
        _events(writer, conn, message, region, route, now, outcome, ["sent", "delivered"], {})
        return Recorded("delivered")
    if outcome.status == "bounced":
        if not finish(
            conn, worker_id, message, "bounced", route=route, smtp_code=outcome.code,
            error=outcome.text[:500],
        ):  # fmt: skip
            return Recorded("lost")
        _events(writer, conn, message, region, route, now, outcome, ["bounced"], details)
        if outcome.hard:
            _suppress(conn, message, "hard_bounce")
        return Recorded("bounced")
    decision = after_deferral(message.attempts, policy, rng)
    if decision.give_up:
        if not finish(
            conn, worker_id, message, "failed", route=route, smtp_code=outcome.code,
            error=outcome.text[:500],
        ):  # fmt: skip
            return Recorded("lost")
        _events(writer, conn, message, region, route, now, outcome, ["deferred", "failed"], details)
        return Recorded("failed")
    assert decision.delay is not None
    next_route = fallback_route if decision.use_fallback and fallback_route else route
    if not defer(
        conn, worker_id, message, now + decision.delay, route=next_route,
        smtp_code=outcome.code, error=outcome.text[:500],
    ):  # fmt: skip
        return Recorded("lost")
    retry: dict[str, object] = {
        **details,
        "retry_at": (now + decision.delay).isoformat(),
        "next_route": next_route,
    }
    _events(writer, conn, message, region, route, now, outcome, ["deferred"], retry)
    return Recorded("deferred", next_route)


def record_delivered(
    conn: psycopg.Connection,
    writer: EventSink,
    worker_id: str,
    sent: Sequence[tuple[Claimed, str, SmtpOutcome]],
    *,
    region: str,
    now: datetime | None = None,
) -> list[Recorded]:
    """:func:`record_outcome` for many delivered messages (message, route, outcome) at once:
    one statement for their states, then the events of those whose lease was still held."""
    now = now or datetime.now(UTC)
    held = finish_delivered(
        conn, worker_id, [(message, route, outcome.code) for message, route, outcome in sent]
    )
    recorded = []
    for message, route, outcome in sent:
        if message.message_id not in held:
            recorded.append(Recorded("lost"))
            continue
        _events(writer, conn, message, region, route, now, outcome, ["sent", "delivered"], {})
        recorded.append(Recorded("delivered"))
    return recorded


def record_fallback(
    conn: psycopg.Connection,
    writer: EventSink,
    worker_id: str,
    message: Claimed,
    outcome: SmtpOutcome,
    route: str,
    region: str,
    channel: str,
    receipt: GatewayReceipt | None,
    failure: str | None,
    *,
    now: datetime | None = None,
) -> Recorded:
    """The one terminal state of an exhausted message after its fallback ``channel``: the
    last email deferral as a ``deferred`` event, then ``delivered`` (``receipt``: the
    gateway took it) or ``failed`` (``failure``: why not) with the channel in the details."""
    now = now or datetime.now(UTC)
    email_error = outcome.text[:500]
    deferral: dict[str, object] = {
        "reply": email_error, "reason": outcome.reason, "hard": outcome.hard,
        "bounce_type": "hard" if outcome.hard else "soft", "fallback_channel": channel,
    }  # fmt: skip
    if receipt is not None:
        if not finish(
            conn, worker_id, message, "delivered", route=route, smtp_code=outcome.code,
            error=email_error, channel=receipt.channel,
        ):  # fmt: skip
            return Recorded("lost")
        _events(writer, conn, message, region, route, now, outcome, ["deferred"], deferral)
        delivered: dict[str, object] = {
            "channel": receipt.channel, "gateway": receipt.gateway,
            "reference": receipt.reference, "gateway_status": receipt.status,
        }  # fmt: skip
        unsent = SmtpOutcome("delivered", None, "")
        _events(writer, conn, message, region, route, now, unsent, ["delivered"], delivered)
        return Recorded("delivered")
    reason = f"email: {email_error}; fallback {channel}: {failure or 'not delivered'}"[:500]
    if not finish(
        conn, worker_id, message, "failed", route=route, smtp_code=outcome.code, error=reason
    ):
        return Recorded("lost")
    failed = {**deferral, "channel": channel, "fallback_error": (failure or "")[:500]}
    _events(writer, conn, message, region, route, now, outcome, ["deferred", "failed"], failed)
    return Recorded("failed")


def record_unsent(
    conn: psycopg.Connection,
    writer: EventSink,
    worker_id: str,
    message: Claimed,
    status: str,
    *,
    region: str,
    reason: str,
    details: dict[str, object] | None = None,
    route: str | None = None,
    now: datetime | None = None,
) -> Recorded:
    """End a leased message without sending it: ``suppressed`` (suppression list, consent)
    or ``failed`` (it could not be rendered or assembled, or a provider policy refused it),
    with an event of that type carrying ``reason``."""
    if status not in ("suppressed", "failed"):
        raise ValueError(f"a message ends unsent as suppressed or failed, not {status!r}")
    now = now or datetime.now(UTC)
    if not finish(conn, worker_id, message, status, route=route, error=reason[:500]):
        return Recorded("lost")
    unsent = SmtpOutcome(status, None, "")
    event_details: dict[str, object] = {"reason": reason[:500], **(details or {})}
    _events(writer, conn, message, region, route, now, unsent, [status], event_details)
    return Recorded(status)


def _events(
    writer: EventSink,
    conn: psycopg.Connection,
    message: Claimed,
    region: str,
    route: str | None,
    now: datetime,
    outcome: SmtpOutcome,
    kinds: list[str],
    details: dict[str, object],
) -> None:
    enhanced = _enhanced(outcome.text)
    writer.write(
        conn,
        [
            EmailEvent(
                event_id=event_id_for(message.message_id, kind, message.attempts),
                event_time=now,
                message_id=message.message_id,
                contact_id=message.contact_id,
                org_id=message.org_id,
                campaign_id=message.campaign_id,
                campaign_type=message.campaign_type,
                region=region,
                type=kind,
                smtp_code=outcome.code if kind != "sent" else None,
                enhanced_code=enhanced if kind != "sent" else None,
                route=route,
                details=details,
            )
            for kind in kinds
        ],
    )


def _enhanced(text: str) -> str | None:
    found = ENHANCED_CODE.search(text)
    return ".".join(found.groups()) if found else None


def _suppress(conn: psycopg.Connection, message: Claimed, reason: str) -> None:
    conn.execute(
        "INSERT INTO suppressions (org_id, email_blind_index, reason, source) "
        "SELECT org_id, email_blind_index, %s, 'delivery' FROM contacts "
        "WHERE contact_id = %s ON CONFLICT DO NOTHING",
        (reason, message.contact_id),
    )
