"""The audit chain's pure rules: canonical JSON, entry hashes and the first broken link.

An entry's hash is ``SHA-256(prev_hash || canonical JSON of the entry)``, where the entry is
its id, time (UTC, microseconds), actor, action, subject, organization and details, and
canonical JSON is UTF-8 with sorted keys, no insignificant whitespace and no NaN. The first
entry's ``prev_hash`` is empty. Changing any field of any entry, removing, inserting or
reordering entries changes a hash that a later entry or a signed checkpoint has fixed.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import AuditError

GENESIS = b""
HASH_BYTES = 32


def canonical_json(value: Any) -> bytes:
    """``value`` as canonical JSON bytes: sorted keys, compact, UTF-8, finite numbers, and
    integral numbers written as integers (PostgreSQL's jsonb keeps ``1e16`` as
    ``10000000000000000``, so ``1.0`` and ``1`` must hash alike)."""
    try:
        text = json.dumps(
            _integral_as_int(value),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise AuditError(f"audit details must be plain JSON: {exc}") from None
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise AuditError("audit details must be valid Unicode (no lone surrogates)") from None


def _integral_as_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral_as_int(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_integral_as_int(item) for item in value]
    return value


def utc_text(moment: datetime) -> str:
    """The canonical form of a time: UTC, microseconds, ``Z``."""
    if moment.tzinfo is None:
        raise AuditError("audit times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditEntry:
    """One audit_log row."""

    audit_id: int
    occurred_at: datetime
    actor: str
    action: str
    subject: str
    org_id: uuid.UUID | None
    details: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: bytes = GENESIS
    row_hash: bytes = b""

    def body(self) -> dict[str, Any]:
        """The fields the hash covers, in their canonical forms."""
        return {
            "audit_id": self.audit_id,
            "occurred_at": utc_text(self.occurred_at),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "org_id": str(self.org_id) if self.org_id is not None else None,
            "details": dict(self.details),
        }

    def expected_hash(self) -> bytes:
        """The hash this entry must carry, given its ``prev_hash`` and content."""
        return entry_hash(self.prev_hash, self.body())


def entry_hash(prev_hash: bytes, body: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(prev_hash + canonical_json(dict(body))).digest()


def check_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as a plain JSON object that survives a round trip through jsonb unchanged."""
    plain = json.loads(canonical_json(dict(details)))
    _refuse_unstorable(plain)
    return plain


def _refuse_unstorable(value: Any) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise AuditError("audit details cannot hold NUL characters")
    if isinstance(value, float) and not math.isfinite(value):
        raise AuditError("audit details cannot hold NaN or infinity")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_unstorable(key)
            _refuse_unstorable(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_unstorable(item)


@dataclass(frozen=True)
class ChainBreak:
    """The first entry at which the chain does not hold, and why."""

    audit_id: int
    reason: str


def first_break(entries: Iterable[AuditEntry], prev_hash: bytes = GENESIS) -> ChainBreak | None:
    """The first entry that does not link to its predecessor or whose content does not
    match its hash; ``entries`` in ``audit_id`` order, ``prev_hash`` the hash before them."""
    previous_id: int | None = None
    for entry in entries:
        if previous_id is not None and entry.audit_id <= previous_id:
            return ChainBreak(entry.audit_id, f"entries out of order after {previous_id}")
        if entry.prev_hash != prev_hash:
            return ChainBreak(
                entry.audit_id,
                "does not link to the entry before it (an entry was removed, inserted or "
                "rewritten)",
            )
        if entry.row_hash != entry.expected_hash():
            return ChainBreak(entry.audit_id, "content does not match its hash (altered)")
        prev_hash = entry.row_hash
        previous_id = entry.audit_id
    return None
