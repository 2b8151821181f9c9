"""Errors of message assembly."""

from __future__ import annotations


class AssemblyError(ValueError):
    """A message that cannot be assembled as asked; the message says why."""


class HeaderInjection(AssemblyError):
    """A header value carries CR or LF (it would smuggle in headers of its own)."""


class InvalidToken(ValueError):
    """A tracking token that was not signed by us, or was signed for something else."""
