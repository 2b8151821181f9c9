"""The simulated sender's organization, templates and campaigns in the control database."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from .world import CampaignPlan

_NAMESPACE = uuid.UUID("6f1d2c1e-2f4b-4d36-9a59-0c1f5e8d7a10")

NEWSLETTER_HTML = (
    "<html><body><h1>{{headline}}</h1><p>Hello {{first_name}},</p>"
    '{{> variant_block}}<p><a href="{{shop_url}}">Shop now</a></p>'
    '<p><a href="{{unsubscribe_url}}">Unsubscribe</a></p></body></html>'
)
FLOW_HTML = (
    "<html><body><p>Hi {{first_name}},</p><p>{{body}}</p>"
    '<p><a href="{{action_url}}">{{action_label}}</a></p></body></html>'
)
VARIANTS = [
    {"key": "A", "blocks": {"variant_block": "<p>Our picks for you this week.</p>"}},
    {"key": "B", "blocks": {"variant_block": "<p>{{first_name}}, these sold out last time.</p>"}},
    {"key": "C", "blocks": {"variant_block": "<p>Members save 15% until Sunday.</p>"}},
]


@dataclass(frozen=True)
class Catalog:
    org_id: uuid.UUID
    template_of: dict[uuid.UUID, tuple[uuid.UUID, int]]  # campaign id -> (template, version)


def org_id_for(slug: str) -> uuid.UUID:
    """The stable id of the simulated organization ``slug``."""
    return uuid.uuid5(_NAMESPACE, f"org:{slug}")


def _template_id(org_id: uuid.UUID, name: str) -> uuid.UUID:
    return uuid.uuid5(org_id, f"template:{name}")


def ensure_template(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    name: str,
    subject: str,
    html: str,
    variants: Sequence[Mapping[str, object]],
) -> uuid.UUID:
    """The organization's template ``name`` with version 1 (``subject``, ``html`` and the
    content ``variants``), created once; its stable id."""
    template_id = _template_id(org_id, name)
    conn.execute(
        "INSERT INTO templates (template_id, org_id, name) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (template_id, org_id, name),
    )
    conn.execute(
        "INSERT INTO template_versions (template_id, version, subject, content, variants) "
        "VALUES (%s, 1, %s, %s, %s) ON CONFLICT DO NOTHING",
        (template_id, subject, Jsonb({"html": html}), Jsonb(list(variants))),
    )
    return template_id


def ensure_catalog(
    conn: psycopg.Connection, org_id: uuid.UUID, slug: str, plans: Sequence[CampaignPlan]
) -> Catalog:
    """Insert the org, one template per kind of mail, and a campaign per plan (idempotent)."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, 'na') "
            "ON CONFLICT DO NOTHING",
            (org_id, slug.replace("-", " ").title(), slug),
        )
        names = {"newsletter"} | {plan.trigger for plan in plans if plan.trigger}
        for name in sorted(names):
            if name == "newsletter":
                ensure_template(conn, org_id, name, "{{headline}}", NEWSLETTER_HTML, VARIANTS)
            else:
                subject = name.replace("_", " ").capitalize()
                ensure_template(conn, org_id, name, subject, FLOW_HTML, [])
        template_of = {}
        with conn.cursor() as cur:
            rows = []
            for plan in plans:
                template_id = _template_id(org_id, plan.trigger or "newsletter")
                template_of[plan.campaign_id] = (template_id, 1)
                rows.append(
                    (
                        plan.campaign_id,
                        org_id,
                        plan.name,
                        plan.campaign_type,
                        template_id,
                        plan.topic,
                        "scheduled" if plan.campaign_type == "marketing" else "immediate",
                        plan.send_at,
                    )
                )
            cur.executemany(
                "INSERT INTO campaigns (campaign_id, org_id, name, campaign_type, template_id, "
                "template_version, topic, send_strategy, status, scheduled_at) "
                "VALUES (%s, %s, %s, %s, %s, 1, %s, %s, 'sent', %s) ON CONFLICT DO NOTHING",
                rows,
            )
    return Catalog(org_id=org_id, template_of=template_of)
