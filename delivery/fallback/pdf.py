"""The rendered message as a PDF (weasyprint), without touching the network.

The HTML is the one the email carried (tracking links included, so a click in the PDF
counts like a click in the mail). Rendering fetches nothing: ``data:`` URIs are the only
resources allowed, so remote images (the open pixel among them) and stylesheets are
dropped rather than fetched, and nobody learns that the document was rendered.
"""

from __future__ import annotations

import email
import email.policy
import logging
import warnings
from email.message import EmailMessage
from html import escape
from typing import Any

from .errors import DocumentRenderFailed

log = logging.getLogger(__name__)
ALLOWED_SCHEMES = ("data",)


class _RefusalsAreExpected(logging.Filter):
    """weasyprint logs every refused resource as an error; refusing them is the point (the
    open pixel of every message would be one), so those records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "disallowed protocol" not in record.getMessage()


_QUIET = _RefusalsAreExpected()


def _weasyprint() -> Any:
    """weasyprint, imported on first use (it loads pango, cairo and harfbuzz)."""
    with warnings.catch_warnings():
        # weasyprint warns at import when libharfbuzz-subset is missing; subsetting is an
        # optimisation (smaller fonts in the PDF), the document is the same without it.
        warnings.simplefilter("ignore", DeprecationWarning)
        import weasyprint
    weasyprint_log = logging.getLogger("weasyprint")
    if _QUIET not in weasyprint_log.filters:
        weasyprint_log.addFilter(_QUIET)
    return weasyprint


def _refusing_fetcher() -> Any:
    """A url fetcher that allows ``data:`` URIs only; anything else is refused unfetched."""
    return _weasyprint().URLFetcher(
        allowed_protocols=ALLOWED_SCHEMES, allow_redirects=False, timeout=1
    )


def render_pdf(html: str) -> bytes:
    """``html`` as PDF bytes; a document that cannot be laid out raises
    :class:`DocumentRenderFailed`."""
    weasyprint = _weasyprint()
    try:
        document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_refusing_fetcher())
        pdf = document.write_pdf()
    except Exception as exc:  # weasyprint raises whatever its layout code raises
        raise DocumentRenderFailed(f"the message could not be rendered as a PDF: {exc}") from exc
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF"):
        raise DocumentRenderFailed("the renderer produced no PDF")
    return pdf


def html_and_subject(message: bytes) -> tuple[str, str]:
    """The HTML body and the subject of an assembled message (its MIME bytes); a message
    without an HTML part gets its text part, escaped, in a ``<pre>``."""
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    subject = str(parsed.get("Subject", ""))
    part = parsed.get_body(preferencelist=("html", "plain"))
    if part is None:
        raise DocumentRenderFailed("the message has no body to render")
    content = part.get_content()
    if part.get_content_subtype() == "html":
        return str(content), subject
    return f"<pre>{escape(str(content))}</pre>", subject
