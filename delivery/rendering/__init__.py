"""Safe rendering of message templates.

``render(template, context, partials=None)`` renders Mustache (variables, escaping,
sections, inverted sections, partials, comments, set delimiters; no lambdas) in separate
worker processes under CPU-time, memory, wall-clock and output-size limits, through a
process-wide :class:`RenderSandbox` started on first use. ``sanitize_html(html)`` removes
anything executable from HTML with an allow-list fit for email.

Errors: :class:`RenderError` (``TemplateError``, ``RenderLimitExceeded``) fail the one
message being rendered.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from .errors import RenderError, RenderLimitExceeded, TemplateError
from .sandbox import RenderLimits, RenderSandbox
from .sanitize import sanitize_html

__all__ = [
    "RenderError",
    "RenderLimitExceeded",
    "RenderLimits",
    "RenderSandbox",
    "TemplateError",
    "default_sandbox",
    "render",
    "sanitize_html",
]

_default: RenderSandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> RenderSandbox:
    """The process-wide sandbox behind :func:`render` (started on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = RenderSandbox()
        return _default


def render(
    template: str, context: Mapping[str, Any], partials: Mapping[str, str] | None = None
) -> str:
    """``template`` rendered with ``context`` in the default sandbox."""
    return default_sandbox().render(template, context, partials)
