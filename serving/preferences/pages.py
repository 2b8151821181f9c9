"""The server-rendered pages of the preference center and of opt-in confirmation links:
plain HTML forms, no scripts, every value escaped. A GET only shows; the forms POST."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from compliance.consent import Preferences

from ..tracking.pages import page
from .service import ContactPreferences

RETENTION_MONTHS = ("6", "12", "24", "36")


def preference_page(view: ContactPreferences, saved: bool = False) -> str:
    """The preference form: channel permissions (consents), topics, caps, data expiration."""
    shown = {(c.channel, c.purpose): c.status for c in view.consents}
    shown.setdefault(("email", "marketing"), "not given")
    consents = "".join(
        _checkbox("consent", f"{channel}:{purpose}", status == "granted",
                  f"{purpose.replace('_', ' ')} by {channel} ({status})")
        for (channel, purpose), status in sorted(shown.items())
    )  # fmt: skip
    notice = "<p><strong>Your preferences are saved.</strong></p>" if saved else ""
    body = (
        f'{notice}<form method="post">'
        f"<fieldset><legend>What we may send you</legend>{consents}</fieldset>"
        f"{_topics_and_caps(view.topics, view.preferences)}"
        f"<fieldset><legend>Keep my data</legend>{_retention(view.preferences)}</fieldset>"
        '<p><button type="submit">Save preferences</button></p></form>'
    )
    return page("Your email preferences", body)


def confirm_email_page() -> str:
    """Step 2 of an opt-in: a button, since link scanners follow links (a GET confirms
    nothing)."""
    return page(
        "Confirm your subscription",
        '<p>Please confirm that you want to receive these emails.</p><form method="post">'
        '<button type="submit">Confirm</button></form>',
    )


def confirm_preferences_page(topics: Iterable[str], preferences: Preferences, action: str) -> str:
    """Step 3 of a triple opt-in: confirm (and adjust) what to receive; posts to ``action``."""
    return page(
        "Confirm your preferences",
        f"<p>One last step: choose what you want to receive.</p>"
        f'<form method="post" action="{escape(action)}">'
        f"{_topics_and_caps(topics, preferences)}"
        '<p><button type="submit">Confirm my preferences</button></p></form>',
    )


def confirmed_page() -> str:
    return page("Subscription confirmed", "<p>Thank you: your subscription is confirmed.</p>")


def link_error_page(status: int, detail: str) -> str:
    return page(
        "This link does not work",
        f"<p>{escape(detail)}</p><p><small>HTTP {status}</small></p>",
    )


def _topics_and_caps(topics: Iterable[str], preferences: Preferences) -> str:
    offered = list(topics)
    boxes = "".join(
        _checkbox("topic", t, t not in preferences.topic_opt_outs, t.replace("_", " "))
        for t in offered
    )
    topic_set = f"<fieldset><legend>Topics</legend>{boxes}</fieldset>" if offered else ""
    caps = (
        "<fieldset><legend>How often</legend>"
        f"{_number('max_per_day', 'At most this many emails a day', preferences.max_per_day, 100)}"
        f"{_number('max_per_week', 'At most this many a week', preferences.max_per_week, 500)}"
        "</fieldset>"
    )
    return topic_set + caps


def _retention(preferences: Preferences) -> str:
    current = (
        f"<p>Your data is kept until {escape(preferences.retention_until.isoformat())}.</p>"
        if preferences.retention_until
        else ""
    )
    options = '<option value="">as it is now</option>' + "".join(
        f'<option value="{m}">{m} months from today</option>' for m in RETENTION_MONTHS
    )
    return (
        f'{current}<label>Delete my data after <select name="retention_months">{options}'
        "</select></label>"
    )


def _checkbox(name: str, value: str, checked: bool, label: str) -> str:
    mark = " checked" if checked else ""
    return (
        f'<p><label><input type="checkbox" name="{name}" value="{escape(value)}"{mark}> '
        f"{escape(label)}</label></p>"
    )


def _number(name: str, label: str, value: int | None, ceiling: int) -> str:
    shown = "" if value is None else str(value)
    return (
        f'<p><label>{escape(label)} <input type="number" name="{name}" min="1" '
        f'max="{ceiling}" value="{shown}"></label> <small>(empty: no limit)</small></p>'
    )
