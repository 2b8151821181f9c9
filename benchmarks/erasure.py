"""Right to be forgotten: erasing a contact with 10,000 events, against raw DELETEs.

Postwise side: :func:`compliance.erasure.erase_subject` for one address, the whole request
as the API and ``postwise compliance erase`` run it: the look-up by blind index in every
region cell, the cascade over every table (the catalog sweep of ``contact_id`` tables
included), the erasure suppression, the pseudonym record, the Redis scan when
``REDIS_URL`` is set, and the certificates in the cell's and the control audit logs.

Baseline, the floor: the same kind of contact erased by the statements that cannot be
avoided, in one transaction: ``DELETE`` of its events and consents, and the contact row
re-keyed with its key and ciphertexts cleared. Both sides erase contacts seeded the same
way (``--events`` events over 20 hours, 50 messages, a consent) in a cell that also holds
``--background`` events of 1,000 other contacts, so the index look-ups have company.

    python -m benchmarks.erasure             # 10,000 events per contact, 5 rounds
    python -m benchmarks.erasure --quick     # 2 rounds

The issue's target is an erasure "in seconds" for such a contact; the JSON gives the
seconds (``seconds_per_erasure``) beside the ratio to the floor.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
import uuid

import psycopg
import redis

from benchmarks._common import emit, machine_info, result, server_url, setup_logging
from compliance.crypto import PiiCipher
from compliance.erasure import RedisTarget, erase_subject
from postwise.settings import Settings
from warehouse.db import Cells, connect
from warehouse.migrate import temporary_cells

log = logging.getLogger("benchmarks.erasure")
REGION = "eu"
MESSAGES = 50


def seed(conn: psycopg.Connection, cipher: PiiCipher, org_id: uuid.UUID, events: int) -> str:
    """One contact with ``events`` events, messages and a consent; returns its address."""
    email = f"bench-{uuid.uuid4().hex[:12]}@example.org"
    contact_id = uuid.uuid4()
    sealed = cipher.seal_contact(contact_id, email, "Bench Person")
    conn.execute(
        "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
        "name_ciphertext, wrapped_data_key, email_domain, country, region, time_zone) "
        "VALUES (%s, %s, %s, %s, %s, %s, 'example.org', 'DE', %s, 'Europe/Berlin')",
        (
            contact_id, org_id, sealed.email_ciphertext, sealed.email_blind_index,
            sealed.name_ciphertext, sealed.wrapped_data_key, REGION,
        ),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO consents (contact_id, purpose, status, policy_version) "
        "VALUES (%s, 'marketing', 'granted', 'v1')",
        (contact_id,),
    )
    conn.execute(
        "INSERT INTO messages (message_id, org_id, campaign_type, contact_id, status) "
        "SELECT gen_random_uuid(), %s, 'marketing', %s, 'delivered' FROM generate_series(1, %s)",
        (org_id, contact_id, MESSAGES),
    )
    _events(conn, org_id, "ARRAY[%s::uuid]", (contact_id,), events)
    return email


def _events(
    conn: psycopg.Connection, org_id: uuid.UUID, contacts: str, params: tuple[object, ...], n: int
) -> None:
    conn.execute(
        "INSERT INTO email_events (event_id, event_time, contact_id, org_id, campaign_type, "
        "region, type, details) SELECT gen_random_uuid(), now() - (i %% 1200) * interval "
        f"'1 minute', ({contacts})[1 + i %% cardinality({contacts})], %s, 'marketing', %s, "
        "'opened', '{\"ip\": \"203.0.113.7\"}'::jsonb FROM generate_series(1, %s) AS i",
        (*params, *params, org_id, REGION, n),
    )


def raw_erase(conn: psycopg.Connection, cipher: PiiCipher, org_id: uuid.UUID, email: str) -> None:
    """The floor: the unavoidable statements, in one transaction."""
    row = conn.execute(
        "SELECT contact_id FROM contacts WHERE org_id = %s AND email_blind_index = %s",
        (org_id, cipher.blind_index(email)),
    ).fetchone()
    assert row is not None
    conn.execute("DELETE FROM email_events WHERE contact_id = %s", (row[0],))
    conn.execute("DELETE FROM consents WHERE contact_id = %s", (row[0],))
    conn.execute(
        "UPDATE contacts SET contact_id = %s, status = 'erased', wrapped_data_key = '', "
        "email_ciphertext = '', name_ciphertext = NULL, email_blind_index = %s "
        "WHERE contact_id = %s",
        (uuid.uuid4(), os.urandom(32), row[0]),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.erasure", description=__doc__)
    parser.add_argument("--events", type=int, default=10_000, help="events per erased contact")
    parser.add_argument("--rounds", type=int, default=5, help="contacts erased per side")
    parser.add_argument("--background", type=int, default=200_000, help="other contacts' events")
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else args.rounds
    setup_logging()
    server = server_url()
    settings = Settings(
        _env_file=None,
        database_prefix=f"pwbench_rtbf_{uuid.uuid4().hex[:6]}",
    )
    cipher = PiiCipher.from_settings(settings.key_encryption_key, settings.blind_index_key)
    redis_url = os.environ.get("REDIS_URL")
    client = redis.Redis.from_url(redis_url) if redis_url else None
    target = RedisTarget(client, settings.database_prefix) if client is not None else None
    with connect(server, autocommit=True) as conn:
        machine = machine_info(conn)
    org_id = uuid.uuid4()
    with temporary_cells(settings, server) as cells:
        _background(cells, org_id, args.background)
        _timed_erasure(cells, cipher, org_id, args.events, target)  # warm-up: pools, caches
        ours = [_timed_erasure(cells, cipher, org_id, args.events, target) for _ in range(rounds)]
        floor = [_timed_raw(cells, cipher, org_id, args.events) for _ in range(rounds)]
    if client is not None:
        client.close()
    ours_s, floor_s = statistics.median(ours), statistics.median(floor)
    log.info("erase_subject %.3f s, raw statements %.3f s (medians)", ours_s, floor_s)
    emit(
        "erasure",
        machine,
        [
            result(
                f"contacts_with_{args.events}_events_erased_per_second",
                1 / ours_s,
                "erasures/s",
                "raw DELETE/UPDATE of the contact's events, consents and row",
                1 / floor_s,
                # The request spans every cell and the control database (look-ups, the
                # catalog sweep, audit entries); the floor touches one cell.
                0.2,
                seconds_per_erasure=round(ours_s, 3),
                baseline_seconds=round(floor_s, 3),
                redis=client is not None,
            )
        ],
    )
    return 0


def _background(cells: Cells, org_id: uuid.UUID, events: int) -> None:
    others = [uuid.uuid4() for _ in range(1000)]
    with cells.connection(REGION) as conn:
        _events(conn, org_id, "%s::uuid[]", (others,), events)
        conn.execute("ANALYZE email_events")


def _timed_erasure(
    cells: Cells, cipher: PiiCipher, org_id: uuid.UUID, events: int, target: RedisTarget | None
) -> float:
    with cells.connection(REGION) as conn:
        email = seed(conn, cipher, org_id, events)
    started = time.perf_counter()
    erase_subject(cells, cipher, org_id, email, requested_by="benchmark", redis_target=target)
    return time.perf_counter() - started


def _timed_raw(cells: Cells, cipher: PiiCipher, org_id: uuid.UUID, events: int) -> float:
    with cells.connection(REGION) as conn:
        email = seed(conn, cipher, org_id, events)
    started = time.perf_counter()
    with cells.connection(REGION) as conn:
        raw_erase(conn, cipher, org_id, email)
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
