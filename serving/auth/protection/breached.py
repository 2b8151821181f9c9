"""Breached passwords, looked up k-anonymity style in files split by SHA-1 prefix.

The shipped list (``data/breached/``, see its README) holds one file per two-hex-digit
prefix of the uppercase SHA-1 of each password, in the Have-I-Been-Pwned range format:
``SUFFIX:COUNT`` lines, the suffix being the other 38 hex digits. A look-up hashes the
password, opens the one file of its prefix and scans it, so no plain list is ever loaded
in memory and a future remote range API would need nothing but the prefix.

Build the files from word lists (one password a line, most common first; ``#!comment``
lines skipped; an optional ``<TAB>count`` column) with::

    python -m serving.auth.protection.breached build SOURCE [SOURCE ...] OUT_DIR
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX_LENGTH = 2  # 256 files: about 130 lines each for the shipped ~34,000 passwords
SHIPPED = Path(__file__).parent / "data" / "breached"


def sha1_hex(password: str) -> str:
    """The uppercase hex SHA-1 of ``password`` (UTF-8), as the range files key it."""
    return hashlib.sha1(password.encode("utf-8")).hexdigest().upper()  # noqa: S324 (the format)


class BreachedPasswords:
    """A directory of prefix files; :meth:`times_seen` answers for one password."""

    def __init__(self, directory: Path, prefix_length: int = PREFIX_LENGTH) -> None:
        self.directory = directory
        self.prefix_length = prefix_length

    def times_seen(self, password: str) -> int:
        """How often ``password`` was seen in the lists (0: not listed)."""
        digest = sha1_hex(password)
        prefix, suffix = digest[: self.prefix_length], digest[self.prefix_length :]
        path = self.directory / f"{prefix}.txt"
        if not path.exists():
            return 0
        with path.open(encoding="ascii") as lines:
            for line in lines:
                listed, _, count = line.strip().partition(":")
                if listed == suffix:
                    return int(count or 1)
        return 0


@functools.cache
def shipped() -> BreachedPasswords:
    """The list shipped with Postwise."""
    return BreachedPasswords(SHIPPED)


def read_source(path: Path) -> Iterable[tuple[str, int]]:
    """``(password, count)`` of each line of a word list (count 1 without a count column)."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for raw in lines:
            line = raw.rstrip("\r\n")
            if not line or line.startswith("#!comment"):
                continue
            password, tab, count = line.rpartition("\t")
            if tab and count.isdigit():
                yield password, int(count)
            else:
                yield line, 1


def build(sources: Sequence[Path], out_dir: Path, prefix_length: int = PREFIX_LENGTH) -> int:
    """Write the prefix files for ``sources`` into ``out_dir``; the number of passwords.

    A password in several sources (or several times in one) has its counts summed.
    Every prefix gets a file, empty or not, so a look-up never tells a missing file from
    a prefix without entries."""
    counts: Counter[str] = Counter()
    started = time.monotonic()
    for source in sources:
        before = len(counts)
        for password, count in read_source(source):
            counts[sha1_hex(password)] += count
        log.info("read %s: %d new hashes (%d in all)", source, len(counts) - before, len(counts))
    by_prefix: dict[str, list[str]] = {
        f"{n:0{prefix_length}X}": [] for n in range(16**prefix_length)
    }
    for digest, count in sorted(counts.items()):
        by_prefix[digest[:prefix_length]].append(f"{digest[prefix_length:]}:{count}\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    for written, (prefix, lines) in enumerate(by_prefix.items(), start=1):
        (out_dir / f"{prefix}.txt").write_text("".join(lines), encoding="ascii")
        if written % 64 == 0 or written == len(by_prefix):
            rate = written / max(time.monotonic() - started, 1e-6)
            log.info("wrote %d/%d prefix files (%.0f files/s)", written, len(by_prefix), rate)
    return len(counts)


def main(argv: Sequence[str] | None = None) -> int:
    """``build SOURCE [SOURCE ...] OUT_DIR``: write the prefix files; exit 1 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m serving.auth.protection.breached")
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="build prefix files from word lists")
    build_command.add_argument("paths", nargs="+", type=Path, help="SOURCE [SOURCE ...] OUT_DIR")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    *sources, out_dir = args.paths
    missing = [str(source) for source in sources if not source.is_file()]
    if not sources or missing:
        absent = ", ".join(missing) or "none given"
        log.error("give at least one existing SOURCE file before OUT_DIR (missing: %s)", absent)
        return 1
    total = build(sources, out_dir)
    log.info("%d passwords in %s", total, out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
