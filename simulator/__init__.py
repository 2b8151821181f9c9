"""Postwise's synthetic outside world: recipients with latent behaviour and their mailboxes.

Pure Python + numpy, deterministic per seed, no I/O. Entry points:

* ``world.World`` - recipients (streamed) and the sender's campaign plans;
* ``behaviour.simulate_send`` - what happens to one message (``RecipientState`` evolves);
* ``ground_truth`` - exact latent probabilities for evaluating models;
* ``calibration`` - the sourced target figures the world reproduces.
"""

from .behaviour import RecipientState, SimEvent, simulate_send
from .schedule import CampaignPlan
from .world import Recipient, World

__all__ = ["CampaignPlan", "Recipient", "RecipientState", "SimEvent", "World", "simulate_send"]
