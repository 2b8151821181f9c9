"""What a controls report is made of: each control's verdict and the evidence behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class Evidence:
    """One query (SQL, or a named configuration read) and what it returned."""

    source: str  # the database ("control", "na", ...) or "settings"
    query: str
    rows: tuple[dict[str, Any], ...]
    finding: str  # what the rows mean for the control, in one sentence


@dataclass(frozen=True)
class ControlResult:
    """The verdict on one control, with a one-line summary and its evidence."""

    control_id: str
    title: str
    verdict: Verdict
    summary: str
    evidence: tuple[Evidence, ...] = ()

    @property
    def passed(self) -> bool:
        return self.verdict is not Verdict.FAIL


@dataclass(frozen=True)
class ControlsReport:
    """Every control's result at one moment."""

    generated_at: datetime
    results: tuple[ControlResult, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> tuple[ControlResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    @property
    def all_passed(self) -> bool:
        return not self.failed
