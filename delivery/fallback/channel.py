"""The last resort of a message whose email delivery was exhausted (every retry and the
fallback routes failed) when its campaign opted in: the rendered message as a PDF, kept
behind a secure link, handed to the gateway of the campaign's channel.

Only exhausted deliveries come here: hard bounces, suppressions, consent refusals and
residency violations end the message before this point and are never routed around. The
worker records the result as the message's one terminal state (see
:func:`delivery.outcomes.record_fallback`): ``delivered`` on the gateway's channel, or
``failed`` with the gateway's reason.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg

from compliance.crypto import PiiCipher

from ..queue import Claimed
from .documents import DocumentLinks, store_document
from .errors import FallbackError, GatewayRejected
from .gateway import FallbackDelivery, FallbackGateway, GatewayReceipt
from .pdf import html_and_subject, render_pdf
from .phones import phone_of

log = logging.getLogger(__name__)
T = TypeVar("T")
# Runs ``fn(conn, *args)`` in one transaction of the region cell (the worker's Database.region).
InCell = Callable[..., Any]


@dataclass(frozen=True)
class FallbackResult:
    """How the fallback went: a receipt, or why it failed."""

    channel: str
    receipt: GatewayReceipt | None = None
    failure: str | None = None


class FallbackChannel:
    """The gateways by channel, the cipher and the secure links of one worker."""

    def __init__(
        self, gateways: Mapping[str, FallbackGateway], cipher: PiiCipher, links: DocumentLinks
    ) -> None:
        self.gateways = dict(gateways)
        self.cipher = cipher
        self.links = links
        self._channels: dict[uuid.UUID, str | None] = {}
        self._render_lock = threading.Lock()  # pango and cairo are not shared across threads

    def channel_for(self, conn: psycopg.Connection, campaign_id: uuid.UUID | None) -> str | None:
        """The fallback channel the campaign opted in to (control database), or None. Kept
        once read: a campaign changes only while it is a draft, before it sends."""
        if campaign_id is None:
            return None
        if campaign_id not in self._channels:
            row = conn.execute(
                "SELECT fallback_channel FROM campaigns WHERE campaign_id = %s", (campaign_id,)
            ).fetchone()
            self._channels[campaign_id] = row[0] if row else None
        return self._channels[campaign_id]

    def deliver(
        self, in_cell: InCell, message: Claimed, mime: bytes, channel: str, region: str
    ) -> FallbackResult:
        """Render, keep and hand over one exhausted message; never raises a FallbackError
        (the result says what failed)."""
        try:
            receipt = self._deliver(in_cell, message, mime, channel, region)
        except FallbackError as exc:
            log.warning("fallback %s of message %s failed: %s", channel, message.message_id, exc)
            return FallbackResult(channel, failure=str(exc))
        log.info(
            "message %s delivered on the fallback channel %s (%s %s)",
            message.message_id, channel, receipt.gateway, receipt.reference,
        )  # fmt: skip
        return FallbackResult(channel, receipt=receipt)

    def _deliver(
        self, in_cell: InCell, message: Claimed, mime: bytes, channel: str, region: str
    ) -> GatewayReceipt:
        gateway = self.gateways.get(channel)
        if gateway is None:
            raise GatewayRejected(channel, f"no gateway is configured for the {channel} channel")
        phone = in_cell(phone_of, self.cipher, message.contact_id)
        html, subject = html_and_subject(mime)
        with self._render_lock:
            pdf = render_pdf(html)
        expires_at = datetime.now(UTC) + self.links.ttl
        in_cell(store_document, self.cipher, message.message_id, pdf, expires_at)
        delivery = FallbackDelivery(
            message.message_id, channel, phone, subject,
            self.links.url(message.message_id, region), pdf,
        )  # fmt: skip
        return gateway.deliver(delivery)

    def close(self) -> None:
        """Close every gateway's connections."""
        for gateway in self.gateways.values():
            gateway.close()
