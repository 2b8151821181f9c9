"""One message, ready for SMTP: rendered HTML made safe and trackable, a plain-text part,
the headers mailbox providers require of bulk senders, and DKIM signatures.

Order: CSS inlined into ``style`` attributes (mail clients drop ``<style>`` blocks), the HTML
sanitised, links rewritten to signed click URLs, a footer link to the recipient's preference
center added (signed, not click-tracked), an open pixel added, the text part derived,
a hidden honeypot link added (after the text part, so only the HTML carries it), headers set
(a stable Message-ID from the message id, List-Unsubscribe with a one-click POST URL and a
mailto, RFC 8058), then signed. Any header value with CR or LF is refused.

Token payloads (short keys keep links short): ``m`` message id, ``r`` region cell holding the
message (when known), ``t`` assembly time in epoch seconds (the tracking endpoints time
"opened within seconds of delivery" from it when the delivery is not recorded yet); click
tokens add ``l`` (link index, or "honeypot") and ``u`` (the destination; none for the
honeypot); unsubscribe tokens carry ``c`` (contact) and ``o`` (organization) so an
unsubscribe works even after the message row is gone; preference-center tokens carry ``c``,
``o`` and ``r`` only (the page is the contact's, whatever message it came from).
"""

from __future__ import annotations

import html as html_lib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, formataddr

import css_inline

from delivery.rendering import sanitize_html

from .dkim_keys import DkimKey, sign
from .errors import AssemblyError, HeaderInjection
from .mime import mime_alternative
from .text import html_to_text
from .tracking import TrackingSigner, TrackingUrls

LINK = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")', re.IGNORECASE)
HONEYPOT = "honeypot"  # the ``l`` of the hidden link's click token
RESERVED_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "mime-version", "content-type",
     "list-unsubscribe", "list-unsubscribe-post", "dkim-signature", "reply-to"}
)  # fmt: skip


@dataclass(frozen=True)
class Envelope:
    from_address: str
    to_address: str
    subject: str
    sending_domain: str
    from_name: str | None = None
    reply_to: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Tracking:
    signer: TrackingSigner
    urls: TrackingUrls
    unsubscribe_mailbox: str  # e.g. "unsubscribe@bounce.postwise.example"


def assemble(
    message_id: uuid.UUID,
    contact_id: uuid.UUID,
    envelope: Envelope,
    html: str,
    tracking: Tracking,
    dkim_keys: Sequence[DkimKey] = (),
    now: datetime | None = None,
    *,
    region: str | None = None,
    org_id: uuid.UUID | None = None,
) -> bytes:
    """The message as bytes with CRLF line ends, ready for ``sendmail``.

    ``region`` (the cell that stores the message) and ``org_id`` go into the tracking
    tokens; without them the tracking endpoints have to look the message up in every cell.
    """
    _check_headers(envelope)
    now = now or datetime.now(UTC)
    base: dict[str, str | int] = {"m": str(message_id)}
    if region:
        base["r"] = region
    base["t"] = int(now.timestamp())
    body = _trackable_html(
        base, html, tracking, _preferences_url(contact_id, region, org_id, tracking)
    )
    headers = [
        ("From", formataddr((envelope.from_name or "", envelope.from_address))),
        ("To", envelope.to_address),
        ("Subject", envelope.subject),
        ("Date", format_datetime(now)),
        ("Message-ID", f"<{message_id}@{envelope.sending_domain}>"),
    ]
    if envelope.reply_to:
        headers.append(("Reply-To", envelope.reply_to))
    unsubscribe: dict[str, str | int] = {**base, "c": str(contact_id)}
    if org_id is not None:
        unsubscribe["o"] = str(org_id)
    token = tracking.signer.sign("unsubscribe", unsubscribe)
    mailto = f"mailto:{tracking.unsubscribe_mailbox}?subject=unsubscribe-{token}"
    headers.append(("List-Unsubscribe", f"<{tracking.urls.unsubscribe(token)}>, <{mailto}>"))
    headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    headers += envelope.headers.items()
    raw = mime_alternative(headers, html_to_text(body), _with_honeypot(base, body, tracking))
    return sign(raw, list(dkim_keys))


def _preferences_url(
    contact_id: uuid.UUID, region: str | None, org_id: uuid.UUID | None, tracking: Tracking
) -> str:
    """The signed link to the contact's preference center."""
    claims = {"c": str(contact_id)}
    if org_id is not None:
        claims["o"] = str(org_id)
    if region:
        claims["r"] = region
    return tracking.urls.preferences(tracking.signer.sign("preferences", claims))


def _trackable_html(
    base: Mapping[str, str | int], html: str, tracking: Tracking, preferences_url: str
) -> str:
    try:
        inlined = css_inline.inline(html)
    except (css_inline.InlineError, ValueError) as exc:
        raise AssemblyError(f"the HTML's CSS cannot be inlined: {exc}") from None
    safe = sanitize_html(inlined)

    links = 0

    def rewrite(match: re.Match[str]) -> str:
        nonlocal links
        url = html_lib.unescape(match.group(2))
        if not url.startswith(("http://", "https://")):
            return match.group(0)
        token = tracking.signer.sign("click", {**base, "l": links, "u": url})
        links += 1
        return f"{match.group(1)}{tracking.urls.click(token)}{match.group(3)}"

    tracked = LINK.sub(rewrite, safe)
    pixel_token = tracking.signer.sign("open", dict(base))
    pixel = (
        f'<img src="{tracking.urls.open_pixel(pixel_token)}" width="1" height="1" alt="" '
        'style="display:block;border:0">'
    )
    footer = (
        f'<p style="font-size:12px;color:#666"><a href="{html_lib.escape(preferences_url)}">'
        "Manage your email preferences</a></p>"
    )
    return f"<!DOCTYPE html><html><body>{tracked}{footer}{pixel}</body></html>"


def _with_honeypot(base: Mapping[str, str | int], body: str, tracking: Tracking) -> str:
    """``body`` with an invisible link first in it: no person sees or follows it, while link
    scanners follow every ``href``, so a click on it marks the clicker as a machine."""
    token = tracking.signer.sign("click", {**base, "l": HONEYPOT})
    honeypot = (
        f'<a href="{tracking.urls.click(token)}" style="display:none;font-size:0;'
        'line-height:0;max-height:0;overflow:hidden;mso-hide:all" aria-hidden="true" '
        'tabindex="-1">&#8203;</a>'
    )
    return body.replace("<body>", f"<body>{honeypot}", 1)


def _check_headers(envelope: Envelope) -> None:
    values = {
        "From": envelope.from_address,
        "From name": envelope.from_name or "",
        "To": envelope.to_address,
        "Subject": envelope.subject,
        "Reply-To": envelope.reply_to or "",
        "sending domain": envelope.sending_domain,
        **{f"header {k}": v for k, v in envelope.headers.items()},
        **{f"header name {k!r}": k for k in envelope.headers},
    }
    for name, value in values.items():
        if "\r" in value or "\n" in value:
            raise HeaderInjection(f"{name} contains a line break (CR or LF)")
    for header in envelope.headers:
        if header.lower() in RESERVED_HEADERS or not re.fullmatch(r"[A-Za-z0-9-]+", header):
            raise AssemblyError(f"header {header!r} cannot be set by the sender")
