"""Bounce reasons (the vocabulary of Sisimai, a widely used bounce classifier) and how an
SMTP reply maps to one: its text first (providers say more in words than in codes), then
its enhanced status code (RFC 3463), then its basic code.

``hard`` means the address itself is the problem and mailing it again is pointless (it goes
on the suppression list); ``False`` means the message, the sender, the route or the moment
was the problem; ``None`` means the report is not a bounce (a complaint, an autoreply).
"""

from __future__ import annotations

import re

REASONS = (
    "userunknown", "mailboxfull", "hostunknown", "blocked", "spamdetected",
    "policyviolation", "rejected", "expired", "filtered", "toomanyconn", "exceedlimit",
    "mesgtoobig", "suspend", "networkerror", "systemerror", "contenterror", "securityerror",
    "norelaying", "notaccept", "syntaxerror", "hasmoved", "onhold", "vacation", "feedback",
    "undefined",
)  # fmt: skip
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved", "notaccept"})
NOT_BOUNCES = frozenset({"vacation", "feedback"})

# Text patterns, most specific first: the first reason with a matching phrase decides.
TEXT_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "hasmoved",
        (
            r"has moved",
            r"address has changed",
            r"no longer (?:with|at) ",
        ),
    ),
    (
        "mailboxfull",
        (
            r"mailbox (?:is )?full",
            r"over ?quota",
            r"quota exceeded",
            r"insufficient (?:disk )?space",
            r"mailbox size limit",
        ),
    ),
    (
        "suspend",
        (
            r"account (?:has been |is )?(?:disabled|suspended|inactive|locked)",
            r"mailbox (?:is )?(?:disabled|inactive|suspended)",
        ),
    ),
    (
        "userunknown",
        (
            r"user ?unknown",
            r"unknown (?:user|recipient|mailbox)",
            r"no such (?:user|mailbox|recipient)",
            r"does not exist",
            r"doesn't exist",
            r"address not found",
            r"invalid (?:recipient|mailbox)",
            r"not a valid mailbox",
            r"no mailbox here",
            r"user not found",
            r"recipient ?not ?found",
            r"account that you tried to reach does not exist",
        ),
    ),
    (
        "hostunknown",
        (
            r"host (?:or domain name )?not found",
            r"unknown host",
            r"domain (?:not found|does not exist)",
            r"no mx",
            r"nxdomain",
            r"unrouteable",
            r"unroutable",
            r"name service error",
        ),
    ),
    (
        "notaccept",
        (
            r"does not accept (?:e-?)?mail",
            r"null mx",
        ),
    ),
    (
        "norelaying",
        (
            r"relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed)",
            r"not permitted to relay",
            r"we do not relay",
        ),
    ),
    (
        "spamdetected",
        (
            r"\bspam\b",
            r"junk mail",
            r"unsolicited",
            r"bulk mail",
            r"message (?:was )?(?:classified|identified|detected) as",
        ),
    ),
    (
        "securityerror",
        (
            r"\bspf\b",
            r"\bdkim\b",
            r"\bdmarc\b",
            r"authentication (?:required|failed)",
            r"not authenticated",
            r"tls (?:is )?required",
            r"encryption required",
            r"sender policy",
        ),
    ),
    (
        "blocked",
        (
            r"block(?:ed|list)",
            r"blacklist",
            r"denylist",
            r"\brbl\b",
            r"spamhaus",
            r"ip (?:address )?(?:rejected|reputation)",
            r"poor reputation",
            r"client host rejected",
            r"access denied",
        ),
    ),
    (
        "toomanyconn",
        (
            r"too many (?:connections|concurrent|sessions)",
            r"connection (?:limit|rate)",
        ),
    ),
    (
        "exceedlimit",
        (
            r"rate limit",
            r"too many (?:messages|recipients|emails)",
            r"sending (?:limit|rate)",
            r"unusual rate",
            r"try again later.*rate",
            r"exceeded .*limit",
        ),
    ),
    (
        "mesgtoobig",
        (
            r"message (?:size )?(?:is )?too (?:big|large)",
            r"size (?:limit )?exceeded",
            r"exceeds (?:the )?(?:maximum )?(?:message )?size",
        ),
    ),
    (
        "contenterror",
        (
            r"content (?:rejected|not allowed)",
            r"attachment (?:not allowed|rejected|blocked)",
            r"message (?:content )?rejected due to content",
        ),
    ),
    (
        "policyviolation",
        (
            r"policy",
            r"prohibited",
            r"not allowed by",
        ),
    ),
    (
        "expired",
        (
            r"delivery time expired",
            r"retry (?:time|timeout) (?:exceeded|expired)",
            r"message expired",
            r"giving up",
            r"too long in (?:the )?queue",
            r"could not be delivered for \d+ (?:days|hours)",
        ),
    ),
    (
        "networkerror",
        (
            r"connection (?:timed out|refused|reset|dropped)",
            r"network (?:is )?unreachable",
            r"lost connection",
            r"timeout",
        ),
    ),
    (
        "systemerror",
        (
            r"system (?:error|not accepting)",
            r"internal (?:server )?error",
            r"temporar(?:y|ily) (?:failure|unavailable)",
            r"local error",
            r"system failure",
            r"resources? (?:temporarily )?unavailable",
            r"insufficient system storage",
        ),
    ),
    (
        "syntaxerror",
        (
            r"syntax error",
            r"bad (?:address|recipient) syntax",
            r"command unrecognized",
            r"malformed",
        ),
    ),
    (
        "filtered",
        (
            r"filtered",
            r"recipient (?:has )?(?:blocked|refused) (?:mail|you)",
            r"rejected by recipient",
        ),
    ),
    (
        "onhold",
        (
            r"on hold",
            r"deferred by (?:policy|admin)",
        ),
    ),
    (
        "rejected",
        (
            r"sender (?:address )?rejected",
            r"domain of sender",
            r"rejected",
        ),
    ),
)
TEXT_RULES = tuple(
    (reason, re.compile("|".join(phrases), re.IGNORECASE)) for reason, phrases in TEXT_PHRASES
)

# Enhanced status codes (RFC 3463) whose meaning is unambiguous; class digit ignored.
ENHANCED_RULES = {
    "1.1": "userunknown", "1.2": "hostunknown", "1.3": "syntaxerror", "1.4": "userunknown",
    "1.6": "hasmoved", "1.10": "notaccept", "2.1": "suspend", "2.2": "mailboxfull",
    "2.3": "mesgtoobig", "2.4": "systemerror", "3.0": "systemerror", "3.1": "systemerror",
    "3.2": "systemerror", "3.4": "mesgtoobig", "4.1": "networkerror", "4.2": "networkerror",
    "4.3": "hostunknown",
    "4.4": "hostunknown", "4.6": "networkerror", "4.7": "expired", "5.0": "syntaxerror",
    "5.1": "syntaxerror", "5.2": "syntaxerror", "5.3": "exceedlimit", "5.4": "syntaxerror",
    "6.0": "contenterror", "6.1": "contenterror", "7.0": "securityerror",
    "7.1": "rejected", "7.2": "policyviolation", "7.7": "securityerror",
    "7.8": "securityerror", "7.9": "securityerror", "7.13": "suspend",
    "7.23": "securityerror", "7.24": "securityerror", "7.25": "securityerror",
    "7.26": "securityerror", "7.27": "notaccept", "7.28": "exceedlimit",
}  # fmt: skip

ENHANCED_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
BASIC_CODE = re.compile(r"\b([245]\d\d)\b")


def is_hard(reason: str, smtp_code: int | None) -> bool | None:
    """Hard (the address is bad), soft, or None for reports that are not bounces."""
    if reason in NOT_BOUNCES:
        return None
    if reason == "undefined":
        return None if smtp_code is None else False
    if reason in HARD_REASONS:
        # A 4xx "user unknown" is a server that is unsure (often a greylist): retry.
        return smtp_code is None or smtp_code >= 500
    return False


def classify_reply(
    smtp_code: int | None, enhanced_code: str | None, text: str | None
) -> tuple[str, bool | None]:
    """``(reason, hard)`` of one SMTP reply (code, enhanced status code, reply text)."""
    text = text or ""
    enhanced_code = enhanced_code or None
    if enhanced_code is None:
        found = ENHANCED_CODE.search(text)
        enhanced_code = ".".join(found.groups()) if found else None
    if smtp_code is None:
        basic = BASIC_CODE.search(text)
        smtp_code = int(basic.group(1)) if basic else None
        if smtp_code is None and enhanced_code:
            smtp_code = {"5": 550, "4": 450, "2": 250}[enhanced_code[0]]
    if smtp_code is not None and smtp_code < 400:
        return "undefined", None  # a success is not a bounce
    for reason, pattern in TEXT_RULES:
        if pattern.search(text):
            return reason, is_hard(reason, smtp_code)
    if enhanced_code:
        subject_detail = enhanced_code.split(".", 1)[1]
        by_code = ENHANCED_RULES.get(subject_detail)
        if by_code:
            return by_code, is_hard(by_code, smtp_code)
    if smtp_code in (421,):
        return "toomanyconn", False
    if smtp_code in (552,):
        return "mailboxfull", False
    if smtp_code in (550, 551, 553):
        return "rejected", False
    return "undefined", is_hard("undefined", smtp_code)
