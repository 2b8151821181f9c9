"""Open, click and unsubscribe tracking: machine-traffic rules, the event store and the
endpoints' logic (the HTTP routes are in :mod:`serving.api.routes.tracking`)."""

from .bots import BotRules, Hit, Verdict
from .service import Claims, Click, Client, Tracker
from .store import MessageRef, TrackingStore, Unsubscribed

__all__ = [
    "BotRules",
    "Claims",
    "Click",
    "Client",
    "Hit",
    "MessageRef",
    "Tracker",
    "TrackingStore",
    "Unsubscribed",
    "Verdict",
]
