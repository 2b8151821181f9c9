"""What can go wrong in a delivery worker.

WorkerError
 ├── MessageFailed      one message cannot be sent as it is (``stage``: contact, template,
 │                      render, assemble, policy); it ends ``failed``, the worker goes on
 └── WorkerSetupError   the worker cannot start as configured (also a SettingsError)
"""

from __future__ import annotations

from postwise.settings import SettingsError


class WorkerError(Exception):
    """Base of the delivery worker's errors."""


class MessageFailed(WorkerError):
    """One message cannot be sent; ``stage`` says where it failed, the text why."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


class WorkerSetupError(WorkerError, SettingsError):
    """The worker cannot start with the settings it was given (the CLI reports it as a
    settings problem)."""
