"""One message's bytes: its template version rendered in the sandbox with the recipient's
attributes, the message's variables and the chosen dynamic-content variant, then assembled
(tracking, unsubscribe headers, DKIM) with a VERP return path.

Context precedence, lowest first: contact attributes, the contact's own fields (``email``,
``name``, ``first_name``, ``country``, ``locale``), the message's variables, and the
``unsubscribe_url`` the message carries. Partials: the template's ``content.partials``,
then the chosen variant's ``blocks`` (a message without a variant gets the first one).
A message without a template brings its own ``subject`` and ``html`` in its variables.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from delivery.inbound import verp_address
from delivery.message import (
    AssemblyError,
    DkimKey,
    Envelope,
    Tracking,
    assemble,
    generate_ed25519_key,
)
from delivery.rendering import RenderError, RenderSandbox

from ..queue import Claimed
from .errors import MessageFailed
from .store import MessageData, Recipient, Template


class DkimKeyring:
    """Signing keys per sending domain; with ``generate_missing`` (development and tests)
    a domain without configured keys gets an Ed25519 key made on first use."""

    def __init__(
        self, keys: Mapping[str, Sequence[DkimKey]], *, generate_missing: bool = False
    ) -> None:
        self._keys = {domain.lower(): list(found) for domain, found in keys.items()}
        self._generate = generate_missing
        self._lock = threading.Lock()

    def keys_for(self, domain: str) -> list[DkimKey]:
        domain = domain.lower()
        with self._lock:
            if domain not in self._keys and self._generate:
                self._keys[domain] = [generate_ed25519_key(domain, "pw")]
            return list(self._keys.get(domain, ()))


@dataclass(frozen=True)
class Composed:
    sender: str  # the envelope sender: a VERP return path naming the message
    recipient: str
    data: bytes
    dkim_signed: bool


class Composer:
    """Renders and assembles messages; thread-safe (the sandbox is)."""

    def __init__(
        self,
        sandbox: RenderSandbox,
        tracking: Tracking,
        keyring: DkimKeyring,
        bounce_domain: str,
    ) -> None:
        self.sandbox = sandbox
        self.tracking = tracking
        self.keyring = keyring
        self.bounce_domain = bounce_domain

    def compose(self, message: Claimed, data: MessageData, template: Template | None) -> Composed:
        """The message ready for SMTP; :class:`MessageFailed` when it cannot be made."""
        recipient = data.recipient
        if recipient is None:
            raise MessageFailed("contact", data.problem or "no recipient")
        if not message.sending_domain:
            raise MessageFailed("assemble", "the message has no sending domain")
        subject_template, html_template, partials = _sources(data, template)
        context = self._context(message, data, recipient)
        try:
            body, subject = self.sandbox.render_many(
                (html_template, subject_template), context, partials
            )
            subject = html.unescape(subject)  # Mustache escapes for HTML; a subject is text
        except RenderError as exc:
            raise MessageFailed("render", str(exc)) from None
        variables = data.variables
        headers = variables.get("headers") or {}
        if not isinstance(headers, dict):
            raise MessageFailed("assemble", "the headers variable must be an object")
        content = template.content if template else {}
        envelope = Envelope(
            from_address=f"{variables.get('from_local', content.get('from_local', 'news'))}"
            f"@{message.sending_domain}",
            to_address=recipient.email,
            subject=subject,
            sending_domain=message.sending_domain,
            from_name=variables.get("from_name", content.get("from_name")),
            reply_to=variables.get("reply_to", content.get("reply_to")),
            headers={str(k): str(v) for k, v in headers.items()},
        )
        keys = self.keyring.keys_for(message.sending_domain)
        try:
            raw = assemble(
                message.message_id, recipient.contact_id, envelope, body, self.tracking, keys,
                region=recipient.region, org_id=message.org_id,
            )  # fmt: skip
        except AssemblyError as exc:
            raise MessageFailed("assemble", str(exc)) from None
        return Composed(
            verp_address(message.message_id, self.bounce_domain), recipient.email, raw, bool(keys)
        )

    def _context(self, message: Claimed, data: MessageData, recipient: Recipient) -> dict[str, Any]:
        token = self.tracking.signer.sign(
            "unsubscribe", {"m": str(message.message_id), "c": str(recipient.contact_id)}
        )
        own = {
            "email": recipient.email,
            "name": recipient.name or "",
            "first_name": (recipient.name or "").split(" ", 1)[0],
            "country": recipient.country,
            "locale": recipient.locale,
        }
        return {
            **recipient.attributes,
            **own,
            **data.variables,
            "unsubscribe_url": self.tracking.urls.unsubscribe(token),
            "message_id": str(message.message_id),
        }


def _sources(data: MessageData, template: Template | None) -> tuple[str, str, dict[str, str]]:
    if template is None:
        if data.template_id is not None:
            raise MessageFailed(
                "template",
                f"template {data.template_id} version {data.template_version or 'latest'} "
                "does not exist",
            )
        subject, body = data.variables.get("subject"), data.variables.get("html")
        if not isinstance(subject, str) or not isinstance(body, str):
            raise MessageFailed("template", "a message without a template needs subject and html")
        return subject, body, {}
    body = template.content.get("html")
    if not isinstance(body, str):
        raise MessageFailed("template", f"template {template.template_id} has no html")
    partials = {str(k): str(v) for k, v in (template.content.get("partials") or {}).items()}
    if template.variants:
        chosen = _variant(template, data.variant)
        partials.update({str(k): str(v) for k, v in (chosen.get("blocks") or {}).items()})
    return template.subject, body, partials


def _variant(template: Template, key: str | None) -> dict[str, Any]:
    if key is None:
        return template.variants[0]
    for variant in template.variants:
        if variant.get("key") == key:
            return variant
    raise MessageFailed(
        "template", f"variant {key!r} is not one of template {template.template_id}'s variants"
    )
