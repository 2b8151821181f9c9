"""Running every control and writing the report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from warehouse.db import Cells

from ..audit.checkpoints import load_signing_key
from ..crypto import cipher_for
from .access import admin_second_factor, api_key_rotation
from .chains import audit_chain
from .data import erasures_complete, pii_ciphertext, retention_ran, suppression_enforced
from .model import ControlResult, ControlsReport, Verdict
from .policy import ControlContext, policy_from_settings
from .report import write_report
from .routes import route_tls

if TYPE_CHECKING:
    from postwise.settings import Settings

log = logging.getLogger(__name__)

Control = Callable[[ControlContext], ControlResult]
CONTROLS: tuple[Control, ...] = (
    pii_ciphertext,
    admin_second_factor,
    audit_chain,
    retention_ran,
    erasures_complete,
    route_tls,
    suppression_enforced,
    api_key_rotation,
)


def run_controls(context: ControlContext) -> ControlsReport:
    """Check every control; a check that cannot run is a failed control, not a crash."""
    results = []
    for control in CONTROLS:
        try:
            result = control(context)
        except Exception as error:  # noqa: BLE001 - the report must say which check broke
            log.exception("control %s could not be checked", control.__name__)
            result = ControlResult(
                control.__name__,
                control.__name__.replace("_", " "),
                Verdict.FAIL,
                f"could not be checked: {type(error).__name__}: {error}",
            )
        log.info("control %s: %s", result.control_id, result.verdict.value)
        results.append(result)
    return ControlsReport(context.now, tuple(results))


def context_from_settings(
    settings: Settings, cells: Cells, now: datetime | None = None
) -> ControlContext:
    """The controls' view of an installation as its settings describe it."""
    key_file = settings.checkpoint_key_file
    public_key = load_signing_key(key_file).public_key() if key_file.exists() else None
    return ControlContext(
        cells=cells,
        policy=policy_from_settings(settings),
        routes=settings.delivery_routes,
        checkpoint_dir=settings.checkpoint_directory,
        public_key=public_key,
        now=now or datetime.now(UTC),
        blind_index=cipher_for(settings).blind_index,
    )


def controls_report(
    settings: Settings, cells: Cells, directory: Path | None = None
) -> tuple[ControlsReport, Path, Path]:
    """Check every control of the installation and write the dated report files."""
    report = run_controls(context_from_settings(settings, cells))
    json_path, html_path = write_report(report, directory or settings.controls_report_directory)
    return report, json_path, html_path
