"""SMTP replies of mailbox providers, by mailbox host family.

Texts quoted in reference-figures.md §4 are reproduced as published: Gmail 421-4.7.28,
450 4.2.1, 550-5.7.1, 550 5.1.1, 550 5.7.26; Yahoo 421 4.7.0 [TSS04]; Microsoft
451 4.7.650 (S775), 550 5.7.1 (S3150), 550 5.7.515. The other texts (accept replies,
unknown-user and over-quota wording of Yahoo, Microsoft, iCloud, GMX, Orange and
Postfix-style ISPs) follow the formats these servers are known to use but are not sourced
in the reference figures ([A]); some carry no enhanced status code, as in real life.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

from ._random import unit


@dataclass(frozen=True)
class Reply:
    """One SMTP reply: basic code, enhanced status code (if the server sends one), text."""

    code: int
    enhanced: str | None
    template: str  # fields: {rcpt} {domain} {ip} {id} {ts}

    def render(self, rcpt: str, domain: str, ip: str, token: int, ts: int = 0) -> str:
        """The full reply text for one recipient."""
        return self.template.format(rcpt=rcpt, domain=domain, ip=ip, id=f"{token:x}", ts=ts)


_Family = dict[str, tuple[Reply, ...]]
_G = "https://support.google.com/mail/?p="
_GOOGLE: _Family = {
    "accept": (Reply(250, "2.0.0", "250 2.0.0 OK  {ts} {id}si.{id} - gsmtp"),),
    "invalid": (
        Reply(
            550,
            "5.1.1",
            "550-5.1.1 The email account that you tried to reach does not exist. "
            "Please try\n550-5.1.1 double-checking the recipient's email address for "
            "typos or\n550-5.1.1 unnecessary spaces. For more information, go to\n"
            f"550 5.1.1  {_G}NoSuchUser {{id}} - gsmtp",
        ),
    ),
    "full": (
        Reply(
            452,
            "4.2.2",
            "452-4.2.2 The recipient's inbox is out of storage space. "
            "Please direct the\n452-4.2.2 recipient to\n"
            f"452 4.2.2  {_G}OverQuotaTemp {{id}} - gsmtp",
        ),
        Reply(
            552,
            "5.2.2",
            "552-5.2.2 The recipient's inbox is out of storage space and "
            "inactive. Please direct\n552-5.2.2 the recipient to\n"
            f"552 5.2.2  {_G}OverQuotaPerm {{id}} - gsmtp",
        ),
    ),
    "defer": (
        Reply(
            421,
            "4.7.28",
            "421-4.7.28 [{ip}      15] Our system has detected an "
            "unusual rate of\n421-4.7.28 unsolicited mail originating "
            "from your IP address. To protect our\n421-4.7.28 users from "
            "spam, mail sent from your IP address has been temporarily\n"
            f"421-4.7.28 rate limited. Please visit\n421-4.7.28  "
            f"{_G}UnsolicitedRateLimitError to\n421 4.7.28 review our "
            "Bulk Email Senders Guidelines. {id} - gsmtp",
        ),
        Reply(
            450,
            "4.2.1",
            "450-4.2.1 The user you are trying to contact is receiving "
            "mail too quickly.\n450-4.2.1 Please resend your message at a "
            f"later time.\n450 4.2.1  {_G}ReceivingRate {{id}} - gsmtp",
        ),
    ),
    "block": (
        Reply(
            550,
            "5.7.1",
            "550-5.7.1 [{ip}] Our system has detected an unusual rate of "
            "unsolicited mail originating from your IP address and has "
            f"been blocked.\n550 5.7.1  {_G}UnsolicitedIPError {{id}} - "
            "gsmtp",
        ),
        Reply(
            550,
            "5.7.1",
            "550-5.7.1 [{ip}] Gmail has detected that this message is "
            "likely unsolicited mail.\n550 5.7.1  "
            f"{_G}UnsolicitedMessageError {{id}} - gsmtp",
        ),
        Reply(
            550,
            "5.7.26",
            "550-5.7.26 Unauthenticated email from {domain} is not "
            "accepted due to domain's DMARC policy.\n550 5.7.26  "
            f"{_G}UnauthenticatedEmail {{id}} - gsmtp",
        ),
    ),
}
_MS = "For e-mail delivery information, see https://postmaster.live.com"
_MICROSOFT: _Family = {
    "accept": (
        Reply(
            250,
            "2.6.0",
            "250 2.6.0 <{id}@postwise.local> [InternalId={ts}] Queued mail for delivery",
        ),
    ),
    "invalid": (
        Reply(
            550, "5.5.0", "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302)."
        ),
    ),
    "full": (
        Reply(
            554,
            "5.2.2",
            "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:"
            "QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
        ),
    ),
    "defer": (
        Reply(
            451,
            "4.7.650",
            "451 4.7.650 The mail server [{ip}] has been temporarily "
            f"rate limited due to IP reputation. {_MS} (S775)",
        ),
    ),
    "block": (
        Reply(
            550,
            "5.7.1",
            "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. "
            "Please contact your Internet service provider since part of "
            f"their network is on our block list (S3150). {_MS}",
        ),
        Reply(
            550,
            "5.7.515",
            "550 5.7.515 Access denied, sending domain {domain} does "
            "not meet the required authentication level.",
        ),
    ),
}
_M365: _Family = dict(
    _MICROSOFT,
    invalid=(
        Reply(
            550,
            "5.1.10",
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {rcpt} not found by "
            "SMTP address lookup",
        ),
    ),
)
_YAHOO: _Family = {
    "accept": (Reply(250, None, "250 ok dirdel"),),
    "invalid": (
        Reply(
            554,
            None,
            "554 delivery error: dd This user doesn't have a {domain} "
            "account ({rcpt}) [0] - mta{ts}.mail.gq1.yahoo.com",
        ),
    ),
    "full": (Reply(552, "5.2.2", "552 1 Requested mail action aborted, mailbox is over quota"),),
    "defer": (
        Reply(
            421,
            "4.7.0",
            "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred "
            "due to unexpected volume or user complaints - 4.16.55.1; see "
            "https://postmaster.yahooinc.com/error-codes",
        ),
    ),
    "block": (
        Reply(
            554,
            "5.7.9",
            "554 5.7.9 Message not accepted for policy reasons.  See "
            "https://postmaster.yahooinc.com/error-codes",
        ),
    ),
}
_POSTFIX: _Family = {
    "accept": (Reply(250, "2.0.0", "250 2.0.0 Ok: queued as {id}"),),
    "invalid": (
        Reply(
            550,
            "5.1.1",
            "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
        ),
    ),
    "full": (
        Reply(452, "4.2.2", "452 4.2.2 <{rcpt}>: Recipient address rejected: Mailbox full"),
        Reply(552, "5.2.2", "552 5.2.2 <{rcpt}>: Mailbox full"),
    ),
    "defer": (
        Reply(
            450,
            "4.2.0",
            "450 4.2.0 <{rcpt}>: Recipient address rejected: "
            "Greylisted, see http://postgrey.schweikert.ch/help/{domain}"
            ".html",
        ),
        Reply(421, "4.7.0", "421 4.7.0 Try again later, closing connection."),
    ),
    "block": (Reply(554, "5.7.1", "554 5.7.1 Service unavailable; Client host [{ip}] blocked"),),
}
_GMX: _Family = dict(
    _POSTFIX,
    invalid=(Reply(550, None, "550 Requested action not taken: mailbox unavailable"),),
    full=(Reply(552, None, "552 Requested mail action aborted: exceeded storage allocation"),),
)
_APPLE: _Family = dict(
    _POSTFIX,
    invalid=(Reply(550, "5.1.1", "550 5.1.1 <{rcpt}>: user does not exist"),),
    full=(Reply(552, "5.2.2", "552 5.2.2 <{rcpt}>: user is over quota"),),
)
_ORANGE: _Family = dict(
    _POSTFIX,
    invalid=(
        Reply(
            550,
            "5.1.1",
            "550 5.1.1 Adresse d au moins un destinataire "
            "invalide. Invalid recipient. OFR_416 [416]",
        ),
    ),
)

CATALOGUE: dict[str, dict[str, tuple[Reply, ...]]] = {
    "google": _GOOGLE,
    "microsoft": _MICROSOFT,
    "microsoft365": _M365,
    "yahoo": _YAHOO,
    "apple": _APPLE,
    "gmx": _GMX,
    "orange": _ORANGE,
    "other": _POSTFIX,
}

# Per-send probability of a temporary 4xx deferral (then delivered after a retry) and of a
# transient soft bounce on a healthy mailbox, by host family [A]; tuned so that soft bounces
# per send stay in calibration.SOFT_BOUNCE_RATE.
DEFERRAL_RATE = {
    "google": 0.006,
    "microsoft": 0.008,
    "microsoft365": 0.004,
    "yahoo": 0.012,
    "apple": 0.003,
    "gmx": 0.004,
    "orange": 0.004,
    "other": 0.003,
}
TRANSIENT_SOFT_BOUNCE_RATE = 0.0025

_HOST_OF_PROVIDER = {
    "gmail": "google",
    "outlook": "microsoft",
    "yahoo": "yahoo",
    "aol": "yahoo",
    "icloud": "apple",
    "gmx": "gmx",
    "webde": "gmx",
    "orange": "orange",
}


def domain_key(domain: str) -> int:
    """A stable integer for a domain (Python's str hash changes between processes)."""
    return zlib.crc32(domain.encode("ascii"))


def mailbox_host(seed_key: int, provider: str, domain: str) -> str:
    """Which server family answers for a domain; corporate domains are mostly hosted mail."""
    if provider != "corporate":
        return _HOST_OF_PROVIDER.get(provider, "other")
    u = unit(seed_key, domain_key(domain), 1)
    # [A] B2B mail is mostly Microsoft 365, then Google Workspace, then self-hosted.
    return "microsoft365" if u < 0.60 else "google" if u < 0.88 else "other"


@lru_cache(maxsize=4096)
def mx_host(host: str, domain: str) -> str:
    """The MX host name a sender would connect to for ``domain``."""
    dashed = domain.replace(".", "-")
    return {
        "google": "gmail-smtp-in.l.google.com" if domain == "gmail.com" else "aspmx.l.google.com",
        "microsoft": f"{dashed}.olc.protection.outlook.com",
        "microsoft365": f"{dashed}.mail.protection.outlook.com",
        "yahoo": "mta5.am0.yahoodns.net",
        "apple": "mx01.mail.icloud.com",
        "gmx": "mx00.gmx.net" if "gmx" in domain else "mx-ha02.web.de",
        "orange": "smtp-in.orange.fr",
    }.get(host, f"mx.{domain}")


def pick(host: str, kind: str, u: float) -> Reply:
    """A reply of ``kind`` ("accept", "invalid", "full", "defer", "block") chosen by ``u``."""
    replies = CATALOGUE[host][kind]
    return replies[min(int(u * len(replies)), len(replies) - 1)]
