"""The audit chain's rules, as properties: any edit, removal or reordering is caught at the
first bad entry, and canonical JSON does not depend on key order."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.audit.chain import (
    GENESIS,
    AuditEntry,
    canonical_json,
    check_details,
    first_break,
)
from compliance.errors import AuditError

plain_text = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(plain_text, max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(plain_text, max_size=6), inner, max_size=4),
    max_leaves=12,
)
details = st.dictionaries(st.text(plain_text, max_size=8), json_values, max_size=4)
contents = st.tuples(
    st.text(plain_text, min_size=1, max_size=10),  # actor
    st.sampled_from(["login", "consent.granted", "erasure.certificate", "keys.rewrapped"]),
    st.text(plain_text, max_size=10),  # subject
    st.one_of(st.none(), st.uuids()),
    details,
)


def build_chain(items: list[tuple[str, str, str, uuid.UUID | None, dict]]) -> list[AuditEntry]:
    chain: list[AuditEntry] = []
    prev = GENESIS
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for number, (actor, action, subject, org_id, extra) in enumerate(items, start=1):
        entry = AuditEntry(
            audit_id=number * 3,  # ids need not be contiguous (sequences skip)
            occurred_at=start + timedelta(microseconds=number * 1_000_003),
            actor=actor,
            action=action,
            subject=subject,
            org_id=org_id,
            details=check_details(extra),
            prev_hash=prev,
        )
        entry = replace(entry, row_hash=entry.expected_hash())
        chain.append(entry)
        prev = entry.row_hash
    return chain


@given(st.lists(contents, min_size=1, max_size=8))
def test_an_untouched_chain_verifies(items) -> None:
    assert first_break(build_chain(items)) is None


@settings(max_examples=150)
@given(st.lists(contents, min_size=1, max_size=8), st.data())
def test_editing_any_field_of_any_entry_is_caught_at_that_entry(items, data) -> None:
    chain = build_chain(items)
    index = data.draw(st.integers(0, len(chain) - 1))
    entry = chain[index]
    field = data.draw(
        st.sampled_from(["actor", "action", "subject", "org_id", "details", "occurred_at"])
    )
    changed = {
        "actor": entry.actor + "x",
        "action": entry.action + ".forged",
        "subject": entry.subject + "x",
        "org_id": uuid.uuid4(),
        "details": {**entry.details, "forged": True},
        "occurred_at": entry.occurred_at + timedelta(microseconds=1),
    }[field]
    chain[index] = replace(entry, **{field: changed})
    found = first_break(chain)
    assert found is not None and found.audit_id == entry.audit_id


@given(st.lists(contents, min_size=2, max_size=8), st.data())
def test_removing_an_entry_is_caught_at_the_entry_after_it(items, data) -> None:
    chain = build_chain(items)
    index = data.draw(st.integers(0, len(chain) - 2))
    successor = chain[index + 1]
    del chain[index]
    found = first_break(chain)
    assert found is not None and found.audit_id == successor.audit_id


@given(st.lists(contents, min_size=2, max_size=8), st.data())
def test_rehashing_an_edited_entry_still_breaks_the_next_link(items, data) -> None:
    chain = build_chain(items)
    index = data.draw(st.integers(0, len(chain) - 2))
    forged = replace(chain[index], actor="mallory")
    chain[index] = replace(forged, row_hash=forged.expected_hash())
    found = first_break(chain)
    assert found is not None and found.audit_id == chain[index + 1].audit_id


@given(st.lists(contents, min_size=2, max_size=6), st.data())
def test_swapping_two_entries_is_caught(items, data) -> None:
    chain = build_chain(items)
    i = data.draw(st.integers(0, len(chain) - 2))
    chain[i], chain[i + 1] = chain[i + 1], chain[i]
    assert first_break(chain) is not None


@given(details)
def test_canonical_json_ignores_key_order(value) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_json(value) == canonical_json(reordered)


def test_details_that_jsonb_cannot_hold_exactly_are_refused() -> None:
    with pytest.raises(AuditError):
        check_details({"nan": float("nan")})
    with pytest.raises(AuditError):
        check_details({"nul": "a\x00b"})
    with pytest.raises(AuditError):
        check_details({"set": {1, 2}})
    with pytest.raises(AuditError):
        check_details({"surrogate": "\ud800"})
