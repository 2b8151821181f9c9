"""Redis keys about an erased contact.

Postwise keeps per-recipient state in Redis only in short-lived keys named after the
message or contact they concern (tracking de-duplication windows
``<prefix>:trk:dedupe:<type>:<message id>:...``; any later key that names a contact id or
its blind index in hex). One ``SCAN`` over the deployment's prefix finds every key with
one of the subject's identifiers as a field of its name; the matches are deleted in
batches. Keys without such a name (rate limits, throttles, live counters) hold no
per-recipient data.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

import redis

_SCAN_COUNT = 1000
_DELETE_BATCH = 500
# Key names are fields joined by ':' (hash tags in braces); an identifier is a whole field.
_FIELD_SEPARATORS = re.compile(r"[:{}]")


def identifiers(
    contact_ids: Iterable[uuid.UUID], message_ids: Iterable[uuid.UUID], blind_index: bytes
) -> frozenset[str]:
    """The strings a key name about the subject may carry."""
    tokens = {blind_index.hex()}
    for value in (*contact_ids, *message_ids):
        tokens.update((str(value), value.hex))
    return frozenset(tokens)


def delete_subject_keys(client: redis.Redis, prefix: str, tokens: frozenset[str]) -> int:
    """Delete every key under ``prefix`` with one of ``tokens`` as a field; how many."""
    doomed: list[bytes] = []
    deleted = 0
    for key in client.scan_iter(match=f"{prefix}:*", count=_SCAN_COUNT):
        name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        if not tokens.isdisjoint(_FIELD_SEPARATORS.split(name)):
            doomed.append(key)
        if len(doomed) >= _DELETE_BATCH:
            deleted += int(client.delete(*doomed))
            doomed.clear()
    if doomed:
        deleted += int(client.delete(*doomed))
    return deleted
