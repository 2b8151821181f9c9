"""A worker's options (what ``postwise worker`` and the settings decide) and its id."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from ..retry import RetryPolicy


def new_worker_id() -> str:
    """Unique per worker, readable in the queue's ``lease_owner``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class WorkerOptions:
    region: str
    concurrency: int = 8  # SMTP sends in flight per route
    batch_size: int = 50
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    max_throttle_wait_seconds: float = 5.0  # a longer wait hands the message back
    unavailable_delay_seconds: float = 30.0  # no route, paused sender: due again after
    route_attempts: int = 3  # routes one claim of a message may try
    log_every_seconds: float = 15.0
    exit_when_idle: bool = False  # stop once nothing is due and nothing is held
    switch_check_seconds: float = 0.5  # how often the switches' version is checked
    switch_db_poll_seconds: float = 5.0  # without Redis, the switches are reloaded this often
    switch_recheck_seconds: float = 5.0  # a message held by a pause is due again after
    route_health_seconds: float = 5.0  # breakers are published this often (and on changes)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    worker_id: str = field(default_factory=new_worker_id)
