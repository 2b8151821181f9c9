"""Champion models, loaded from MLflow in the background, once, and kept.

``ChampionCache.lookup(model, region)`` never waits on MLflow longer than ``wait_seconds``:
the first look-up of a model starts its load in a background thread and waits that long at
most; later ones answer from the loaded model at once, and when it is older than
``refresh_seconds`` a background check asks the registry whether ``@champion`` moved and
loads the new version if so. When MLflow cannot answer (an error, or its breaker open) the
last loaded model keeps serving and the look-up says so (``degraded``); with nothing loaded
the endpoints fall back to their heuristics.

The loader is a function ``(model, region, known version) -> (pyfunc, version)``;
:func:`mlflow_loader` is the one over :mod:`models.tracking`. It returns ``(None, v)`` when
version ``v`` is already the one loaded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.tracking import NoChampion, load_champion, registered_name

from ..resilience.breakers import Breakers, DependencyDown

log = logging.getLogger(__name__)
Loader = Callable[[str, str, str | None], tuple[Any, str]]
BREAKER = "mlflow"


@dataclass(frozen=True)
class Champion:
    name: str  # registered name, e.g. send_time_eu
    version: str
    model: Any  # an MLflow pyfunc model
    loaded_at: float  # monotonic


@dataclass(frozen=True)
class Lookup:
    """What a look-up found: the champion (or None), and whether MLflow is failing."""

    champion: Champion | None
    degraded: bool  # MLflow did not answer the last time it was asked
    reason: str | None  # a human sentence when degraded or absent


@dataclass
class _Slot:
    champion: Champion | None = None
    checked_at: float = float("-inf")
    error: str | None = None
    no_champion: bool = False
    loading: threading.Event | None = None


def mlflow_loader(tracking_uri: str) -> Loader:
    """Loads ``models:/<model>_<region>@champion`` through :mod:`models.tracking`."""

    def load(model: str, region: str, known: str | None) -> tuple[Any, str]:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri)
        name = registered_name(model, region)
        try:
            version = str(client.get_model_version_by_alias(name, "champion").version)
        except MlflowException as exc:
            # The registry answered that there is no such model or alias; anything else
            # (a transport failure included) is the registry failing.
            if exc.error_code in (
                "RESOURCE_DOES_NOT_EXIST",
                "NOT_FOUND",
                "INVALID_PARAMETER_VALUE",
            ):
                raise NoChampion(name) from exc
            raise
        if version == known:
            return None, version
        return load_champion(tracking_uri, model, region), version

    return load


class ChampionCache:
    """Champions by (model, region); see the module docstring."""

    def __init__(
        self,
        loader: Loader | None,
        breakers: Breakers,
        *,
        refresh_seconds: float = 300.0,
        wait_seconds: float = 2.0,
        retry_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._breakers = breakers
        self.refresh_seconds = refresh_seconds
        self.wait_seconds = wait_seconds
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._lock = threading.Lock()

    def lookup(
        self, model: str, region: str, *, wait: bool = True, wait_seconds: float | None = None
    ) -> Lookup:
        """The champion of ``model`` in ``region`` as far as known now (see above); a
        champion not loaded yet is waited for up to ``wait_seconds`` (default: the
        cache's)."""
        if self._loader is None:
            return Lookup(None, False, "no model registry is configured (MLFLOW_TRACKING_URI)")
        key = (model, region)
        with self._lock:
            slot = self._slots.setdefault(key, _Slot())
            stale = self._clock() - slot.checked_at >= self.refresh_seconds
            event = slot.loading
            if event is None and stale:
                event = slot.loading = threading.Event()
                known = slot.champion.version if slot.champion else None
                threading.Thread(
                    target=self._load,
                    args=(key, known, event),
                    name=f"load-{model}-{region}",
                    daemon=True,
                ).start()
        if wait and event is not None and slot.champion is None:
            event.wait(self.wait_seconds if wait_seconds is None else wait_seconds)
        return self._answer(key)

    def _answer(self, key: tuple[str, str]) -> Lookup:
        with self._lock:
            slot = self._slots[key]
            champion, error, loading = slot.champion, slot.error, slot.loading
            no_champion = slot.no_champion
        name = registered_name(*key)
        if error is not None:
            kept = f"; serving version {champion.version} loaded before" if champion else ""
            return Lookup(champion, True, f"the model registry cannot answer ({error}){kept}")
        if champion is not None:
            return Lookup(champion, False, None)
        if no_champion:
            return Lookup(None, False, f"{name} has no @champion version yet")
        if loading is not None:
            return Lookup(None, True, f"{name} is still loading from the model registry")
        return Lookup(None, False, f"{name} is not loaded")

    def _load(self, key: tuple[str, str], known: str | None, event: threading.Event) -> None:
        assert self._loader is not None
        model, region = key
        champion, error, no_champion = None, None, False
        try:
            with self._breakers.guard(BREAKER, (Exception,)):
                try:
                    loaded, version = self._loader(model, region, known)
                except NoChampion:
                    no_champion = True  # the registry answered: not a failure
                else:
                    if loaded is not None:
                        champion = Champion(
                            registered_name(model, region), version, loaded, self._clock()
                        )
                        log.info("loaded %s version %s", champion.name, version)
        except DependencyDown as exc:
            error = str(exc)
        except Exception as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
            log.warning("cannot load %s_%s: %s", model, region, error)
        with self._lock:
            slot = self._slots[key]
            # A failed load is tried again sooner than a routine refresh.
            delay = 0.0 if error is None else self.refresh_seconds - self.retry_seconds
            slot.checked_at = self._clock() - max(delay, 0.0)
            slot.error = error
            slot.no_champion = no_champion and slot.champion is None
            if champion is not None:
                slot.champion = champion
            slot.loading = None
        event.set()
