"""The automated controls report: evidence, for auditors, that the controls hold.

Each control is a function of a :class:`ControlContext` returning a :class:`ControlResult`
(pass, fail or not applicable, a summary, and the evidence queries with their rows):

- ``pii_ciphertext``: contacts' address and name are sealed; no text column holds an address
- ``admin_second_factor``: every active administrator has a TOTP or WebAuthn factor
- ``audit_chain``: every chain verifies against its checkpoints; checkpoints are recent
- ``retention_ran``: the retention job ran recently in every cell; nothing is overdue
- ``erasures_complete``: erased contacts hold no key, no events, and have a certificate
- ``route_tls``: routes leaving the machine require TLS at or above the minimum
- ``suppression_enforced``: nothing was sent to an address after it was suppressed
- ``api_key_rotation``: no live API key is older than the rotation age

:func:`controls_report` runs them all and writes ``controls-<time>.json`` and ``.html``
(the weekly Dagster asset ``compliance/controls_report`` and ``postwise compliance
controls`` call it).
"""

from .model import ControlResult, ControlsReport, Evidence, Verdict
from .policy import ControlContext, ControlPolicy
from .report import render_html, report_document, write_report
from .runner import CONTROLS, context_from_settings, controls_report, run_controls

__all__ = [
    "CONTROLS",
    "ControlContext",
    "ControlPolicy",
    "ControlResult",
    "ControlsReport",
    "Evidence",
    "Verdict",
    "context_from_settings",
    "controls_report",
    "render_html",
    "report_document",
    "run_controls",
    "write_report",
]
