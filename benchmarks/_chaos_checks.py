"""The chaos run's verdict, as pure functions over what it observed.

The run (``benchmarks._chaos``) collects the figures; this module counts what the sinks
received, classifies the API's answers to bad requests and decides each check:

- every accepted message is in exactly one terminal state, none is lost (accepted but
  absent from the queue) and none the queue calls delivered is missing at the sinks;
- duplicates at the sinks (one Message-ID received more than once) are at most the
  messages in flight when a worker was killed or PostgreSQL restarted;
- bad requests got 4xx answers: no 5xx, except 503 while PostgreSQL was down (the API
  says it cannot reach its database, which is the documented answer);
- every audit chain verifies against the checkpoints signed before the chaos.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

TERMINAL = frozenset({"delivered", "bounced", "failed", "suppressed", "cancelled"})
# Message-ID: <message id@sending domain>, as delivery.message.build writes it.
MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([0-9a-fA-F-]{36})@", re.IGNORECASE | re.MULTILINE)


def message_id_of(data: bytes) -> uuid.UUID | None:
    """The Postwise message id in a received message's Message-ID header (None: absent)."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = MESSAGE_ID.search(head)
    return uuid.UUID(found.group(1).decode()) if found else None


@dataclass(frozen=True)
class SinkTally:
    """What the simulated ESPs received, by message id."""

    received: int  # messages accepted, duplicates included
    distinct: int
    duplicates: int  # receptions beyond the first of each message
    without_id: int  # received with no Postwise Message-ID (never expected)
    ids: frozenset[uuid.UUID]


def tally_sinks(messages: Iterable[bytes]) -> SinkTally:
    """Count receptions per Postwise message id."""
    seen: Counter[uuid.UUID] = Counter()
    without_id = 0
    for data in messages:
        message_id = message_id_of(data)
        if message_id is None:
            without_id += 1
        else:
            seen[message_id] += 1
    received = sum(seen.values())
    return SinkTally(received + without_id, len(seen), received - len(seen), without_id,
                     frozenset(seen))  # fmt: skip


@dataclass(frozen=True)
class QueueTally:
    """The accepted messages as the queue holds them at the end."""

    accepted: int
    by_state: dict[str, int]
    non_terminal: int
    lost: int  # accepted, absent from every cell's queue
    delivered_not_received: int  # delivered by email per the queue, never at a sink
    received_not_delivered: int  # at a sink, yet the queue's final state is not delivered


def tally_queue(
    accepted: Iterable[uuid.UUID],
    states: Mapping[uuid.UUID, tuple[str, str | None]],
    received: frozenset[uuid.UUID],
) -> QueueTally:
    """``states``: message id -> (status, delivered channel) read from every cell."""
    accepted = frozenset(accepted)
    by_state: Counter[str] = Counter()
    lost = delivered_missing = received_other = 0
    for message_id in accepted:
        found = states.get(message_id)
        if found is None:
            lost += 1
            continue
        status, channel = found
        by_state[status] += 1
        if status == "delivered" and (channel or "email") == "email":
            delivered_missing += message_id not in received
        elif message_id in received:
            received_other += 1
    non_terminal = sum(n for status, n in by_state.items() if status not in TERMINAL)
    return QueueTally(len(accepted), dict(sorted(by_state.items())), non_terminal, lost,
                      delivered_missing, received_other)  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """The API's answer to one bad request."""

    kind: str
    status: int | None  # None: no answer (the connection failed)
    during_outage: bool  # sent while PostgreSQL was down (or just back)


def tally_answers(answers: Iterable[Answer]) -> dict[str, object]:
    """Bad requests by status and by kind; 5xx split by whether PostgreSQL was down."""
    by_status: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    server_errors = outage_503 = outage_other = no_answer = 0
    for answer in answers:
        label = str(answer.status) if answer.status is not None else "no_answer"
        by_status[label] += 1
        by_kind.setdefault(answer.kind, Counter())[label] += 1
        if answer.status is None:
            no_answer += 1
        elif answer.status >= 500:
            if answer.status == 503 and answer.during_outage:
                outage_503 += 1
            else:
                server_errors += 1
                outage_other += answer.during_outage
    return {
        "sent": sum(by_status.values()),
        "by_status": dict(sorted(by_status.items())),
        "by_kind": {kind: dict(sorted(c.items())) for kind, c in sorted(by_kind.items())},
        "server_errors": server_errors,
        "server_errors_while_postgresql_down": outage_other,  # of server_errors
        "unavailable_while_postgresql_down": outage_503,
        "no_answer": no_answer,
    }


def checks(
    queue: QueueTally,
    sinks: SinkTally,
    in_flight_bound: int,
    answers: Mapping[str, object],
    audit_chains: int,
    audit_intact: int,
    expected: int,
) -> dict[str, bool]:
    """Each acceptance condition, true when it holds."""
    sent = int(answers["sent"])  # type: ignore[call-overload]
    return {
        "campaign_size": queue.accepted == expected,
        "every_message_terminal": queue.non_terminal == 0 and queue.lost == 0,
        "exactly_one_state": sum(queue.by_state.values()) == queue.accepted,
        "nothing_lost": queue.lost == 0 and queue.delivered_not_received == 0,
        "duplicates_within_in_flight": sinks.duplicates <= in_flight_bound,
        "every_sink_message_identified": sinks.without_id == 0,
        "bad_requests_sent": sent > 0,
        "bad_requests_never_5xx": answers["server_errors"] == 0 and answers["no_answer"] == 0,
        "audit_chains_verified": audit_chains > 0 and audit_intact == audit_chains,
    }
