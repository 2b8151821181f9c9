"""The fallback channel the settings describe (what the worker and the tracking app use)."""

from __future__ import annotations

from datetime import timedelta

from compliance.crypto import PiiCipher
from postwise.settings import Settings

from .channel import FallbackChannel
from .documents import DocumentLinks
from .gateway import FallbackGateway
from .twilio import TwilioSmsGateway


def document_links(settings: Settings) -> DocumentLinks:
    """Secure links on the tracking host, signed with the tracking secret."""
    return DocumentLinks(
        settings.tracking_secret,
        settings.tracking_base_url,
        timedelta(seconds=settings.fallback_link_ttl_seconds),
    )


def gateways(settings: Settings) -> dict[str, FallbackGateway]:
    """The configured gateways by channel: the SMS gateway when FALLBACK_GATEWAY_URL is set."""
    if not settings.fallback_gateway_url:
        return {}
    sms = TwilioSmsGateway(
        settings.fallback_gateway_url,
        settings.fallback_gateway_account_sid,
        settings.fallback_gateway_auth_token,
        settings.fallback_gateway_from,
        timeout=settings.fallback_gateway_timeout_seconds,
        attempts=settings.fallback_gateway_attempts,
    )
    return {sms.channel: sms}


def fallback_channel(settings: Settings, cipher: PiiCipher) -> FallbackChannel:
    """The worker's fallback channel (with no gateway configured, opted-in messages that
    exhaust email end failed with that reason)."""
    return FallbackChannel(gateways(settings), cipher, document_links(settings))
