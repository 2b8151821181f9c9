"""Consent: the state machine, signed expiring single-use opt-in tokens, one-, two- and
three-step opt-ins and withdrawal against a real region cell, each change leaving a
consent event with its evidence and an audit entry; preferences and what they refuse."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from consent_kit import Contacts

from compliance.audit import entries
from compliance.consent import (
    ConsentState,
    Evidence,
    OptInTokens,
    Preferences,
    Subject,
    advance,
    check_preferences,
    confirm,
    save_preferences,
    sending_refusal,
    start_opt_in,
    withdraw,
)
from compliance.errors import (
    ConsentTransitionRefused,
    InvalidPreferences,
    OptInTokenExpired,
    OptInTokenInvalid,
    OptInTokenUsed,
)
from compliance.subjects import contact_subject
from postwise.settings import Settings
from warehouse.db import Cells

REGION = "eu"
SIGNUP = Evidence("signup_form", "policy-2026-01", "203.0.113.7", "Mozilla/5.0 (signup)")
CLICK = Evidence("confirmation_link", "policy-2026-01", "198.51.100.4", "Mozilla/5.0 (mail)")


@pytest.fixture
def contacts(cells: Cells, settings: Settings) -> Iterator[Contacts]:
    made = Contacts(cells, settings)
    yield made
    made.cleanup()


@pytest.fixture
def tokens(settings: Settings) -> OptInTokens:
    return OptInTokens(settings.secret_key, 3600)


def subject_of(contacts: Contacts, purpose: str = "marketing") -> Subject:
    return Subject(contacts.add(REGION), contacts.org_id, REGION, purpose)


def consent_row(cells: Cells, contact_id: uuid.UUID) -> tuple[str, int, int, str]:
    with cells.connection(REGION) as conn:
        row = conn.execute(
            "SELECT status, opt_in_steps, steps_completed, policy_version FROM consents "
            "WHERE contact_id = %s",
            (contact_id,),
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2], row[3]


def consent_events(cells: Cells, contact_id: uuid.UUID) -> list[tuple]:
    with cells.connection(REGION) as conn:
        return conn.execute(
            "SELECT action, step, source, host(ip), user_agent, policy_version, org_id, "
            "occurred_at FROM consent_events WHERE contact_id = %s ORDER BY consent_event_id",
            (contact_id,),
        ).fetchall()


# The state machine ------------------------------------------------------------------------


def test_a_one_step_opt_in_is_granted_at_sign_up() -> None:
    assert advance(None, "requested", 1) == ConsentState("granted", 1, 1)


def test_a_triple_opt_in_stays_pending_until_its_third_step() -> None:
    state = advance(None, "requested", 3)
    assert state == ConsentState("pending", 3, 1)
    state = advance(state, "confirmed")
    assert state == ConsentState("pending", 3, 2)
    assert advance(state, "preferences_confirmed") == ConsentState("granted", 3, 3)


def test_steps_cannot_be_skipped_repeated_or_taken_from_a_granted_consent() -> None:
    pending = ConsentState("pending", 3, 1)
    with pytest.raises(ConsentTransitionRefused):
        advance(pending, "preferences_confirmed")
    with pytest.raises(ConsentTransitionRefused):
        advance(ConsentState("pending", 3, 2), "confirmed")
    with pytest.raises(ConsentTransitionRefused):
        advance(ConsentState("granted", 2, 2), "requested", 2)
    with pytest.raises(ConsentTransitionRefused):
        advance(ConsentState("pending", 2, 2), "preferences_confirmed")
    with pytest.raises(ConsentTransitionRefused):
        advance(None, "requested", 4)


def test_withdrawing_twice_changes_nothing_and_a_withdrawn_consent_may_start_again() -> None:
    withdrawn = advance(ConsentState("granted", 2, 2), "withdrawn")
    assert withdrawn == ConsentState("withdrawn", 2, 2)
    assert advance(withdrawn, "withdrawn") is None
    assert advance(withdrawn, "requested", 2) == ConsentState("pending", 2, 1)


# Tokens -------------------------------------------------------------------------------------


def test_a_token_reads_back_its_claims_until_it_expires(tokens: OptInTokens) -> None:
    contact, org = uuid.uuid4(), uuid.uuid4()
    now = time.time()
    token = tokens.issue(
        contact_id=contact, org_id=org, region="eu", channel="email", purpose="marketing",
        step=2, now=now,
    )  # fmt: skip
    claims = tokens.read(token, now=now + 3599)
    assert (claims.contact_id, claims.org_id, claims.region, claims.step) == (contact, org, "eu", 2)
    with pytest.raises(OptInTokenExpired):
        tokens.read(token, now=now + 3600)


def test_a_forged_or_altered_token_or_one_of_another_key_is_invalid(
    tokens: OptInTokens, settings: Settings
) -> None:
    token = tokens.issue(
        contact_id=uuid.uuid4(), org_id=uuid.uuid4(), region="eu", channel="email",
        purpose="marketing", step=2,
    )  # fmt: skip
    payload, signature = token.rsplit(".", 1)
    altered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    for bad in (altered, token + "x", "not-a-token", ""):
        with pytest.raises(OptInTokenInvalid):
            tokens.read(bad)
    other = OptInTokens(settings.secret_key + "-other", 3600)
    with pytest.raises(OptInTokenInvalid):
        other.read(token)


# Workflows on a real cell ------------------------------------------------------------------


def test_a_single_opt_in_is_granted_with_its_evidence(
    cells: Cells, contacts: Contacts, tokens: OptInTokens
) -> None:
    subject = subject_of(contacts)
    with cells.connection(REGION) as conn:
        change = start_opt_in(conn, tokens, subject, 1, SIGNUP)
    assert (change.status, change.next_token) == ("granted", None)
    assert consent_row(cells, subject.contact_id) == ("granted", 1, 1, "policy-2026-01")
    [event] = consent_events(cells, subject.contact_id)
    assert event[:7] == ("granted", 1, "signup_form", "203.0.113.7", "Mozilla/5.0 (signup)",
                         "policy-2026-01", contacts.org_id)  # fmt: skip
    assert abs(event[7] - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_double_opt_in_is_pending_until_the_link_is_confirmed_once(
    cells: Cells, contacts: Contacts, tokens: OptInTokens
) -> None:
    subject = subject_of(contacts)
    with cells.connection(REGION) as conn:
        started = start_opt_in(conn, tokens, subject, 2, SIGNUP)
    assert started.status == "pending" and started.next_token
    claims = tokens.read(started.next_token)
    assert (claims.step, claims.contact_id) == (2, subject.contact_id)
    with cells.connection(REGION) as conn:
        done = confirm(conn, tokens, claims, CLICK)
    assert (done.status, done.next_token) == ("granted", None)
    with pytest.raises(OptInTokenUsed), cells.connection(REGION) as conn:
        confirm(conn, tokens, claims, CLICK)
    assert consent_row(cells, subject.contact_id)[:3] == ("granted", 2, 2)
    events = consent_events(cells, subject.contact_id)
    assert [e[:6] for e in events] == [
        ("requested", 1, "signup_form", "203.0.113.7", "Mozilla/5.0 (signup)", "policy-2026-01"),
        ("confirmed", 2, "confirmation_link", "198.51.100.4", "Mozilla/5.0 (mail)",
         "policy-2026-01"),
    ]  # fmt: skip


def test_a_triple_opt_in_takes_sign_up_email_and_preference_confirmation(
    cells: Cells, contacts: Contacts, tokens: OptInTokens
) -> None:
    subject = subject_of(contacts)
    with cells.connection(REGION) as conn:
        started = start_opt_in(conn, tokens, subject, 3, SIGNUP)
    assert started.next_token is not None
    step2 = tokens.read(started.next_token)
    with cells.connection(REGION) as conn:
        middle = confirm(conn, tokens, step2, CLICK)
    assert middle.status == "pending" and middle.next_token is not None
    step3 = tokens.read(middle.next_token)
    assert step3.step == 3
    with cells.connection(REGION) as conn:
        done = confirm(conn, tokens, step3, CLICK)
    assert done.status == "granted"
    assert consent_row(cells, subject.contact_id)[:3] == ("granted", 3, 3)
    actions = [(e[0], e[1]) for e in consent_events(cells, subject.contact_id)]
    assert actions == [("requested", 1), ("confirmed", 2), ("preferences_confirmed", 3)]
    with cells.connection(REGION) as conn:
        audited = list(entries(conn, subject=contact_subject(conn, subject.contact_id)))
    assert [e.action for e in audited] == [
        "consent.requested", "consent.confirmed", "consent.preferences_confirmed"
    ]  # fmt: skip
    assert all("ip" not in e.details for e in audited)  # no personal data in the chain


def test_a_step_three_token_before_step_two_is_refused_and_spends_nothing(
    cells: Cells, contacts: Contacts, tokens: OptInTokens
) -> None:
    subject = subject_of(contacts)
    with cells.connection(REGION) as conn:
        start_opt_in(conn, tokens, subject, 3, SIGNUP)
    early = tokens.read(
        tokens.issue(contact_id=subject.contact_id, org_id=subject.org_id, region=REGION,
                     channel="email", purpose="marketing", step=3)
    )  # fmt: skip
    with pytest.raises(ConsentTransitionRefused), cells.connection(REGION) as conn:
        confirm(conn, tokens, early, CLICK)
    with cells.connection(REGION) as conn:
        used = conn.execute(
            "SELECT count(*) FROM opt_in_token_uses WHERE token_id = %s", (early.token_id,)
        ).fetchone()
    assert used == (0,)
    assert consent_row(cells, subject.contact_id)[:3] == ("pending", 3, 1)


def test_a_token_for_another_organization_s_contact_is_invalid(
    cells: Cells, contacts: Contacts, tokens: OptInTokens
) -> None:
    subject = subject_of(contacts)
    forged = tokens.read(
        tokens.issue(contact_id=subject.contact_id, org_id=uuid.uuid4(), region=REGION,
                     channel="email", purpose="marketing", step=2)
    )  # fmt: skip
    with pytest.raises(OptInTokenInvalid), cells.connection(REGION) as conn:
        confirm(conn, tokens, forged, CLICK)


def test_withdrawal_is_recorded_once_and_a_granted_consent_cannot_be_requested_again(
    cells: Cells, contacts: Contacts, tokens: OptInTokens
) -> None:
    subject = subject_of(contacts)
    with cells.connection(REGION) as conn:
        start_opt_in(conn, tokens, subject, 1, SIGNUP)
    with pytest.raises(ConsentTransitionRefused), cells.connection(REGION) as conn:
        start_opt_in(conn, tokens, subject, 2, SIGNUP)
    leaving = Evidence("preference_center", "policy-2026-02", "192.0.2.1", "Mozilla/5.0 (pc)")
    with cells.connection(REGION) as conn:
        first = withdraw(conn, subject, leaving)
        again = withdraw(conn, subject, leaving)
    assert (first.status, first.changed, again.changed) == ("withdrawn", True, False)
    assert consent_row(cells, subject.contact_id)[0] == "withdrawn"
    events = consent_events(cells, subject.contact_id)
    assert [e[0] for e in events] == ["granted", "withdrawn"]
    assert events[-1][2:6] == ("preference_center", "192.0.2.1", "Mozilla/5.0 (pc)",
                               "policy-2026-02")  # fmt: skip


# Preferences ---------------------------------------------------------------------------------


def test_preferences_outside_their_limits_are_refused() -> None:
    today = date(2026, 6, 1)
    assert check_preferences(Preferences((" News ", "news")), today).topic_opt_outs == ("news",)
    for bad in (
        Preferences(("two\nlines",)),
        Preferences(max_per_day=0),
        Preferences(max_per_week=501),
        Preferences(retention_until=today),
        Preferences(retention_until=today + timedelta(days=3 * 365 + 1)),
    ):
        with pytest.raises(InvalidPreferences):
            check_preferences(bad, today)


def test_a_topic_opted_out_of_and_a_reached_cap_refuse_marketing_only(
    cells: Cells, contacts: Contacts
) -> None:
    contact_id = contacts.add(REGION)
    now = datetime.now(UTC)
    with cells.connection(REGION) as conn:
        assert sending_refusal(conn, contact_id, "marketing", "news", now) is None
        save_preferences(
            conn, contacts.org_id, contact_id, Preferences(("promotions",), max_per_day=1),
            source="api", actor="key:test", today=now.date(),
        )  # fmt: skip
        refusal = sending_refusal(conn, contact_id, "marketing", "Promotions", now)
        assert refusal is not None and refusal.code == "topic_opted_out"
        assert sending_refusal(conn, contact_id, "transactional", "promotions", now) is None
        assert sending_refusal(conn, contact_id, "marketing", "news", now) is None
        conn.execute(
            "INSERT INTO messages (message_id, org_id, contact_id, campaign_type, "
            "sending_domain) VALUES (%s, %s, %s, 'marketing', 'news.example')",
            (uuid.uuid4(), contacts.org_id, contact_id),
        )
        capped = sending_refusal(conn, contact_id, "marketing", "news", now)
        assert capped is not None and capped.code == "frequency_cap"
        conn.execute("DELETE FROM messages WHERE contact_id = %s", (contact_id,))
