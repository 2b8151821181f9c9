"""What can go wrong when rendering one message (it fails that message, never the worker).

RenderError
 ├── TemplateError        the template or its context is invalid (syntax, lambdas, types)
 └── RenderLimitExceeded  the render ran out of CPU time, memory, wall-clock time or
                          output size
"""

from __future__ import annotations


class RenderError(Exception):
    """Rendering one message failed; the message says why."""


class TemplateError(RenderError):
    """The template or its context cannot be rendered as given."""


class RenderLimitExceeded(RenderError):
    """The render exceeded one of the sandbox's limits (``limit`` names which)."""

    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(f"template exceeded the {limit} limit: {detail}")
        self.limit = limit
