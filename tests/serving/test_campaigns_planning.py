"""Pure campaign logic: the segment filter language compiled to SQL (and its errors),
the deterministic holdout, and the next optimal send time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from serving.campaigns.planning import (
    holdout_arm,
    holdout_bucket,
    is_held_out,
    next_optimal_time,
)
from serving.campaigns.segments import SegmentError, compile_segment


def test_an_empty_segment_is_everyone() -> None:
    condition, params = compile_segment({})

    assert condition.as_string(None) == "TRUE" and params == []


def test_conditions_compile_with_their_values_as_parameters() -> None:
    condition, params = compile_segment(
        {"all": [
            {"field": "country", "op": "in", "value": ["de", "AT"]},
            {"not": {"field": "attributes.plan", "op": "eq", "value": "free"}},
            {"field": "attributes.orders", "op": "gte", "value": 3},
            {"engagement": "opened", "within_days": 30},
        ]}
    )  # fmt: skip

    assert params == [["DE", "AT"], "free", 3.0, "opened", 30]
    text = condition.as_string(None)
    assert "upper(c.country)" in text and "email_events" in text and "NOT (" in text


@pytest.mark.parametrize(
    ("segment", "fragment"),
    [
        ([], "a JSON object"),
        ({"field": "password", "op": "eq", "value": "x"}, "attributes.<name>"),
        ({"field": "country", "op": "like", "value": "x"}, "op: one of"),
        ({"field": "country", "op": "gt", "value": 1}, "numeric attributes only"),
        ({"field": "attributes.a", "op": "in", "value": []}, "a list of 1 to"),
        ({"field": "attributes.a", "op": "eq", "value": {"x": 1}}, "strings, numbers"),
        ({"engagement": "opened", "within_days": 0}, "within_days"),
        ({"all": []}, "non-empty list"),
        ({"any": [{}], "all": [{}]}, "expected one of"),
    ],
)
def test_a_bad_segment_says_where_and_why(segment: object, fragment: str) -> None:
    with pytest.raises(SegmentError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        compile_segment(segment)


def test_deep_or_huge_segments_are_refused() -> None:
    deep: dict[str, object] = {}
    for _ in range(10):
        deep = {"not": deep}
    with pytest.raises(SegmentError, match="nest"):
        compile_segment(deep)
    with pytest.raises(SegmentError, match="at most 100"):
        compile_segment({"any": [{"field": "region", "op": "eq", "value": "eu"}] * 101})


def test_the_holdout_is_deterministic_and_close_to_its_share() -> None:
    campaign = uuid.uuid4()
    contacts = [uuid.uuid4() for _ in range(10_000)]

    held = [c for c in contacts if is_held_out(campaign, c, 0.1)]

    assert 850 < len(held) < 1150
    assert held == [c for c in contacts if is_held_out(campaign, c, 0.1)]
    assert not any(is_held_out(campaign, c, 0.0) for c in contacts[:100])
    assert 0 <= holdout_bucket(campaign, contacts[0]) < 1


def test_only_an_optimal_campaign_sends_its_holdout_unoptimized() -> None:
    assert holdout_arm("optimal") == "sent_unoptimized"
    assert holdout_arm("immediate") == "not_sent"
    assert holdout_arm("scheduled") == "not_sent"


def test_the_optimal_time_is_the_best_slot_s_next_occurrence_within_a_day() -> None:
    now = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)

    later_today = next_optimal_time(datetime(2025, 1, 1, 18, 0, tzinfo=UTC), False, now)
    tomorrow = next_optimal_time(datetime(2025, 1, 1, 9, 0, tzinfo=UTC), True, now)
    unknown = next_optimal_time(None, False, now)

    assert later_today.scheduled_at == datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    assert not later_today.fallback
    assert tomorrow.scheduled_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC) and tomorrow.fallback
    assert unknown.scheduled_at is None and unknown.fallback
    for when in (later_today, tomorrow):
        assert when.scheduled_at is not None
        assert now <= when.scheduled_at < now + timedelta(days=1)
