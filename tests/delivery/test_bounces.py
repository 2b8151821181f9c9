"""Bounce classification: SMTP replies, RFC 3464 DSNs, ARF complaints, autoreplies and the
plain-text notices of common MTAs, and the command that classifies files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from delivery.bounces import REASONS, classify_reply, parse_report

REPORTS = Path(__file__).parent / "reports"
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("code", "enhanced", "text", "reason", "hard"),
    [
        (
            550,
            "5.1.1",
            "The email account that you tried to reach does not exist.",
            "userunknown",
            True,
        ),
        (450, "4.1.1", "Recipient address rejected: User unknown", "userunknown", False),
        (550, "5.2.1", "The email account that you tried to reach is disabled.", "suspend", False),
        (552, "5.2.2", "Mailbox full: user over quota", "mailboxfull", False),
        (550, "5.1.10", "RESOLVER.ADR.RecipientNotFound", "userunknown", True),
        (550, "5.1.2", "Host or domain name not found", "hostunknown", True),
        (556, "5.1.10", "Recipient address has null MX", "notaccept", True),
        (550, "5.1.6", "Recipient has moved", "hasmoved", True),
        (554, "5.7.1", "Client host [192.0.2.1] blocked using zen.spamhaus.org", "blocked", False),
        (550, "5.7.1", "Message rejected as spam by Content Filtering", "spamdetected", False),
        (
            550,
            "5.7.26",
            "Unauthenticated email is not accepted due to DMARC policy",
            "securityerror",
            False,
        ),
        (554, "5.7.1", "Relaying denied", "norelaying", False),
        (552, "5.3.4", "Message size exceeds fixed maximum message size", "mesgtoobig", False),
        (421, "4.7.0", "Too many concurrent SMTP connections", "toomanyconn", False),
        (
            451,
            "4.7.28",
            "Our system has detected an unusual rate of unsolicited mail",
            "spamdetected",
            False,
        ),
        (452, "4.5.3", "Too many recipients", "exceedlimit", False),
        (451, None, "4.4.7 Delivery time expired", "expired", False),
        (
            550,
            None,
            "550 5.7.1 Message content rejected due to content policy",
            "contenterror",
            False,
        ),
        (501, "5.5.4", "Syntax error in parameters", "syntaxerror", False),
        (550, None, "Mail refused", "rejected", False),
        (250, "2.0.0", "OK queued", "undefined", None),
    ],
)
def test_smtp_replies_get_a_reason_and_hardness(
    code: int, enhanced: str | None, text: str, reason: str, hard: bool | None
) -> None:
    assert reason in REASONS
    assert classify_reply(code, enhanced, text) == (reason, hard)


def test_a_dsn_names_the_failed_recipient_with_the_remote_reply() -> None:
    (bounce,) = parse_report((REPORTS / "postfix_dsn_userunknown.eml").read_bytes())
    assert (bounce.kind, bounce.reason, bounce.hard) == ("dsn", "userunknown", True)
    assert bounce.recipient == "nobody@gmail.example"
    assert (bounce.smtp_code, bounce.enhanced_code, bounce.action) == (550, "5.1.1", "failed")
    assert "does not exist" in (bounce.diagnostic or "")


def test_a_dsn_reports_failed_and_delayed_recipients_but_not_delivered_ones() -> None:
    raw = (REPORTS / "dsn_two_recipients_full_and_delayed.eml").read_bytes()
    full, slow = parse_report(raw)
    assert (full.recipient, full.reason, full.hard) == ("full@yahoo.example", "mailboxfull", False)
    assert (slow.recipient, slow.action, slow.hard) == ("slow@corp.example", "delayed", False)
    assert slow.reason == "networkerror"


def test_an_arf_report_is_a_complaint_about_the_original_recipient() -> None:
    (bounce,) = parse_report((REPORTS / "arf_complaint.eml").read_bytes())
    assert (bounce.kind, bounce.reason, bounce.hard) == ("arf", "feedback", None)
    assert bounce.recipient == "annoyed@hotmail.example"


def test_an_autoreply_is_not_a_bounce() -> None:
    (bounce,) = parse_report((REPORTS / "autoreply_out_of_office.eml").read_bytes())
    assert (bounce.kind, bounce.reason, bounce.hard) == ("autoreply", "vacation", None)


@pytest.mark.parametrize(
    ("name", "recipient", "reason", "hard"),
    [
        ("qmail_notice.eml", "gone@isp.example", "userunknown", True),
        ("exim_blocked.eml", "person@hosting.example", "blocked", False),
        ("exchange_recipient_not_found.eml", "left.company@outlook.example", "userunknown", True),
    ],
)
def test_plain_text_notices_of_common_mtas_are_read(
    name: str, recipient: str, reason: str, hard: bool
) -> None:
    (bounce,) = parse_report((REPORTS / name).read_bytes())
    assert (bounce.kind, bounce.recipient, bounce.reason, bounce.hard) == (
        "mta",
        recipient,
        reason,
        hard,
    )


def test_an_ordinary_reply_is_no_report() -> None:
    assert parse_report((REPORTS / "plain_reply.eml").read_bytes()) == []


def test_the_command_prints_one_json_line_per_file(tmp_path: Path) -> None:
    files = sorted(REPORTS.glob("*.eml"))
    done = subprocess.run(
        [sys.executable, "-m", "delivery.bounces", "classify", *map(str, files)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(f) for f in files]
    by_name = {Path(str(line["file"])).name: line for line in lines}
    assert by_name["postfix_dsn_userunknown.eml"] | {"file": None} == {
        "file": None,
        "reason": "userunknown",
        "hard": True,
        "recipient": "nobody@gmail.example",
        "kind": "dsn",
        "status": "5.1.1",
    }
    assert by_name["arf_complaint.eml"]["hard"] is None
    assert by_name["plain_reply.eml"]["kind"] == "none"
    assert by_name["dsn_two_recipients_full_and_delayed.eml"]["recipients"] == [
        "full@yahoo.example",
        "slow@corp.example",
    ]
    missing = subprocess.run(
        [sys.executable, "-m", "delivery.bounces", "classify", str(tmp_path / "nope.eml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "cannot read" in missing.stderr
