"""Every SMTP route that leaves the machine requires TLS at or above the minimum version."""

from __future__ import annotations

from .evidence import EvidenceLog
from .model import ControlResult, Verdict
from .policy import ControlContext, is_loopback


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def route_tls(context: ControlContext) -> ControlResult:
    """TLS is required (STARTTLS or implicit) with ``min_tls`` at or above the policy's
    minimum on every route; loopback routes (the simulator's) carry nothing off the
    machine and are not applicable."""
    log = EvidenceLog()
    minimum = context.policy.tls_minimum
    rows, problems, applicable = [], [], 0
    for name, route in sorted(context.routes.items()):
        loopback = is_loopback(route.host)
        if loopback:
            state = "not applicable (loopback)"
        elif route.tls == "none":
            state = "fail: no TLS"
        elif _version(route.min_tls) < _version(minimum):
            state = f"fail: accepts TLS {route.min_tls}"
        else:
            state = "pass"
        applicable += not loopback
        if state.startswith("fail"):
            problems.append(f"route {name}: {state[6:]}")
        rows.append(
            {
                "route": name,
                "host": route.host,
                "tls": route.tls,
                "min_tls": route.min_tls,
                "state": state,
            }
        )
    log.note(
        "settings",
        "ROUTES: host, tls and min_tls of every delivery route",
        rows,
        finding=f"routes leaving the machine must use TLS {minimum} or newer",
    )
    if problems:
        verdict, summary = Verdict.FAIL, "; ".join(problems)
    elif applicable:
        verdict, summary = Verdict.PASS, f"{applicable} routes require TLS {minimum} or newer"
    else:
        verdict = Verdict.NOT_APPLICABLE
        summary = "every route is on loopback (the simulator); none leaves the machine"
    return ControlResult(
        "route_tls", "TLS minimums hold on every route", verdict, summary, log.evidence()
    )
