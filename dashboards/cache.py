"""The query cache: every page reads through :func:`load`, so a query runs at most once per
``CACHE_TTL_SECONDS`` for the same arguments, however many people look (marts change at
most hourly; live counters bypass the cache)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from postwise.settings import get_settings

from .sources import Sources, open_sources, sources_key

CACHE_TTL_SECONDS = 30
R = TypeVar("R")


_opened: dict[str, Sources] = {}


def current_sources() -> Sources:
    """The sources of the process's settings, opened once (pools are shared by sessions)
    and again only when the settings name other ones."""
    settings = get_settings()
    key = sources_key(settings)
    if key not in _opened:
        _opened[key] = open_sources(settings)
    return _opened[key]


def load(query: Callable[..., R], *args: Any) -> R:
    """``query(sources, *args)``, cached for ``CACHE_TTL_SECONDS``; the arguments (a
    :class:`~dashboards.scope.Scope` and plain values) are the cache key."""
    sources = current_sources()
    return _cached(sources.key, f"{query.__module__}:{query.__qualname__}", args)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=1024)
def _cached(sources_key: str, name: str, args: tuple[Any, ...]) -> Any:
    module, _, qualname = name.partition(":")
    query: Any = importlib.import_module(module)
    for part in qualname.split("."):
        query = getattr(query, part)
    return query(current_sources(), *args)
