"""Consent per contact, channel and purpose: the opt-in workflows (one, two or three steps,
with signed, expiring, single-use confirmation tokens), withdrawal, and the contact's
preferences (topics, frequency caps, data expiration) that sending honours.

- :mod:`.states`: the consent state machine;
- :mod:`.tokens`: the signed confirmation tokens;
- :mod:`.workflow`: the steps, each writing ``consents``, ``consent_events`` and the audit log;
- :mod:`.preferences`: reading, checking and saving preferences; :func:`sending_refusal`.
"""

from .preferences import (
    MAX_RETENTION_DAYS,
    Preferences,
    Refusal,
    check_preferences,
    read_preferences,
    save_preferences,
    sending_refusal,
)
from .states import ConsentState, advance
from .tokens import OptInClaims, OptInTokens
from .workflow import (
    ConsentChange,
    Evidence,
    Subject,
    confirm,
    grant,
    start_opt_in,
    withdraw,
)

__all__ = [
    "MAX_RETENTION_DAYS",
    "ConsentChange",
    "ConsentState",
    "Evidence",
    "OptInClaims",
    "OptInTokens",
    "Preferences",
    "Refusal",
    "Subject",
    "advance",
    "check_preferences",
    "confirm",
    "grant",
    "read_preferences",
    "save_preferences",
    "sending_refusal",
    "start_opt_in",
    "withdraw",
]
