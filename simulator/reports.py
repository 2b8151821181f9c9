"""What providers send back after they accepted a message: DSNs and complaint reports.

A real provider can accept a message and bounce it later (the mailbox was disabled after
acceptance, a delayed delivery finally gave up), and a recipient who presses "this is spam"
makes the provider send an ARF feedback report (RFC 5965) through its feedback loop. Both
travel by SMTP to the message's VERP return path, where the sender's inbound listener waits.

:func:`report_for` decides, from the simulator's ground truth and a seed, what follows one
accepted message:

- a DSN (RFC 3464 ``multipart/report``) when the mailbox is deleted within
  ``disabled_within_days`` of acceptance (``550 5.1.1``: the account is gone, hard), when
  :func:`~simulator.behaviour.simulate_send` draws a transient failure for the message (the
  provider's reply, usually soft), or for a seeded ``after_accept_bounce_rate`` share of
  messages (``550 5.2.1``: mailbox disabled);
- otherwise an ARF complaint when ``simulate_send`` draws a complaint for the recipient
  (the simulator's complaint probability), or for a seeded ``extra_complaint_rate`` share
  (tests that need complaints from a few hundred messages). The draw uses the same random stream as
  :func:`simulator.engagement_http.plan_engagement`, so the people who complain are the
  people the engagement plan has complain.

:class:`ReportOutbox` holds reports until they are due and sends them over SMTP (one
connection per flush, bounded timeouts); :class:`~simulator.esp.SimulatedEsp` owns one when
its behaviour carries a :class:`ReportPolicy`. Off unless configured.
"""

from __future__ import annotations

import logging
import re
import smtplib
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Literal

import numpy as np

from .behaviour import simulate_send

if TYPE_CHECKING:
    from .world import Recipient

log = logging.getLogger(__name__)

ReportKind = Literal["dsn", "complaint"]
SMTP_TIMEOUT_SECONDS = 10.0
MAX_SEND_TRIES = 3


class ReportError(RuntimeError):
    """A report could not be built from the accepted message."""


@dataclass(frozen=True)
class ReportPolicy:
    """When an accepting simulated ESP later reports on a message, and where to."""

    recipients: Mapping[str, Recipient]  # lower-case address -> the world's recipient
    listener_host: str = "127.0.0.1"
    listener_port: int = 2500
    seed: int = 0
    delay_seconds: float | None = 5.0  # None: held until the owner flushes them
    disabled_within_days: float = 14.0
    after_accept_bounce_rate: float = 0.005
    extra_complaint_rate: float = 0.0  # a seeded share complains beyond the latent truth
    campaign_type: str = "marketing"
    reporting_mta: str = "mx.simulated-provider.example"


@dataclass(frozen=True)
class Report:
    """One report to send: to the message's return path, about ``recipient``."""

    kind: ReportKind
    return_path: str
    recipient: str
    reason: str  # why, for counting: userunknown, suspend, feedback, ...
    data: bytes


def report_for(
    policy: ReportPolicy,
    mail_from: str,
    rcpt: str,
    raw: bytes,
    nth: int,
    accepted_at: datetime | None = None,
) -> Report | None:
    """The report (if any) that follows acceptance of ``raw`` for ``rcpt``; ``nth`` counts
    earlier messages to the same address (the engagement plan's numbering)."""
    recipient = policy.recipients.get(rcpt.lower())
    if recipient is None or not mail_from:
        return None
    now = accepted_at or datetime.now(UTC)
    rng = np.random.default_rng([policy.seed, recipient.index, nth, zlib.crc32(b"http")])
    events = simulate_send(recipient, None, now, policy.campaign_type, None, rng)
    later = now + timedelta(days=policy.disabled_within_days)
    extra = np.random.default_rng([policy.seed, recipient.index, nth, zlib.crc32(b"dsn")])
    bounced = next((e for e in events if e.type == "bounced"), None)
    if recipient.status_at(later) == "invalid":
        status, code, text, reason = (
            "5.1.1", 550, "The email account that you tried to reach does not exist", "userunknown"
        )  # fmt: skip
    elif bounced is not None and bounced.enhanced_code and bounced.smtp_code:
        status, code = bounced.enhanced_code, bounced.smtp_code
        text, reason = str(bounced.details.get("reply", "Delivery failed")), "provider"
    elif extra.random() < policy.after_accept_bounce_rate:
        status, code, text, reason = (
            "5.2.1", 550, "The email account that you tried to reach is disabled", "suspend"
        )  # fmt: skip
    elif (
        any(e.type == "complained" for e in events) or extra.random() < policy.extra_complaint_rate
    ):
        data = arf_report(policy.reporting_mta, mail_from, rcpt, raw, now)
        return Report("complaint", mail_from, rcpt, "feedback", data)
    else:
        return None
    data = dsn_report(policy.reporting_mta, mail_from, rcpt, raw, status, code, text, now)
    return Report("dsn", mail_from, rcpt, reason, data)


def _original_headers(raw: bytes) -> str:
    """The header block of the original message, as text/rfc822-headers carries it."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    if b":" not in head:
        raise ReportError("the accepted message has no header block")
    return head.decode("ascii", errors="replace").replace("\r\n", "\n")


def dsn_report(
    mta: str,
    return_path: str,
    rcpt: str,
    raw: bytes,
    status: str,
    code: int,
    text: str,
    at: datetime,
) -> bytes:
    """An RFC 3464 delivery status notification about ``rcpt``, to ``return_path``."""
    action = "failed" if status.startswith("5") else "delayed"
    headers = {
        "From": f"MAILER-DAEMON@{mta} (Mail Delivery System)",
        "To": return_path,
        "Subject": "Undelivered Mail Returned to Sender",
        "Auto-Submitted": "auto-replied",
    }
    human = (
        f"This is the mail system at host {mta}.\n\n"
        "Your message was accepted, but it could not be delivered to its recipient."
    )
    fields = (
        f"Reporting-MTA: dns; {mta}\nArrival-Date: {format_datetime(at)}\n\n"
        f"Final-Recipient: rfc822; {rcpt}\nOriginal-Recipient: rfc822;{rcpt}\n"
        f"Action: {action}\nStatus: {status}\nRemote-MTA: dns; {mta}\n"
        f"Diagnostic-Code: smtp; {code} {status} {text.splitlines()[0][:200]}"
    )
    return _multipart_report(
        mta, at, headers, "delivery-status", human, "message/delivery-status", fields, raw
    )


def arf_report(mta: str, return_path: str, rcpt: str, raw: bytes, at: datetime) -> bytes:
    """An RFC 5965 abuse report: ``rcpt`` marked the message as spam."""
    headers = {
        "From": f"feedback-loop@{mta}",
        "To": return_path,
        "Subject": f"Complaint about a message to {rcpt}",
    }
    human = "This is an email abuse report for a message your system sent."
    fields = (
        "Feedback-Type: abuse\nUser-Agent: SimulatedFeedbackLoop/1.0\nVersion: 1\n"
        f"Original-Mail-From: <{return_path}>\nOriginal-Rcpt-To: <{rcpt}>\n"
        f"Arrival-Date: {format_datetime(at)}\nReported-Domain: {mta}"
    )
    return _multipart_report(
        mta, at, headers, "feedback-report", human, "message/feedback-report", fields, raw
    )


def _multipart_report(
    mta: str,
    at: datetime,
    headers: Mapping[str, str],
    report_type: str,
    human: str,
    status_type: str,
    fields: str,
    raw: bytes,
) -> bytes:
    """A multipart/report: a human-readable part, the machine-readable part and the
    original message's headers."""
    boundary = f"=_report_{uuid.uuid4().hex}"
    lines = [
        *(f"{name}: {value}" for name, value in headers.items()),
        f"Date: {format_datetime(at)}",
        f"Message-ID: {make_msgid(domain=mta)}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        human,
        "",
        f"--{boundary}",
        f"Content-Type: {status_type}",
        "",
        fields,
        "",
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
        _original_headers(raw),
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).replace("\r\n", "\n").replace("\n", "\r\n").encode()


@dataclass
class ReportOutbox:
    """Reports waiting to be sent to the listener; thread-safe."""

    host: str
    port: int
    delay_seconds: float | None
    _pending: list[tuple[float, Report, int]] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)
    dropped: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, report: Report) -> None:
        due = time.monotonic() + (self.delay_seconds or 0.0)
        with self._lock:
            self._pending.append((due, report, 0))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self, *, due_only: bool = False) -> int:
        """Send the pending reports (only those due, with ``due_only``); returns how many
        went out. A report the listener refuses or cannot take is tried again on the next
        flush, at most ``MAX_SEND_TRIES`` times."""
        now = time.monotonic()
        with self._lock:
            ready = [p for p in self._pending if not due_only or p[0] <= now]
            self._pending = [p for p in self._pending if due_only and p[0] > now]
        if not ready:
            return 0
        refused: list[tuple[float, Report, int]] = []
        done = 0  # reports of ``ready`` handed to the listener or refused by it
        try:
            with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
                for due, report, tries in ready:
                    try:
                        smtp.sendmail("", [report.return_path], report.data)
                        with self._lock:
                            self.sent[report.kind] += 1
                    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
                        log.warning("the listener refused a report: %s", exc)
                        refused.append((due, report, tries + 1))
                    done += 1
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("could not send reports to %s:%d: %s", self.host, self.port, exc)
        failed = refused + [(d, r, t + 1) for d, r, t in ready[done:]]
        sent = done - len(refused)
        with self._lock:
            kept = [p for p in failed if p[2] < MAX_SEND_TRIES]
            self.dropped += len(failed) - len(kept)
            self._pending.extend(kept)
        return sent
