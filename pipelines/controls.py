"""The weekly controls report: every control checked across the control database and the
region cells, written as dated HTML and JSON (``CONTROLS_REPORT_DIR``)."""

import dagster as dg

from compliance.controls import controls_report
from postwise.settings import get_settings
from warehouse.db import CONTROL
from warehouse.job_runs import record_job_run

from .resources import WarehouseResource

CONTROLS_JOB = "controls_report"


@dg.asset(group_name="compliance", key=["compliance", "controls_report"], kinds={"postgres"})
def controls_report_asset(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Check each control and write the dated report. A failing control does not fail the
    run (the report is the product); it is logged as a warning and shown in the metadata."""
    report, json_path, html_path = controls_report(get_settings(), warehouse.cells)
    for result in report.failed:
        context.log.warning("control %s fails: %s", result.control_id, result.summary)
    with warehouse.connection(CONTROL) as conn:
        record_job_run(
            conn,
            CONTROLS_JOB,
            len(report.results),
            {"failed": [result.control_id for result in report.failed], "json": str(json_path)},
        )
    return dg.MaterializeResult(
        metadata={
            "passed": len(report.results) - len(report.failed),
            "failed": dg.MetadataValue.json([result.control_id for result in report.failed]),
            "verdicts": dg.MetadataValue.json(
                {result.control_id: result.verdict.value for result in report.results}
            ),
            "json": dg.MetadataValue.path(str(json_path)),
            "html": dg.MetadataValue.path(str(html_path)),
        }
    )


controls_job = dg.define_asset_job(CONTROLS_JOB, selection=[controls_report_asset])


@dg.schedule(job=controls_job, cron_schedule="0 6 * * 1", execution_timezone="UTC")
def weekly_controls_report() -> dg.RunRequest:
    """Every Monday at 06:00 UTC."""
    return dg.RunRequest()
