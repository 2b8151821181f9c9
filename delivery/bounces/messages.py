"""Asynchronous reports received by the inbound listener: what they say about which address.

- RFC 3464 delivery status notifications (``multipart/report; report-type=delivery-status``):
  one :class:`Bounce` per failed or delayed recipient, from ``Status`` and
  ``Diagnostic-Code``;
- RFC 5965 feedback reports (ARF, ``report-type=feedback-report``): a complaint
  (``feedback``), the recipient from ``Original-Rcpt-To`` or the returned message;
- autoreplies (``Auto-Submitted: auto-replied``, ``X-Autoreply``, ``Precedence:
  auto_reply``, out-of-office subjects): ``vacation``, never a bounce;
- the non-standard notices of common MTAs and providers (qmail, Exim, Exchange, Gmail,
  Postfix without a report part): the failed address and the SMTP reply are read from the
  text.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message

from .reasons import ENHANCED_CODE, classify_reply, is_hard

ADDRESS = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>?")
OUT_OF_OFFICE = re.compile(
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?reply|autoreply|vacation|"
    r"abwesenheit|absence|absent|fuera de la oficina",
    re.IGNORECASE,
)
MTA_NOTICE = re.compile(
    r"could not be delivered|delivery (?:has )?failed|undeliverable|undelivered|"
    r"failure notice|returned mail|delivery status notification|mail delivery (?:system|subsystem)|"
    r"permanent error|address(?:es)? failed|not be delivered",
    re.IGNORECASE,
)
# "addr: reply" (qmail), "addr\n    SMTP error ...: reply" (Exim), "Remote Server returned
# 'reply'" (Exchange), "reply" lines with a status code anywhere else.
DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
REPLY_LINE = re.compile(r"\b([245]\d\d)[ -]((?:[245]\.\d{1,3}\.\d{1,3}\b)?.*)")


@dataclass(frozen=True)
class Bounce:
    """What a report says about one recipient."""

    kind: str  # "dsn", "arf", "autoreply", "mta"
    reason: str
    hard: bool | None
    recipient: str | None
    smtp_code: int | None = None
    enhanced_code: str | None = None
    diagnostic: str | None = None
    action: str | None = None  # DSN Action: failed, delayed, ...


def parse_report(raw: bytes | str) -> list[Bounce]:
    """Every recipient a received report is about (empty: not a bounce report at all)."""
    message = (
        email.message_from_bytes(raw, policy=email.policy.default)
        if isinstance(raw, bytes)
        else email.message_from_string(raw, policy=email.policy.default)
    )
    assert isinstance(message, EmailMessage)
    if message.get_content_type() == "multipart/report":
        report_type = str(message.get_param("report-type") or "").lower()
        if report_type == "feedback-report":
            return [_feedback(message)]
        if report_type == "delivery-status":
            found = _delivery_status(message)
            if found:
                return found
    # MTAs mark their notices auto-replied too (RFC 3834): a daemon's mail is no autoreply.
    sender = _first_address(str(message.get("From", ""))) or ""
    from_daemon = sender.split("@", 1)[0].lower() in DAEMONS
    if _is_autoreply(message) and not from_daemon:
        return [Bounce("autoreply", "vacation", None, sender or None)]
    return _mta_notice(message)


def _is_autoreply(message: Message) -> bool:
    auto = str(message.get("Auto-Submitted", "")).lower()
    if auto.startswith("auto-replied"):
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if str(message.get("Precedence", "")).lower() == "auto_reply":
        return True
    if message.get_content_type() == "multipart/report":
        return False
    return bool(OUT_OF_OFFICE.search(str(message.get("Subject", ""))))


def _feedback(message: EmailMessage) -> Bounce:
    recipient = None
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            fields = _fields(_part_text(part))
            recipient = _first_address(fields.get("original-rcpt-to", ""))
        elif part.get_content_type() in ("message/rfc822", "text/rfc822-headers") and not recipient:
            recipient = _first_address(_header_in(_part_text(part), "to"))
    return Bounce("arf", "feedback", None, recipient)


def _delivery_status(message: EmailMessage) -> list[Bounce]:
    for part in message.walk():
        if part.get_content_type() not in (
            "message/delivery-status",
            "message/global-delivery-status",
        ):
            continue
        blocks = re.split(r"\r?\n\s*\r?\n", _part_text(part).strip())
        out = []
        for block in blocks[1:] or blocks:  # the first block is per message
            fields = _fields(block)
            action = fields.get("action", "").lower() or None
            if action not in (None, "failed", "delayed"):
                continue  # delivered, relayed, expanded: nothing went wrong
            recipient = _first_address(
                fields.get("final-recipient", "") or fields.get("original-recipient", "")
            )
            status = fields.get("status", "")
            diagnostic = fields.get("diagnostic-code", "")
            diagnostic = diagnostic.split(";", 1)[-1].strip() if diagnostic else ""
            code = re.search(r"\b([245]\d\d)\b", diagnostic)
            enhanced = ENHANCED_CODE.search(status) or ENHANCED_CODE.search(diagnostic)
            smtp_code = int(code.group(1)) if code else None
            enhanced_code = ".".join(enhanced.groups()) if enhanced else None
            if smtp_code is None and enhanced_code:
                smtp_code = 550 if enhanced_code.startswith("5") else 450
            reason, hard = classify_reply(smtp_code, enhanced_code, diagnostic or status)
            if action == "delayed":
                hard = False
            out.append(
                Bounce("dsn", reason, hard, recipient, smtp_code, enhanced_code,
                       diagnostic or None, action)
            )  # fmt: skip
        return out
    return []


def _mta_notice(message: EmailMessage) -> list[Bounce]:
    subject = str(message.get("Subject", ""))
    body = _body_text(message)
    if not (MTA_NOTICE.search(subject) or MTA_NOTICE.search(body[:2000])):
        return []
    reply = REPLY_LINE.search(body)
    smtp_code = int(reply.group(1)) if reply else None
    text = reply.group(0) if reply else body[:1000]
    enhanced = ENHANCED_CODE.search(text) or ENHANCED_CODE.search(body)
    enhanced_code = ".".join(enhanced.groups()) if enhanced else None
    reason, hard = classify_reply(smtp_code, enhanced_code, text)
    if reason == "undefined":
        # No reply quoted: the notice's own words may still say what happened.
        reason, hard = classify_reply(smtp_code or 550, enhanced_code, body[:4000])
    recipient = _failed_recipient(message, body)
    if smtp_code is None and hard is None:
        hard = is_hard(reason, 550)
    return [Bounce("mta", reason, hard, recipient, smtp_code, enhanced_code, text.strip()[:500])]


def _failed_recipient(message: Message, body: str) -> str | None:
    header = message.get("X-Failed-Recipients")
    if header:
        return _first_address(str(header))
    sender = _first_address(str(message.get("From", ""))) or ""
    for match in ADDRESS.finditer(body):
        address = match.group(1)
        local = address.split("@", 1)[0].lower()
        if address != sender and local not in DAEMONS:
            return address
    return None


def _fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    last = None
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and last:
            fields[last] += " " + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            last = name.strip().lower()
            fields[last] = value.strip()
    return {name: " ".join(value.split()) for name, value in fields.items()}


def _part_text(part: Message) -> str:
    if part.is_multipart():
        # message/* parts are parsed into sub-messages: their header blocks are the text.
        return "\n\n".join(sub.as_string() for sub in part.get_payload())  # type: ignore[union-attr]
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return str(part.get_payload())


def _body_text(message: EmailMessage) -> str:
    texts = []
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            text = _part_text(part)
            texts.append(
                re.sub(r"<[^>]+>", " ", text) if part.get_content_subtype() == "html" else text
            )
    return "\n".join(texts)


def _header_in(text: str, name: str) -> str:
    found = re.search(rf"^{name}:\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
    return found.group(1) if found else ""


def _first_address(text: str) -> str | None:
    found = ADDRESS.search(text or "")
    return found.group(1) if found else None
