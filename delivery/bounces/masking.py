"""Addresses taken out of the texts Postwise keeps: SMTP replies and report diagnostics
often quote the recipient ("<ada@example.org>: Recipient address rejected"), and the
warehouse must hold no address in plaintext."""

from __future__ import annotations

import re

RECIPIENT_MASK = "<recipient>"
ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def without_recipient(text: str, recipient: str) -> str:
    """``text`` with ``recipient`` (in any letter case) replaced by ``<recipient>``."""
    return re.sub(re.escape(recipient), RECIPIENT_MASK, text, flags=re.IGNORECASE)


def without_addresses(text: str) -> str:
    """``text`` with everything shaped like an address replaced by ``<recipient>`` (for a
    report whose recipient is not known for sure)."""
    return ADDRESS.sub(RECIPIENT_MASK, text)
