"""Shared, session-scoped simulated samples for the simulator tests.

``played`` plays the world the way simulator/history.py will: every plan, every targeted
recipient who still receives mail, at the plan's per-recipient time. It records ground
truth next to the events so the tests can compare observable and latent rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pytest

from simulator.behaviour import RecipientState, SimEvent, simulate_send
from simulator.engagement import complaint_probability, unsubscribe_probability
from simulator.schedule import CampaignPlan
from simulator.world import Recipient, World

START = datetime(2025, 3, 3, tzinfo=UTC)


@dataclass
class Send:
    """One simulated send and its ground truth."""

    plan: CampaignPlan
    recipient: Recipient
    sent_at: datetime
    events: list[SimEvent]
    human_opened: bool
    human_clicked: bool
    open_at: datetime | None
    p_complaint: float = 0.0  # latent probabilities at that send (delivered sends only)
    p_unsubscribe: float = 0.0

    def first(self, kind: str) -> SimEvent | None:
        """The first event of ``kind``, if any."""
        return next((e for e in self.events if e.type == kind), None)

    @property
    def delivered(self) -> bool:
        return self.first("delivered") is not None

    def bounced(self, bounce_type: str) -> bool:
        return any(
            e.type == "bounced" and e.details["bounce_type"] == bounce_type for e in self.events
        )


@dataclass
class History:
    """A played world: recipients, final states and every send."""

    world: World
    recipients: list[Recipient]
    states: list[RecipientState]
    sends: list[Send] = field(default_factory=list)

    def of_type(self, campaign_type: str, delivered: bool = True) -> list[Send]:
        return [
            s
            for s in self.sends
            if s.plan.campaign_type == campaign_type and (s.delivered or not delivered)
        ]


def play(seed: int, n_contacts: int, days: int) -> History:
    """Send every plan of a fresh world, suppressing opted-out and hard-bounced addresses."""
    world = World(seed, n_contacts, START, days)
    recipients = list(world.recipients())
    states = RecipientState.initial_many(recipients)
    history = History(world, recipients, states)
    rng = np.random.default_rng(seed)
    for plan in world.campaigns():
        for i in world.audience(plan).tolist():
            recipient, state = recipients[i], states[i]
            at = plan.send_time_for(recipient)
            if at >= world.end or not state.receiving(at):
                continue
            opens, clicks = state.human_opens, state.human_clicks
            events = simulate_send(
                recipient,
                state,
                at,
                plan.campaign_type,
                plan.variant_for(recipient),
                rng,
                topic=plan.topic,
            )
            send = Send(
                plan,
                recipient,
                at,
                events,
                state.human_opens > opens,
                state.human_clicks > clicks,
                state.last_open_at,
            )
            if send.delivered:
                send.p_complaint = complaint_probability(recipient, state, plan.campaign_type)
                if plan.campaign_type != "transactional":
                    send.p_unsubscribe = unsubscribe_probability(
                        recipient, state, send.human_opened
                    )
            history.sends.append(send)
    return history


@pytest.fixture(scope="session")
def played() -> History:
    """Four weeks of a 3,000-contact world: about 23k sends."""
    return play(seed=20250303, n_contacts=3000, days=28)


@pytest.fixture(scope="session")
def population() -> list[Recipient]:
    """20,000 recipients for population-mix checks."""
    return list(World(7, 20000, START, 90).recipients())
