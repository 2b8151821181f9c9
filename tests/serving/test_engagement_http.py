"""Simulated recipients open, click and unsubscribe through the live tracking endpoints: the
messages go through a simulated ESP, the recipients' latent behaviour decides what they do,
and the warehouse ends up with exactly those events, machines flagged and people not."""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from api_kit import SendMessage, events_of

from simulator.engagement_http import Plan, drive, plan_engagement, read_message
from simulator.esp import EspBehaviour, SimulatedEsp
from simulator.world import World
from warehouse.db import Cells

LINKS = ("https://shop.example/a", "https://shop.example/b", "https://shop.example/c")
HTML = "".join(f'<p><a href="{url}">offer {i}</a></p>' for i, url in enumerate(LINKS))
SIM_SENT_AT = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _expected(plan: Plan, ids: list[uuid.UUID]) -> set[tuple[uuid.UUID, str, str | None, bool]]:
    """The events the plan must leave: one per message, kind, link and machine-or-person
    (repeats within the de-duplication window count once)."""
    kinds = {"open": "opened", "click": "clicked", "unsubscribe": "unsubscribed"}
    expected = set()
    for action in plan.actions:
        link = None
        if action.kind == "click":
            link = "honeypot" if action.link == "hidden" else str(action.link)
        expected.add((ids[action.message], kinds[action.kind], link, action.machine))
    return expected


def test_simulated_recipients_engage_through_the_tracking_endpoints(
    send_message: SendMessage, serving_cells: Cells
) -> None:
    world = World(seed=23, n_contacts=260, start=SIM_SENT_AT - timedelta(days=40), days=45)
    people = [r for r in world.recipients() if r.status_at(SIM_SENT_AT) == "valid"]
    sent = {
        r.email.lower(): send_message(r.region, contact_id=r.contact_id, to=r.email, html=HTML)
        for r in people
    }
    with SimulatedEsp(EspBehaviour("primary", max_per_second=10_000)) as esp:
        with smtplib.SMTP("127.0.0.1", esp.port, timeout=10) as smtp:
            for address, message in sent.items():
                smtp.sendmail("bounce@bounces.example", [address], message.raw)
    accepted = esp.counters.delivered
    assert len(accepted) == len(people)

    plan = plan_engagement(
        accepted, {r.email.lower(): r for r in people}, seed=7, sent_at=SIM_SENT_AT
    )
    report = asyncio.run(drive(plan, human_delay_seconds=1.5, concurrency=8))

    assert report.failures == []
    assert all(o.location in LINKS for o in report.outcomes if o.status == 302), (
        "a click went somewhere its link was not signed for"
    )
    assert read_message(*accepted[0]).hidden_links  # every message has a honeypot
    by_kind = Counter((a.kind, a.machine) for a in plan.actions)
    assert by_kind[("open", False)] >= 20 and by_kind[("open", True)] >= 5
    assert by_kind[("click", False)] >= 3
    assert by_kind[("click", True)] >= 2  # a link scanner, honeypot included
    assert by_kind[("unsubscribe", False)] >= 1

    ids = [
        uuid.UUID(
            str(email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"])
            .strip("<>")
            .split("@")[0]
        )
        for _, raw in accepted
    ]
    region_of = {s.message_id: s.region for s in sent.values()}
    stored = {
        (
            message_id,
            str(event["type"]),
            event["details"].get("link") if isinstance(event["details"], dict) else None,
            bool(event["is_bot"]),
        )
        for message_id in set(ids)
        for event in events_of(serving_cells, region_of[message_id], message_id)
    }
    assert stored == _expected(plan, ids)
    unsubscribed = {ids[a.message] for a in plan.actions if a.kind == "unsubscribe"}
    org_id = next(iter(sent.values())).org_id
    suppressed = 0
    for region in {s.region for s in sent.values()}:
        with serving_cells.connection(region) as conn:
            row = conn.execute(
                "SELECT count(*) FROM suppressions WHERE org_id = %s AND reason = 'unsubscribe'",
                (org_id,),
            ).fetchone()
        suppressed += row[0] if row else 0
    assert suppressed == len(unsubscribed)
