"""Spam-trap matching at enqueue with 1M trap addresses in the store, against the plain SQL
look-up on the same index.

Setup: ``--traps`` addresses (default 1,000,000) loaded into a region cell's trap store by
:func:`compliance.traps.store.sync`, the path ``postwise traps sync`` takes (HMAC blind
indexes, COPY, set operations), then synced again unchanged (0 added, 0 removed); the load
rate and the re-sync's seconds are reported beside the results.

Measured, on the same shuffled addresses (half traps, half not, all on neutral domains so
that every check reaches the store):

- per message, as the API's ingestion runs it: :meth:`compliance.traps.TrapGuard.check`
  (the shipped honeypot patterns, then the store look-up) for one address, the blind index
  already computed; baseline: the bare ``SELECT ... WHERE email_blind_index = %s``;
- per batch, as campaign sends and imports run it: :func:`compliance.traps.store.match`
  over batches of ``--batch`` blind indexes; baseline: the bare ``= ANY(%s)`` query.

A plain Python set of the 1M blind indexes is measured too (``python_set_ceiling``): the
rate of a look-up with no database at all, for scale.

    python -m benchmarks.traps            # 1M traps, 20,000 addresses, 5 rounds a side
    python -m benchmarks.traps --quick    # 1M traps, 2,000 addresses
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence

import psycopg

from benchmarks._common import emit, human_count, machine_info, result, server_url, setup_logging
from compliance.crypto import PiiCipher
from compliance.traps import TrapGuard
from compliance.traps.store import match, sync
from postwise.settings import Settings
from warehouse.db import connect
from warehouse.migrate import temporary_cells

log = logging.getLogger("benchmarks.traps")
REGION = "eu"


def trap_address(i: int) -> str:
    return f"trap{i}@feed{i % 97}.example"


def trap_lines(n: int) -> Iterator[str]:
    for i in range(n):
        yield trap_address(i)


def probes(n: int, traps: int, seed: int = 7) -> list[str]:
    """``n`` addresses, half of them traps, shuffled."""
    rng = random.Random(seed)
    hits = [trap_address(rng.randrange(traps)) for _ in range(n // 2)]
    misses = [f"person{i}-{rng.random():.6f}@feed{i % 97}.example" for i in range(n - n // 2)]
    mixed = hits + misses
    rng.shuffle(mixed)
    return mixed


ROUNDS = 5  # the two sides alternate, so a noisy moment of a shared machine hits both


def rate(count: int, run: Callable[[], int]) -> tuple[float, int]:
    """Checks per second of ``run`` (which returns its hits) and the hits."""
    started = time.perf_counter()
    found = run()
    return count / (time.perf_counter() - started), found


def alternate(
    count: int, ours: Callable[[], int], bare: Callable[[], int]
) -> tuple[float, float, int]:
    """Median rates of ``ours`` and ``bare`` over alternating rounds, and ours' hits, which
    must equal the baseline's."""
    ours_rates, bare_rates = [], []
    hits = 0
    for _ in range(ROUNDS):
        ours_rate, hits = rate(count, ours)
        bare_rate, bare_hits = rate(count, bare)
        assert hits == bare_hits, (hits, bare_hits)
        ours_rates.append(ours_rate)
        bare_rates.append(bare_rate)
    return statistics.median(ours_rates), statistics.median(bare_rates), hits


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.traps", description=__doc__)
    parser.add_argument("--traps", type=int, default=1_000_000, help="trap addresses stored")
    parser.add_argument("--checks", type=int, default=20_000, help="addresses checked per round")
    parser.add_argument("--batch", type=int, default=500, help="addresses per batched check")
    parser.add_argument("--quick", action="store_true", help="2,000 addresses")
    args = parser.parse_args(argv)
    checks = 2_000 if args.quick else args.checks
    setup_logging()
    server = server_url()
    settings = Settings(_env_file=None, database_prefix=f"pwbench_traps_{uuid.uuid4().hex[:6]}")
    cipher = PiiCipher.from_settings(settings.key_encryption_key, settings.blind_index_key)
    with connect(server, autocommit=True) as conn:
        machine = machine_info(conn)
    org_id = uuid.uuid4()
    addresses = probes(checks, args.traps)
    indexes = [cipher.blind_index(a) for a in addresses]
    with temporary_cells(settings, server) as cells:
        with cells.connection(REGION) as conn:
            loaded = sync(
                conn, cipher, trap_lines(args.traps), "bench-feed", actor="benchmark", region=REGION
            )
            conn.execute("ANALYZE spam_traps")
        log.info("loaded %d traps at %.0f/s", loaded.added, loaded.added / loaded.seconds)
        with cells.connection(REGION) as conn:  # the daily re-run of an unchanged feed
            again = sync(
                conn, cipher, trap_lines(args.traps), "bench-feed", actor="benchmark", region=REGION
            )
        assert (again.added, again.removed) == (0, 0), again
        with cells.connection(REGION) as conn:
            single, single_base, hits = _single(conn, org_id, addresses, indexes)
            batched, batched_base = _batched(conn, org_id, indexes, args.batch)
    ceiling = _python_set(cipher, args.traps, indexes)
    log.info("single %.0f/s vs %.0f/s; batched %.0f/s vs %.0f/s; set %.0f/s",
             single, single_base, batched, batched_base, ceiling)  # fmt: skip
    traps = human_count(args.traps)
    extra = {
        "traps": args.traps,
        "checks": checks,
        "hit_share": round(hits / checks, 3),
        "load_traps_per_second": round(loaded.added / loaded.seconds, 1),
        "resync_unchanged_seconds": round(again.seconds, 1),
        "python_set_ceiling": round(ceiling, 1),
    }
    emit(
        "traps",
        machine,
        [
            result(
                f"trap_checks_per_second_at_enqueue_{traps}_traps",
                single,
                "checks/s",
                "bare SELECT by blind index, one per address",
                single_base,
                # The guard also runs the honeypot patterns and reads the trap's source/kind.
                0.7,
                **extra,
            ),
            result(
                f"trap_checks_per_second_batched_{traps}_traps",
                batched,
                "checks/s",
                f"bare SELECT ... = ANY over batches of {args.batch}",
                batched_base,
                0.7,
                batch=args.batch,
            ),
        ],
    )
    return 0


def _single(
    conn: psycopg.Connection, org_id: uuid.UUID, addresses: Sequence[str], indexes: Sequence[bytes]
) -> tuple[float, float, int]:
    guard = TrapGuard()
    pairs = list(zip(addresses, indexes, strict=True))

    def ours() -> int:
        return sum(guard.check(conn, org_id, a, i) is not None for a, i in pairs)

    def bare() -> int:
        found = 0
        for index in indexes:
            row = conn.execute(
                "SELECT 1 FROM spam_traps WHERE email_blind_index = %s", (index,)
            ).fetchone()
            found += row is not None
        return found

    ours()  # warm-up: prepared statements, buffers
    bare()
    return alternate(len(pairs), ours, bare)


def _batched(
    conn: psycopg.Connection, org_id: uuid.UUID, indexes: Sequence[bytes], size: int
) -> tuple[float, float]:
    batches = [list(indexes[start : start + size]) for start in range(0, len(indexes), size)]

    def ours() -> int:
        return sum(len(match(conn, batch, org_id)) for batch in batches)

    def bare() -> int:
        return sum(
            len(conn.execute(
                "SELECT email_blind_index FROM spam_traps WHERE email_blind_index = ANY(%s)",
                (batch,),
            ).fetchall())
            for batch in batches
        )  # fmt: skip

    ours()
    bare()
    ours_rate, base_rate, _ = alternate(len(indexes), ours, bare)
    return ours_rate, base_rate


def _python_set(cipher: PiiCipher, traps: int, indexes: Sequence[bytes]) -> float:
    stored = {cipher.blind_index(trap_address(i)) for i in range(traps)}
    checks_rate, _ = rate(len(indexes), lambda: sum(index in stored for index in indexes))
    return checks_rate


if __name__ == "__main__":
    raise SystemExit(main())
