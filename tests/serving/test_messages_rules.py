"""The pure rules of message ingestion: addresses, regions, consent and suppression,
payload sizes, the body's shape and the choice of scheduled_at."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from serving.errors import IngestRejected
from serving.ingest.schemas import MessageCreate
from serving.ingest.send_time import Score, next_occurrence, schedule
from serving.ingest.validation import (
    Limits,
    check_eligibility,
    check_residency,
    check_sizes,
    normalized_address,
    region_of_country,
)

NOW = datetime(2025, 3, 4, 15, 30, tzinfo=UTC)


def code_of(call: object, *args: object) -> str:
    with pytest.raises(IngestRejected) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.code


def test_addresses_are_checked_for_syntax_only_and_normalized() -> None:
    assert normalized_address("Ada@Example.ORG") == "Ada@example.org"
    assert normalized_address("someone@no-such-domain.invalid-tld-xyz") is not None
    assert code_of(normalized_address, "ada@") == "invalid_address"
    assert code_of(normalized_address, "two@@example.org") == "invalid_address"


def test_countries_map_to_served_regions() -> None:
    assert region_of_country("de", ("na", "eu", "apac")) == "eu"
    assert code_of(region_of_country, "XX", ("eu",)) == "unknown_country"
    assert code_of(region_of_country, "JP", ("na", "eu")) == "unknown_country"
    assert code_of(check_residency, "DE", ("eu",), "c-1") == "blocked_region"
    check_residency("US", ("eu",), "c-1")


def test_marketing_needs_granted_consent_and_no_suppression() -> None:
    check_eligibility("marketing", "granted", [])
    assert code_of(check_eligibility, "marketing", None, []) == "no_consent"
    assert code_of(check_eligibility, "triggered", "withdrawn", []) == "no_consent"
    assert code_of(check_eligibility, "marketing", "granted", ["manual"]) == "suppressed"
    assert code_of(check_eligibility, "marketing", "granted", [], "unsubscribed") == "suppressed"


def test_transactional_mail_needs_no_consent_and_only_hard_suppressions_stop_it() -> None:
    check_eligibility("transactional", None, ["unsubscribe", "manual"])
    assert code_of(check_eligibility, "transactional", None, ["hard_bounce"]) == "suppressed"
    assert code_of(check_eligibility, "transactional", None, [], "erased") == "suppressed"


def test_payload_limits_are_413() -> None:
    limits = Limits(content_bytes=1024, variables_bytes=256)
    check_sizes(limits, {"a": "x" * 200}, "s", "h" * 1000)
    with pytest.raises(IngestRejected) as caught:
        check_sizes(limits, {"a": "x" * 300}, None, None)
    assert (caught.value.code, caught.value.status_code) == ("payload_too_large", 413)
    assert code_of(check_sizes, limits, {}, "s", "h" * 1100) == "payload_too_large"


def test_a_message_names_a_template_or_inline_content_but_not_both() -> None:
    base = {"recipient": {"email": "a@example.org"}, "sending_domain": "mail.acme.example"}
    MessageCreate.model_validate({**base, "subject": "s", "html": "h"})
    MessageCreate.model_validate({**base, "template_id": "8c4f1a52-6f35-4bd4-9d1b-3f4f0c1f7c11"})
    for wrong in (
        {},
        {"subject": "s"},
        {"subject": "s", "html": "h", "template_id": "8c4f1a52-6f35-4bd4-9d1b-3f4f0c1f7c11"},
        {"subject": "s", "html": "h", "template_version": 2},
        {"subject": "s", "html": "h", "send_at": "tomorrow"},
        {"subject": "s", "html": "h", "send_at": "2025-03-04T10:00:00"},  # no offset
    ):
        with pytest.raises(ValidationError):
            MessageCreate.model_validate({**base, **wrong})
    with pytest.raises(ValidationError):
        MessageCreate.model_validate({**base, "subject": "s", "html": "h", "sending_domain": "x"})


def test_the_best_hour_is_its_next_occurrence() -> None:
    assert next_occurrence(datetime(2024, 1, 1, 17, tzinfo=UTC), NOW) == NOW.replace(
        hour=17, minute=0
    )
    assert next_occurrence(datetime(2024, 1, 1, 9, tzinfo=UTC), NOW) == datetime(
        2025, 3, 5, 9, tzinfo=UTC
    )


def test_send_at_is_now_a_given_time_or_the_recipient_s_best_hour() -> None:
    at = datetime(2025, 3, 9, 8, tzinfo=UTC)
    assert schedule(None, None, NOW)[0] == NOW
    assert schedule(at, None, NOW) == (at, schedule(at, None, NOW)[1])
    when, how = schedule("optimal", None, NOW)
    assert (when, how.source, how.fallback) == (NOW, "none", None)
    score = Score(datetime(2024, 1, 1, 18, tzinfo=UTC), True, "send_time_eu", "4")
    when, how = schedule("optimal", score, NOW)
    assert when == datetime(2025, 3, 4, 18, tzinfo=UTC)
    assert (how.source, how.fallback, how.model_version) == ("scores", True, "send_time_eu/4")
    assert "cohort" in how.detail
