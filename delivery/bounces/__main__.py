"""``python -m delivery.bounces classify FILE...``: one JSON line per file.

Each line has ``file``, ``reason``, ``hard`` (true, false or null) and ``recipient``, plus
``kind`` (dsn, arf, autoreply, mta, none), the SMTP ``status`` when the report gives one,
and ``recipients`` when the report is about several addresses (the first one is
reported in ``recipient``). A file that cannot be read exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .messages import parse_report

EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.bounces", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    classify = commands.add_parser("classify", help="classify bounce and feedback messages")
    classify.add_argument("files", nargs="+", type=Path, help="raw messages (.eml)")
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            sys.stderr.write(f"error: cannot read {path}: {exc.strerror or exc}\n")
            status = EXIT_BAD_INPUT
            continue
        sys.stdout.write(json.dumps(_line(str(path), raw)) + "\n")
    return status


def _line(name: str, raw: bytes) -> dict[str, object]:
    bounces = parse_report(raw)
    if not bounces:
        return {"file": name, "reason": "undefined", "hard": None, "recipient": None,
                "kind": "none"}  # fmt: skip
    first = bounces[0]
    line: dict[str, object] = {
        "file": name,
        "reason": first.reason,
        "hard": first.hard,
        "recipient": first.recipient,
        "kind": first.kind,
    }
    if first.enhanced_code or first.smtp_code:
        line["status"] = first.enhanced_code or str(first.smtp_code)
    if len(bounces) > 1:
        line["recipients"] = [b.recipient for b in bounces]
    return line


if __name__ == "__main__":
    sys.exit(main())
