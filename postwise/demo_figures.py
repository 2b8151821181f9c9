"""The figures of the demo's report, read from the warehouse and, where the truth is
needed, from the simulator's world (which knows every recipient's latent behaviour).

- :func:`send_time_uplift`: human opens of the optimized arm against the holdout (sent at
  once), with the 95% Newcombe interval; and the same recipients' expected open rates,
  from the ground truth, at their scheduled times, sent at once, and at the oracle's hour.
- :func:`bandit_result`: clicks by variant as observed, and the expected click rate of the
  personalization model's choices against uniform choices and the oracle's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from warehouse.db import Cells

if TYPE_CHECKING:
    from simulator.world import Recipient

    from .demo_api import PlannedSend

TRUTH_SAMPLE = 1500  # recipients the ground truth is evaluated on (24 hours each)

_ARMS = """
SELECT h.contact_id IS NOT NULL AS held_out,
       count(*) FILTER (WHERE m.status = 'delivered') AS delivered,
       count(*) FILTER (WHERE m.status = 'delivered' AND EXISTS (
           SELECT 1 FROM email_events e WHERE e.message_id = m.message_id
           AND e.type = 'opened' AND NOT e.is_bot)) AS opened
FROM messages m LEFT JOIN campaign_holdouts h
  ON h.campaign_id = m.campaign_id AND h.contact_id = m.contact_id
WHERE m.campaign_id = %s GROUP BY 1
"""

_VARIANTS = """
SELECT coalesce(m.variant, '-'),
       count(*) FILTER (WHERE m.status = 'delivered') AS delivered,
       count(*) FILTER (WHERE m.status = 'delivered' AND EXISTS (
           SELECT 1 FROM email_events e WHERE e.message_id = m.message_id
           AND e.type = 'clicked' AND NOT e.is_bot)) AS clicked
FROM messages m WHERE m.campaign_id = %s GROUP BY 1 ORDER BY 1
"""


@dataclass(frozen=True)
class SendTimeUplift:
    delivered_optimized: int
    opened_optimized: int
    delivered_holdout: int
    opened_holdout: int
    uplift: float | None
    low: float | None
    high: float | None
    expected_scheduled: float  # ground truth: the optimized schedule
    expected_at_once: float  # ground truth: the same recipients sent at once
    expected_oracle: float  # ground truth: each at the best hour of the next 24

    @property
    def share_of_oracle(self) -> float | None:
        room = self.expected_oracle - self.expected_at_once
        return (self.expected_scheduled - self.expected_at_once) / room if room > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share_of_oracle_uplift": self.share_of_oracle}


def send_time_uplift(
    cells: Cells,
    campaign_id: uuid.UUID,
    plan: Sequence[PlannedSend],
    recipients: Iterable[Recipient],
    seed: int,
) -> SendTimeUplift:
    """The campaign's send-time uplift, observed and against the oracle (see above)."""
    from dashboards.queries.engagement import Uplift
    from simulator.ground_truth import true_open_probability_24h

    counts = {True: [0, 0], False: [0, 0]}
    for region in cells.regions:
        with cells.connection(region) as conn:
            for held, delivered, opened in conn.execute(_ARMS, (campaign_id,)).fetchall():
                counts[bool(held)][0] += int(delivered)
                counts[bool(held)][1] += int(opened)
    arms = Uplift(counts[False][0], counts[False][1], counts[True][0], counts[True][1])
    low = high = uplift = None
    if arms.measurable:
        uplift = arms.uplift
        low, high = arms.interval()
    by_id = {r.contact_id: r for r in recipients}
    optimized = [p for p in plan if not p.held_out and p.contact_id in by_id]
    rng = np.random.default_rng(seed)
    if len(optimized) > TRUTH_SAMPLE:
        optimized = [optimized[i] for i in rng.choice(len(optimized), TRUTH_SAMPLE, False)]
    start = min((p.scheduled_at for p in plan), default=None)
    scheduled, at_once, oracle = [], [], []
    for p in optimized:
        recipient = by_id[p.contact_id]
        scheduled.append(true_open_probability_24h(recipient, None, p.scheduled_at))
        assert start is not None
        hours = [
            true_open_probability_24h(recipient, None, start + timedelta(hours=h))
            for h in range(24)
        ]
        at_once.append(hours[0])
        oracle.append(max(hours))
    return SendTimeUplift(
        arms.delivered_optimized, arms.opened_optimized, arms.delivered_holdout,
        arms.opened_holdout, uplift, low, high, _mean(scheduled), _mean(at_once), _mean(oracle),
    )  # fmt: skip


@dataclass(frozen=True)
class BanditResult:
    by_variant: dict[str, tuple[int, int]]  # variant: (delivered, human clicks)
    chosen_by: dict[str, int]  # model / uniform, from the API's send report
    expected_model: float  # ground truth: click rate of the variants chosen
    expected_uniform: float  # ground truth: a variant drawn uniformly
    expected_oracle: float  # ground truth: each recipient's best variant

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bandit_result(
    cells: Cells,
    campaign_id: uuid.UUID,
    plan: Sequence[PlannedSend],
    recipients: Iterable[Recipient],
    chosen_by: dict[str, int],
    variants: Sequence[str],
) -> BanditResult:
    """Observed clicks by variant and the expected click rates (see above)."""
    from simulator.ground_truth import true_click_rate

    by_variant: dict[str, tuple[int, int]] = {}
    for region in cells.regions:
        with cells.connection(region) as conn:
            for variant, delivered, clicked in conn.execute(_VARIANTS, (campaign_id,)):
                d, c = by_variant.get(variant, (0, 0))
                by_variant[variant] = (d + int(delivered), c + int(clicked))
    by_id = {r.contact_id: r for r in recipients}
    model, uniform, oracle = [], [], []
    for p in plan:
        recipient = by_id.get(p.contact_id)
        if recipient is None or p.variant is None:
            continue
        rates = [true_click_rate(recipient, v) for v in variants]
        model.append(true_click_rate(recipient, p.variant))
        uniform.append(float(np.mean(rates)))
        oracle.append(max(rates))
    return BanditResult(by_variant, chosen_by, _mean(model), _mean(uniform), _mean(oracle))


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def sender_series(
    cells: Cells, region: str, org_id: uuid.UUID, domain: str, hours: int = 48
) -> list[tuple[Any, int, float | None, bool]]:
    """The sender's last ``hours`` of (hour, messages, anomaly score, alert) around the
    incident, from ``marts.send_volume_timeseries`` and ``anomaly_scores``."""
    with cells.connection(region) as conn:
        rows = conn.execute(
            "SELECT s.bucket_start, s.messages, a.anomaly_score, coalesce(a.is_alert, false) "
            "FROM marts.send_volume_timeseries s LEFT JOIN anomaly_scores a "
            "ON a.org_id = s.org_id AND a.sending_domain = s.sending_domain "
            "AND a.bucket_start = s.bucket_start WHERE s.org_id = %s AND s.sending_domain = %s "
            "AND s.bucket_start >= now() - make_interval(hours => %s) ORDER BY 1",
            (org_id, domain, hours),
        ).fetchall()
    return [(r[0], int(r[1]), None if r[2] is None else float(r[2]), bool(r[3])) for r in rows]
