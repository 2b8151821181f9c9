"""Bounce classification: SMTP replies at send time, and the reports that come back later.

``classify_reply(code, enhanced_code, text) -> (reason, hard)`` reads one SMTP reply;
``parse_report(raw) -> [Bounce]`` reads a received message (RFC 3464 DSN, ARF complaint,
autoreply, or an MTA's plain-text notice). Reasons are those of :data:`REASONS`; ``hard``
is True when the address itself is bad (suppress it), False for a soft failure and None
for reports that are not bounces (complaints, autoreplies).

``python -m delivery.bounces classify FILE...`` prints one JSON line per file.
"""

from .masking import RECIPIENT_MASK, without_addresses, without_recipient
from .messages import Bounce, parse_report
from .reasons import HARD_REASONS, REASONS, classify_reply

__all__ = [
    "HARD_REASONS",
    "REASONS",
    "RECIPIENT_MASK",
    "Bounce",
    "classify_reply",
    "parse_report",
    "without_addresses",
    "without_recipient",
]
