"""The hash-chained, append-only audit log: writing entries (:func:`record`), verifying the
chain (:mod:`.verify`) and anchoring it with signed checkpoints (:mod:`.checkpoints`)."""

from .chain import AuditEntry, ChainBreak, canonical_json, first_break
from .log import entries, head, record

__all__ = ["AuditEntry", "ChainBreak", "canonical_json", "entries", "first_break", "head", "record"]
