"""A worker's copy of the switches in force, kept fresh within about a second.

:meth:`SwitchWatcher.refresh` (the worker calls it every ``check_seconds`` from a thread)
reads one Redis counter, bumped by every change (:func:`.service.announce`); only when it
moved does it reload the switches from the control database. Without Redis, it reloads
from the database every ``db_poll_seconds``; with Redis, every ``full_reload_seconds``
anyway, in case an announcement was lost (say, Redis restarted empty).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import psycopg
import redis

from warehouse.switches import Switch

from .board import SwitchBoard
from .service import version_key

log = logging.getLogger(__name__)


class SwitchWatcher:
    """Holds the current :class:`SwitchBoard`; ``board`` is safe to read from any thread."""

    def __init__(
        self,
        load: Callable[[], Sequence[Switch]],
        client: redis.Redis | None,
        prefix: str,
        *,
        db_poll_seconds: float = 5.0,
        full_reload_seconds: float = 60.0,
    ) -> None:
        self._load = load
        self._client = client
        self._key = version_key(prefix)
        self.db_poll_seconds = db_poll_seconds
        self.full_reload_seconds = full_reload_seconds
        self.board = SwitchBoard()
        self.loads = 0
        self._version: bytes | None = None
        self._loaded_at = -1e9

    def refresh(self) -> bool:
        """Reload the switches if they changed (or the poll is due); True when reloaded."""
        version, reachable = self._read_version()
        age = time.monotonic() - self._loaded_at
        due = self.full_reload_seconds if reachable else self.db_poll_seconds
        if self.loads and reachable and version == self._version and age < due:
            return False
        if self.loads and not reachable and age < due:
            return False
        try:
            switches = self._load()
        except psycopg.Error as exc:
            log.warning("could not load the switches (%s); keeping the %d known", exc,
                        len(self.board))  # fmt: skip
            return False
        before = {s.switch_id for s in self.board.switches}
        self.board = SwitchBoard.of(switches)
        self._version, self._loaded_at = version, time.monotonic()
        self.loads += 1
        after = {s.switch_id for s in self.board.switches}
        if after != before:
            log.info(
                "switches in force: %d (%d new, %d cleared): %s", len(after), len(after - before),
                len(before - after),
                "; ".join(f"{s.kind} {s.scope}" + (f" via {s.route}" if s.kind != "pause" else "")
                          for s in self.board.switches) or "none",
            )  # fmt: skip
        return True

    def _read_version(self) -> tuple[bytes | None, bool]:
        if self._client is None:
            return None, False
        try:
            value = self._client.get(self._key)
        except redis.RedisError:
            return None, False
        return (bytes(value) if value is not None else None), True  # type: ignore[arg-type]
