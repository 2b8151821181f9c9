"""Spam-trap protection.

- :mod:`.patterns`: honeypot lists shipped as data (role local parts, typo, recycled and
  disposable domains), each file stating its source and licence;
- :mod:`.store`: the per-region trap store keyed by blind index, fed by ``postwise traps
  sync`` (:func:`.store.sync`);
- :mod:`.behavioural`: contacts that are mailed but never engage nor bounce;
- :mod:`.guard`: the check at enqueue (refuse, suppress with reason ``spam_trap``, count
  per list source);
- :mod:`.imports` and :mod:`.quarantine`: contacts imports with too many trap hits held for
  an owner's review, then released or rejected.
"""

from .errors import QuarantineDecided, QuarantineError, QuarantineNotFound, TrapError, TrapFeedError
from .guard import REFUSAL_CODE, TrapGuard
from .imports import ImportScreen, QuarantinePolicy, QuarantineVerdict
from .patterns import Honeypots, TrapMatch, shipped_honeypots

__all__ = [
    "REFUSAL_CODE",
    "Honeypots",
    "ImportScreen",
    "QuarantineDecided",
    "QuarantineError",
    "QuarantineNotFound",
    "QuarantinePolicy",
    "QuarantineVerdict",
    "TrapError",
    "TrapFeedError",
    "TrapGuard",
    "TrapMatch",
    "shipped_honeypots",
]
