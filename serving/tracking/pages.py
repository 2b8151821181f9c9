"""The small server-rendered pages of the unsubscribe link (no scripts, no external assets)."""

from __future__ import annotations

from html import escape

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;
color:#222}}button{{font-size:1rem;padding:.6rem 1.2rem;border-radius:.3rem;border:1px solid #444;
background:#fff;cursor:pointer}}</style>
</head><body><h1>{title}</h1>{body}</body></html>
"""


def page(title: str, body: str) -> str:
    """A page in the house style; ``title`` is escaped here, ``body`` must already be."""
    return _PAGE.format(title=escape(title), body=body)


def confirm_page() -> str:
    """Asks before unsubscribing: a GET must never unsubscribe (link scanners follow links)."""
    return _PAGE.format(
        title="Unsubscribe",
        body=(
            "<p>Stop receiving these emails? One click and you are off this sender's list.</p>"
            '<form method="post">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<input type="hidden" name="source" value="page">'
            '<button type="submit">Unsubscribe</button></form>'
        ),
    )


def done_page(already: bool) -> str:
    """Confirms the unsubscribe (the same answer when it had happened before)."""
    body = (
        "<p>You were already unsubscribed; you will not get these emails again.</p>"
        if already
        else "<p>You are unsubscribed and will not get these emails again.</p>"
    )
    return _PAGE.format(title="Unsubscribed", body=body)


def error_page(status: int, detail: str) -> str:
    """Says why a link did not work."""
    return _PAGE.format(
        title="This link does not work",
        body=f"<p>{escape(detail)}</p><p><small>HTTP {status}</small></p>",
    )
