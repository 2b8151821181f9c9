"""The consent state machine: which step may follow which, and where each step leads.

A consent (one contact, channel and purpose) is ``pending``, ``granted`` or ``withdrawn``;
no row at all means it was never asked for. An opt-in of ``steps`` steps:

- ``requested`` (step 1, sign-up): from nothing, ``pending`` or ``withdrawn``; the consent
  becomes ``granted`` at once when the opt-in has one step, ``pending`` otherwise;
- ``confirmed`` (step 2, the email confirmation link): from ``pending`` after step 1;
  ``granted`` when the opt-in has two steps, still ``pending`` with three;
- ``preferences_confirmed`` (step 3, the preference confirmation): from ``pending`` after
  step 2 of a three-step opt-in; ``granted``;
- ``granted`` (a direct grant from the preference center, reached from an email, which
  proves the mailbox): from anything but ``granted``;
- ``withdrawn``: from anything; withdrawing a withdrawn consent changes nothing.

:func:`advance` answers the next state or raises :class:`ConsentTransitionRefused`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConsentTransitionRefused

STATUSES = ("pending", "granted", "withdrawn")
ACTIONS = ("requested", "confirmed", "preferences_confirmed", "granted", "withdrawn")


@dataclass(frozen=True)
class ConsentState:
    """One consent as stored: its status, how many steps its opt-in has and has done."""

    status: str
    steps: int
    completed: int


def advance(current: ConsentState | None, action: str, steps: int = 1) -> ConsentState | None:
    """The state after ``action``; None when the action changes nothing (a repeated
    withdrawal). ``steps`` is the length of a new opt-in (``requested`` only)."""
    if action == "requested":
        if not 1 <= steps <= 3:
            raise ConsentTransitionRefused(f"an opt-in has one to three steps, not {steps}")
        if current is not None and current.status == "granted":
            raise ConsentTransitionRefused("consent is already granted")
        return ConsentState("granted" if steps == 1 else "pending", steps, 1)
    if action == "confirmed":
        _expect(current, completed=1, action="the email confirmation")
        assert current is not None
        return ConsentState("granted" if current.steps == 2 else "pending", current.steps, 2)
    if action == "preferences_confirmed":
        _expect(current, completed=2, action="the preference confirmation")
        assert current is not None
        if current.steps != 3:
            raise ConsentTransitionRefused("this opt-in has no preference confirmation step")
        return ConsentState("granted", 3, 3)
    if action == "granted":
        if current is not None and current.status == "granted":
            return None
        return ConsentState("granted", 1, 1)
    if action == "withdrawn":
        if current is not None and current.status == "withdrawn":
            return None
        return ConsentState(
            "withdrawn",
            current.steps if current else 1,
            current.completed if current else 0,
        )
    raise ConsentTransitionRefused(f"unknown consent action {action!r}")


def _expect(current: ConsentState | None, *, completed: int, action: str) -> None:
    if current is None or current.status != "pending" or current.steps <= completed:
        status = current.status if current else "not requested"
        raise ConsentTransitionRefused(f"{action} does not apply: the consent is {status}")
    if current.completed != completed:
        raise ConsentTransitionRefused(
            f"{action} does not apply: the opt-in is at step {current.completed}"
        )
