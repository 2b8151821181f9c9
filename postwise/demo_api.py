"""The demo's campaign as a sender application makes it: over the HTTP API.

The demo issues itself an API key (``campaign_manager``, a P-521 key made for the run),
creates the newsletter template with its content variants, creates a campaign with
send-time optimization and a holdout, and sends it. The API chooses each recipient's send
time from ``recipient_send_times`` and each variant from the personalization champion.

The demo's clock is compressed: the messages the API scheduled over the next 24 hours are
released at once (``next_attempt_at`` moves to now; ``scheduled_at`` keeps the plan), and
each recipient reads their message as if it had arrived at its scheduled time
(:func:`send_contexts`), so the opens measure the schedule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from warehouse.db import Cells
from warehouse.model_outputs import active_pauses, resume_sender

from .console import echo


class ApiStepFailed(RuntimeError):
    """The API refused a step of the demo campaign (its status and answer in the text)."""


@dataclass(frozen=True)
class ApiCampaign:
    campaign_id: uuid.UUID
    sending_domain: str
    report: dict[str, Any]  # the API's send report

    @property
    def queued_by_region(self) -> dict[str, int]:
        return {r: int(n) for r, n in self.report["queued_by_region"].items()}


def issue_campaign_key(
    cells: Cells, org_slug: str, regions: tuple[str, ...], purpose: str = "demo"
) -> tuple[str, bytes]:
    """A new ``campaign_manager`` API key of ``org_slug`` for a fresh P-521 key pair:
    (key, private PEM to sign requests with)."""
    from serving.auth import Role, generate_signing_key

    from .bootstrap import bootstrap_api_key, find_or_create_org

    private_pem, public_pem = generate_signing_key()
    with cells.connection("control") as conn:
        org = find_or_create_org(conn, org_slug, None, regions)
        name = f"{purpose} {datetime.now(UTC):%Y-%m-%d %H:%M:%S}"
        issued = bootstrap_api_key(conn, org, name, Role.CAMPAIGN_MANAGER, public_pem.decode())
    return issued.api_key, private_pem


def send_campaign_through_api(
    client: Any,
    sending_domain: str,
    variants: list[dict[str, Any]],
    variables_html: str,
    holdout_share: float,
    say: Callable[[str], None] = echo,
) -> ApiCampaign:
    """Create the template and an ``optimal`` campaign with a holdout, then send it."""
    template = _ok(
        client.post(
            "/v1/templates",
            json={
                "name": f"demo newsletter {uuid.uuid4().hex[:8]}",
                "subject": "{{headline}}",
                "html": variables_html,
                "variants": variants,
            },
        ),
        "create the template",
    )
    campaign = _ok(
        client.post(
            "/v1/campaigns",
            json={
                "name": f"Demo campaign {datetime.now(UTC):%Y-%m-%d %H:%M}",
                "campaign_type": "marketing",
                "template_id": template["template_id"],
                "sending_domain": sending_domain,
                "send_strategy": "optimal",
                "holdout_share": holdout_share,
            },
        ),
        "create the campaign",
    )
    report = _ok(client.post(f"/v1/campaigns/{campaign['campaign_id']}/send"), "send it")
    say(
        f"api         campaign {campaign['campaign_id']} sent: {report['queued']:,} queued, "
        f"{report['held_out']:,} in the holdout (sent at once), send times "
        f"{_pairs(report['send_time'])}, variants {_pairs(report['variants_chosen'])}"
    )
    return ApiCampaign(uuid.UUID(campaign["campaign_id"]), sending_domain, report)


def _ok(response: Any, what: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise ApiStepFailed(f"the API refused to {what}: {response.status_code} {response.text}")
    return dict(response.json())


def _pairs(counts: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items()) or "none"


def resume_paused(cells: Cells, org_id: uuid.UUID, domain: str) -> list[str]:
    """Resume ``domain``'s active pauses in every cell (an earlier run's incident paused
    it; the demo, as its operator, resumes it); returns what was resumed and why."""
    resumed = []
    for region in cells.regions:
        with cells.connection(region) as conn:
            for pause in active_pauses(conn):
                if (pause.org_id, pause.sending_domain) == (org_id, domain):
                    resume_sender(conn, org_id, domain)
                    resumed.append(f"{region}: {pause.reason}")
    return resumed


@dataclass(frozen=True)
class PlannedSend:
    """One message of the campaign as the API planned it."""

    contact_id: uuid.UUID
    scheduled_at: datetime
    variant: str | None
    held_out: bool


def release_schedule(cells: Cells, campaign_id: uuid.UUID) -> list[PlannedSend]:
    """Release every queued message of the campaign now (the compressed clock) and return
    the plan: each message's scheduled time (its creation for one sent at once), variant,
    and whether it belongs to the holdout."""
    planned = []
    for region in cells.regions:
        with cells.connection(region) as conn:
            rows = conn.execute(
                "SELECT m.contact_id, coalesce(m.scheduled_at, m.created_at), m.variant, "
                "h.contact_id IS NOT NULL FROM messages m LEFT JOIN campaign_holdouts h "
                "ON h.campaign_id = m.campaign_id AND h.contact_id = m.contact_id "
                "WHERE m.campaign_id = %s",
                (campaign_id,),
            ).fetchall()
            conn.execute(
                "UPDATE messages SET next_attempt_at = now() WHERE campaign_id = %s "
                "AND status = 'queued' AND next_attempt_at > now()",
                (campaign_id,),
            )
        planned += [PlannedSend(*row) for row in rows]
    return planned
