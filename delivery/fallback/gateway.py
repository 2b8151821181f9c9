"""The interface every fallback gateway implements, and what passes through it.

A gateway takes one :class:`FallbackDelivery` (a message whose email delivery was exhausted,
already rendered as a PDF and reachable through a signed, expiring secure link) and either
returns a :class:`GatewayReceipt` or raises a
:class:`~delivery.fallback.errors.GatewayError` (``GatewayUnavailable`` when it might work
later, ``GatewayRejected`` when it never will). Adapters: :mod:`.twilio` (SMS through the
Twilio Messages API or anything speaking it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FallbackDelivery:
    """One message for the fallback channel."""

    message_id: uuid.UUID
    channel: str  # the campaign's fallback channel, e.g. "sms"
    recipient: str  # where the gateway sends it: an E.164 phone number for SMS
    subject: str  # the email's subject, for the short text that carries the link
    link: str  # the signed, expiring URL of the PDF
    pdf: bytes  # the document itself, for gateways that carry it rather than a link


@dataclass(frozen=True)
class GatewayReceipt:
    """What the gateway answered when it took a delivery."""

    channel: str
    gateway: str  # the adapter's name, e.g. "twilio"
    reference: str  # the gateway's id of the delivery (a Twilio message SID)
    status: str  # the gateway's own status word ("queued", "sent", ...)


class FallbackGateway(Protocol):
    """A way to reach a recipient outside email."""

    @property
    def channel(self) -> str:
        """The channel this gateway delivers on (what campaigns opt in to)."""
        ...

    @property
    def name(self) -> str:
        """The adapter's name, recorded with each delivery."""
        ...

    def deliver(self, delivery: FallbackDelivery) -> GatewayReceipt:
        """Hand ``delivery`` to the gateway; raises a ``GatewayError`` when it is not taken."""
        ...

    def close(self) -> None:
        """Release the gateway's connections."""
        ...
