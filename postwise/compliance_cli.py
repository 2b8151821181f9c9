"""`postwise compliance`: a data subject's rights from the command line.

    postwise compliance erase --org ORG --subject EMAIL
        erase the subject from every region cell of the organization and from Redis;
        prints the erasure certificate (or the first one, when already erased)
    postwise compliance evidence --org ORG --subject EMAIL [--out FILE]
        write the subject's evidence pack (a zip) to FILE (default: evidence-<subject>.zip)
    postwise compliance controls [--out DIR]
        check every control (ciphertext-only PII, admins' second factors, the audit chain,
        retention and erasure, route TLS, suppression, API key age), print the verdicts and
        write the dated report; exits 1 when a control fails

``--org`` is the organization's slug or id. The actor recorded in the audit log is
``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import Any

from .bootstrap import BootstrapError, organization_id
from .console import echo
from .settings import Settings


def register(sub: Any) -> None:
    """Add the ``compliance`` command and its subcommands to the CLI's subparsers."""
    parser = sub.add_parser("compliance", help="data subjects' rights: erasure, evidence packs")
    actions = parser.add_subparsers(dest="what", required=True)
    erase = actions.add_parser("erase", help="erase a data subject everywhere (idempotent)")
    _subject_options(erase)
    erase.set_defaults(handler=_erase)
    evidence = actions.add_parser("evidence", help="export a data subject's evidence pack (zip)")
    _subject_options(evidence)
    evidence.add_argument("--out", help="zip file to write (default: evidence-<subject>.zip)")
    evidence.set_defaults(handler=_evidence)
    controls = actions.add_parser(
        "controls", help="check every control now; write the dated HTML and JSON report"
    )
    controls.add_argument("--out", help="directory for the report (default: CONTROLS_REPORT_DIR)")
    controls.set_defaults(handler=_controls)


def _subject_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", required=True, help="organization slug or id")
    parser.add_argument("--subject", required=True, help="the data subject's email address")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _erase(args: argparse.Namespace, settings: Settings) -> int:
    import redis

    from compliance.erasure import RedisTarget, erase_subject
    from serving.ingest.wiring import get_cipher

    from .runtime import open_cells, resolve_services

    urls = resolve_services(settings)
    client = redis.Redis.from_url(urls.redis_url)
    try:
        with open_cells(settings, urls.database_url) as cells:
            with cells.connection("control") as conn:
                org_id = organization_id(conn, args.org)
            result = erase_subject(
                cells,
                get_cipher(settings),
                org_id,
                args.subject,
                requested_by=_actor(),
                redis_target=RedisTarget(client, settings.database_prefix),
            )
    finally:
        client.close()
    echo(json.dumps(result.as_json(), indent=2, sort_keys=True))
    return 0


def _evidence(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.erasure import subject_hash
    from compliance.evidence import build_evidence_pack
    from serving.ingest.wiring import get_cipher

    from .runtime import open_cells, resolve_database_url

    cipher = get_cipher(settings)
    database_url, _ = resolve_database_url(settings)
    with open_cells(settings, database_url) as cells:
        with cells.connection("control") as conn:
            org_id = organization_id(conn, args.org)
        pack = build_evidence_pack(cells, cipher, org_id, args.subject, requested_by=_actor())
    default = f"evidence-{subject_hash(cipher.blind_index(args.subject)).hex()[:16]}.zip"
    out = Path(args.out or default)
    try:
        out.write_bytes(pack)
    except OSError as exc:
        raise BootstrapError(f"cannot write {out}: {exc}") from None
    echo(f"evidence pack written to {out} ({len(pack)} bytes)")
    return 0


def _controls(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.controls import controls_report

    from .runtime import open_cells, resolve_database_url

    database_url, _ = resolve_database_url(settings)
    with open_cells(settings, database_url) as cells:
        report, json_path, html_path = controls_report(
            settings, cells, Path(args.out) if args.out else None
        )
    width = max(len(result.control_id) for result in report.results)
    for result in report.results:
        verdict = result.verdict.value.replace("_", " ").upper()
        echo(f"{result.control_id:<{width}}  {verdict:<14}  {result.summary}")
    echo(f"report written to {html_path} and {json_path}")
    return 0 if report.all_passed else 1
