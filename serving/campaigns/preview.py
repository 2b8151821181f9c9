"""A template version rendered with sample variables in the delivery sandbox (separate
processes under CPU, memory, time and output limits), the HTML sanitized as the worker's
output would be: what a recipient would see, without sending anything."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from delivery.rendering import RenderSandbox, sanitize_html

from .templates import Version


class UnknownVariant(ValueError):
    """The preview names a variant the version does not have."""


@dataclass(frozen=True)
class Preview:
    subject: str
    html: str
    text: str | None


def render_preview(
    sandbox: RenderSandbox,
    version: Version,
    variables: Mapping[str, Any],
    variant: str | None = None,
) -> Preview:
    """The version rendered with ``variables``; :class:`delivery.rendering.RenderError`
    when the sandbox refuses or stops it, :class:`UnknownVariant` for a variant it lacks."""
    partials = dict(version.partials)
    if version.variants:
        chosen = _variant(version, variant)
        partials.update({str(k): str(v) for k, v in (chosen.get("blocks") or {}).items()})
    elif variant is not None:
        raise UnknownVariant(f"version {version.version} has no variants")
    sources = [version.html, version.subject]
    if version.text is not None:
        sources.append(version.text)
    rendered = sandbox.render_many(sources, dict(variables), partials)
    return Preview(
        subject=html.unescape(rendered[1]),  # Mustache escapes for HTML; a subject is text
        html=sanitize_html(rendered[0]),
        text=html.unescape(rendered[2]) if version.text is not None else None,
    )


def _variant(version: Version, key: str | None) -> Mapping[str, Any]:
    if key is None:
        return version.variants[0]
    for candidate in version.variants:
        if candidate.get("key") == key:
            return candidate
    keys = [str(v.get("key")) for v in version.variants]
    raise UnknownVariant(f"variant {key!r} is not one of version {version.version}'s: {keys}")
