"""What the tracking endpoints do, without HTTP: check the token, find the message, tell
machine from person (:mod:`serving.tracking.bots`) and record the event (:mod:`.store`).

Behaviour at the edges (the endpoints' contract):

- open pixel: a token that does not verify, or a message no cell knows, records nothing, but
  the client still gets its GIF (a broken image helps nobody, and a scraper learns nothing
  about which tokens are real);
- click: only a verified click token redirects, and only to the URL signed into it; a bad
  token or a destination that is no absolute http(s) URL is refused (:class:`TrackingError`);
  a verified click still redirects when its event cannot be recorded (the person reaches the
  page; the failure is logged);
- the honeypot link answers with an empty page and marks its client as a scanner;
- unsubscribe: never on GET (scanners and prefetchers follow links); a POST must carry
  ``List-Unsubscribe=One-Click`` (RFC 8058), and the suppression must be stored before success
  is shown, so a database failure is a :class:`ServiceUnavailable`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg

from delivery.message import HONEYPOT, InvalidToken, TrackingSigner
from warehouse.errors import WarehouseError

from ..errors import InvalidTrackingLink, ServiceUnavailable, UnknownRecipient, UnsafeRedirect
from .bots import BotRules, Hit, Verdict
from .store import MessageRef, TrackingStore, Unsubscribed

log = logging.getLogger(__name__)
MAX_USER_AGENT = 512
# What a failing warehouse raises (a pool timeout is an OperationalError too).
RECORDING_ERRORS = (psycopg.Error, WarehouseError)


@dataclass(frozen=True)
class Claims:
    """A verified token's contents."""

    message_id: uuid.UUID
    region: str | None
    sent_at: datetime | None
    link: int | str | None = None
    url: str | None = None
    contact_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None

    @property
    def honeypot(self) -> bool:
        return self.link == HONEYPOT


@dataclass(frozen=True)
class Client:
    """Who sent the request, as far as the endpoint can tell."""

    user_agent: str
    ip: str | None
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names


@dataclass(frozen=True)
class Click:
    """Where a click goes: ``url`` (302), or nowhere for the honeypot."""

    url: str | None
    recorded: bool
    verdict: Verdict | None = None


class Tracker:
    """The tracking endpoints' logic over a signer, the bot rules and a store."""

    def __init__(
        self,
        signer: TrackingSigner,
        rules: BotRules,
        store: TrackingStore,
        on_human_hit: Callable[[Literal["opened", "clicked"], uuid.UUID], None] | None = None,
    ) -> None:
        self.signer = signer
        self.rules = rules
        self.store = store
        # Called with ("opened" | "clicked", org id) for each new hit of a person (not a
        # bot): the live per-minute counters (serving.limits.counters).
        self.on_human_hit = on_human_hit

    def claims(self, kind: Literal["open", "click", "unsubscribe"], token: str) -> Claims:
        """The verified claims of ``token``, or :class:`InvalidTrackingLink`."""
        try:
            payload = self.signer.verify(kind, token)
        except InvalidToken as exc:
            raise InvalidTrackingLink(f"this {kind} link is not valid: {exc}") from None
        try:
            return _claims(payload)
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            raise InvalidTrackingLink(f"this {kind} link carries malformed claims") from None

    def open(self, token: str, client: Client, now: datetime | None = None) -> Verdict | None:
        """Record an open of the pixel ``token``; None when nothing was recorded."""
        try:
            claims = self.claims("open", token)
        except InvalidTrackingLink:
            log.debug("open pixel with an invalid token")
            return None
        now = now or datetime.now(UTC)
        try:
            ref = self.store.find_message(claims.message_id, claims.region)
            if ref is None:
                log.info("open of unknown message %s", claims.message_id)
                return None
            verdict, details = self._judge("open", claims, ref, client, now)
            recorded = self.store.record_hit(ref, "opened", "pixel", verdict.is_bot, details, now)
        except RECORDING_ERRORS as exc:
            log.warning("open of %s not recorded: %s", claims.message_id, exc)
            return None
        if recorded and not verdict.is_bot and self.on_human_hit is not None:
            self.on_human_hit("opened", ref.org_id)
        return verdict

    def click(self, token: str, client: Client, now: datetime | None = None) -> Click:
        """The destination of the click ``token`` (checked), with the click recorded."""
        claims = self.claims("click", token)
        url = None if claims.honeypot else _safe_url(claims.url)
        now = now or datetime.now(UTC)
        if claims.honeypot:
            self.store.remember_scanner(client.ip, client.user_agent)
        try:
            ref = self.store.find_message(claims.message_id, claims.region)
            if ref is None:
                log.info("click of unknown message %s", claims.message_id)
                return Click(url, recorded=False)
            verdict, details = self._judge("click", claims, ref, client, now)
            details["link"] = str(claims.link)
            if url is not None:
                details["url"] = url
            recorded = self.store.record_hit(
                ref, "clicked", f"link:{claims.link}", verdict.is_bot, details, now
            )
        except RECORDING_ERRORS as exc:
            # The person still reaches the page; only the record is lost.
            log.warning("click of %s not recorded: %s", claims.message_id, exc)
            return Click(url, recorded=False)
        if recorded and not verdict.is_bot and self.on_human_hit is not None:
            self.on_human_hit("clicked", ref.org_id)
        return Click(url, recorded, verdict)

    def unsubscribe_claims(self, token: str) -> Claims:
        """The verified claims of an unsubscribe ``token`` (for the confirmation page)."""
        claims = self.claims("unsubscribe", token)
        if claims.contact_id is None:
            raise InvalidTrackingLink("this unsubscribe link names no recipient")
        return claims

    def unsubscribe(
        self, token: str, client: Client, channel: str, now: datetime | None = None
    ) -> Unsubscribed:
        """Unsubscribe the recipient of ``token`` (idempotent); :class:`ServiceUnavailable`
        when it cannot be stored."""
        claims = self.unsubscribe_claims(token)
        now = now or datetime.now(UTC)
        try:
            return self._unsubscribe(claims, client, channel, now)
        except RECORDING_ERRORS as exc:
            log.warning("unsubscribe of %s not stored: %s", claims.message_id, exc)
            raise ServiceUnavailable("the unsubscribe could not be stored; try again") from None

    def _unsubscribe(
        self, claims: Claims, client: Client, channel: str, now: datetime
    ) -> Unsubscribed:
        assert claims.contact_id is not None
        ref = self.store.find_message(claims.message_id, claims.region)
        org_id = ref.org_id if ref is not None else claims.org_id
        if org_id is None:
            raise UnknownRecipient("the message of this link is no longer known")
        region = ref.region if ref is not None else claims.region
        if region not in self.store.cells.regions:
            region = self.store.find_contact_region(claims.contact_id, org_id)
        if region is None:
            raise UnknownRecipient("the recipient of this link is no longer known")
        details = {
            "channel": channel,
            "method": client.method,
            "user_agent": client.user_agent[:MAX_USER_AGENT],
            "ip": client.ip,
        }
        return self.store.unsubscribe(region, org_id, claims.contact_id, ref, details, now)

    def _judge(
        self,
        kind: Literal["open", "click"],
        claims: Claims,
        ref: MessageRef,
        client: Client,
        now: datetime,
    ) -> tuple[Verdict, dict[str, Any]]:
        delivered = ref.delivered_at or claims.sent_at
        seconds = max((now - delivered).total_seconds(), 0.0) if delivered else None
        verdict = self.rules.classify(
            Hit(
                kind=kind,
                user_agent=client.user_agent,
                ip=client.ip,
                method=client.method,
                seconds_after_delivery=seconds,
                headers=client.headers,
                honeypot=claims.honeypot,
                known_scanner=(not claims.honeypot)
                and self.store.is_known_scanner(client.ip, client.user_agent),
            )
        )
        details: dict[str, Any] = {
            "user_agent": client.user_agent[:MAX_USER_AGENT],
            "ip": client.ip,
            "method": client.method.upper(),
        }
        if seconds is not None:
            details["seconds_after_delivery"] = round(seconds, 3)
        if verdict.reasons:
            details["bot_reasons"] = list(verdict.reasons)
        if verdict.proxy:
            details["proxy"] = verdict.proxy
        return verdict, details


def _claims(payload: Mapping[str, Any]) -> Claims:
    sent = payload.get("t")
    contact, org, region = payload.get("c"), payload.get("o"), payload.get("r")
    link = payload.get("l")
    return Claims(
        message_id=uuid.UUID(str(payload["m"])),
        region=str(region) if region is not None else None,
        sent_at=datetime.fromtimestamp(int(sent), UTC) if sent is not None else None,
        link=link if isinstance(link, int | str) else None,
        url=payload.get("u"),
        contact_id=uuid.UUID(str(contact)) if contact is not None else None,
        org_id=uuid.UUID(str(org)) if org is not None else None,
    )


def _safe_url(url: object) -> str:
    """``url`` if it is an absolute http(s) URL without control characters."""
    if not isinstance(url, str) or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeRedirect("this link has no valid destination")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeRedirect("this link's destination is not a web address")
    return url
