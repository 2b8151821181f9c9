"""Delivery workers: claim due messages of a region cell and take each to its outcome.

- :mod:`.worker`: the claim loop, lease renewal, shutdown and progress logs;
- :mod:`.sending`: one message from its recipient to its recorded outcome;
- :mod:`.content`: rendering and assembly of a message;
- :mod:`.store`: the worker's database access (pools from threads, retried);
- :mod:`.throttling`: token buckets, sender volume, AIMD and hard stops;
- :mod:`.health`: the breakers published to Redis for the dashboards;
- :mod:`.wiring`: settings to a running worker (``run_worker``), the only edge.
"""

from .errors import MessageFailed, WorkerError, WorkerSetupError
from .options import WorkerOptions, new_worker_id
from .wiring import open_worker, routing_matrix, run_worker, worker_options
from .worker import Worker

__all__ = [
    "MessageFailed",
    "Worker",
    "WorkerError",
    "WorkerOptions",
    "WorkerSetupError",
    "new_worker_id",
    "open_worker",
    "routing_matrix",
    "run_worker",
    "worker_options",
]
