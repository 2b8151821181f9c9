"""Mustache in-process: variables, escaping, sections, inverted sections, partials,
comments and set delimiters, through chevron; no lambdas and no partials from disk.

This is what the sandbox's worker processes run. It checks its input (a JSON-like context,
so no callables that Mustache would call as lambdas) and its output size; CPU time, memory
and wall-clock limits are the sandbox's (``sandbox.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import chevron
import chevron.renderer

from .errors import RenderLimitExceeded, TemplateError

MAX_CONTEXT_DEPTH = 32
_SCALARS = (str, int, float, bool, type(None))


def render_template(
    template: str,
    context: Mapping[str, Any],
    partials: Mapping[str, str] | None = None,
    *,
    max_output_chars: int,
) -> str:
    """``template`` rendered with ``context`` and ``partials`` (name -> template text)."""
    check_input(template, context, partials)
    partials = dict(partials or {})
    try:
        out = chevron.render(
            template,
            dict(context),
            partials_path=None,  # partials only from the given mapping, never the disk
            partials_dict=partials,
        )
    except chevron.ChevronError as exc:
        raise TemplateError(f"invalid template: {exc}") from None
    except RecursionError:
        raise TemplateError("partials include themselves without end") from None
    finally:
        # chevron caches every template it tokenizes, forever: not in a long-lived worker.
        chevron.renderer.g_token_cache.clear()
    if len(out) > max_output_chars:
        raise RenderLimitExceeded(
            "output size", f"{len(out):,} characters, at most {max_output_chars:,}"
        )
    return out


def check_input(
    template: Any, context: Mapping[str, Any], partials: Mapping[str, str] | None
) -> None:
    """Refuse what Mustache must not get: non-text templates, contexts holding anything but
    JSON-like data (a callable would run as a lambda), partials that are not text."""
    if not isinstance(template, str):
        raise TemplateError("the template must be text")
    if not isinstance(context, Mapping):
        raise TemplateError("the context must be a mapping of names to values")
    _check_context(context, "context", 0)
    for name, text in (partials or {}).items():
        if not isinstance(name, str) or not isinstance(text, str):
            raise TemplateError("partials must map names to template text")


def _check_context(value: Any, path: str, depth: int) -> None:
    if depth > MAX_CONTEXT_DEPTH:
        raise TemplateError(f"context nested deeper than {MAX_CONTEXT_DEPTH} levels at {path}")
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TemplateError(f"context keys must be text: {path} has {key!r}")
            _check_context(item, f"{path}.{key}", depth + 1)
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_context(item, f"{path}[{i}]", depth + 1)
        return
    raise TemplateError(
        f"context values must be JSON-like data, not {type(value).__name__} (at {path})"
    )
