"""The right to be forgotten on real PostgreSQL and Redis: after an erasure, a search of every
column of every table of every database of the run (control, every region cell, the stand-in
marts) and of Redis finds the subject nowhere (but in the ``erasure`` suppression and, by
contact id only, in audit entries written before the erasure), other people and
organizations are untouched, a repeated request changes nothing, a contact with 10,000
events is erased, and the next training input leaves the subject out."""

from __future__ import annotations

import uuid

import pytest
import redis
from data_search import search_everything, search_redis, table_digests
from erasure_kit import (  # noqa: F401 - fixtures
    cipher_fixture,
    erasure_cells_fixture,
    org_id_fixture,
    seed_contact,
)

from compliance.audit import entries, first_break
from compliance.crypto import PiiCipher
from compliance.erasure import (
    CERTIFICATE,
    RedisTarget,
    erase_subject,
    read_training_table,
    subject_hash,
    subject_ref,
)
from compliance.errors import ErasureIncomplete, SubjectNotFound
from simulator.esp import free_port
from warehouse.db import CONTROL, Cells


def _address(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.org"


def _name() -> str:
    return f"Ada Lovelace {uuid.uuid4().hex[:8]}"


@pytest.fixture
def prefix(run_prefix: str) -> str:
    return f"{run_prefix}_rtbf"


def test_after_an_erasure_no_table_of_any_database_nor_redis_holds_the_subject(
    erasure_cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    redis_client: redis.Redis,
    prefix: str,
) -> None:
    email, name = _address("Ada"), _name()
    subject = seed_contact(
        erasure_cells, cipher, org_id, email, name, client=redis_client, prefix=prefix
    )
    # The same person stored in a second cell too (after a change of country).
    moved = seed_contact(erasure_cells, cipher, org_id, email, name, region="na")
    bystander = seed_contact(
        erasure_cells, cipher, org_id, _address("bob"), _name(), client=redis_client, prefix=prefix
    )
    unrelated = f"{prefix}:rl:{{{org_id}}}:messages:key"
    redis_client.set(unrelated, "1", ex=600)

    needles = {**subject.needles(), "contact id (na)": str(moved.contact_id)}
    needles["contact id (na, hex)"] = moved.contact_id.hex
    # The search does find the subject everywhere before (it is not vacuous).
    before = search_everything(erasure_cells, needles)
    assert {"eu:public.contacts", "eu:public.email_events", "eu:public.messages"} <= set(before)
    assert {"eu:marts.subject_features", "eu:marts.subject_scores_text"} <= set(before)
    assert {"contact id", "email", "name"} <= before["eu:public.messages"]
    assert search_redis(redis_client, prefix, subject.needles()) != {}

    result = erase_subject(
        erasure_cells,
        cipher,
        org_id,
        email.upper(),  # the address is matched as the blind index normalises it
        requested_by="test:dpo",
        redis_target=RedisTarget(redis_client, prefix),
    )

    assert not result.already_erased
    assert sorted(cell.region for cell in result.cells) == ["eu", "na"]
    eu = next(cell for cell in result.cells if cell.region == "eu")
    assert eu.removed["email_events"] == 200
    assert eu.removed["consents"] == 1
    assert eu.removed["recipient_send_times"] == 1
    assert eu.removed["campaign_holdouts"] == 1
    assert eu.training_rows == {"marts.subject_features": 1, "marts.subject_scores_text": 1}
    assert eu.pseudonymized == {"messages": 5, "consent_events": 1, "contacts": 1}
    assert eu.redis_keys == 3

    found = search_everything(erasure_cells, needles)
    # The blind index stays in exactly one place per cell: the "do not contact" record.
    assert found.pop("eu:public.suppressions", None) == {"blind index"}
    assert found.pop("na:public.suppressions", None) == {"blind index"}
    # Nothing else, the append-only audit logs included: entries about a person name them
    # by subject reference, never by contact id.
    assert found == {}
    assert search_redis(redis_client, prefix, subject.needles()) == {}
    assert redis_client.exists(unrelated, *bystander.redis_keys) == 1 + len(bystander.redis_keys)

    with erasure_cells.connection("eu") as conn:
        suppression = conn.execute(
            "SELECT reason FROM suppressions WHERE org_id = %s AND email_blind_index = %s",
            (org_id, subject.blind_index),
        ).fetchall()
        tombstone = conn.execute(
            "SELECT status, octet_length(wrapped_data_key), octet_length(email_ciphertext), "
            "name_ciphertext FROM contacts WHERE org_id = %s AND status = 'erased'",
            (org_id,),
        ).fetchall()
        cancelled = conn.execute(
            "SELECT count(*) FROM messages WHERE org_id = %s AND status = 'cancelled'", (org_id,)
        ).fetchone()
        kept = {
            table: conn.execute(
                f"SELECT count(*) FROM {table} WHERE contact_id = %s",  # noqa: S608
                (contact,),
            ).fetchone()
            for table, contact in (
                ("email_events", bystander.contact_id),
                ("messages", bystander.contact_id),
                ("consents", bystander.contact_id),
            )
        }
    assert suppression == [("erasure",)]
    assert tombstone == [("erased", 0, 0, None)]  # the data key is gone: crypto-shredded
    assert cancelled == (1,)  # the message still queued will never be sent
    assert all(count is not None and count[0] > 0 for count in kept.values())

    for cell in (CONTROL, "eu", "na"):
        with erasure_cells.connection(cell) as conn:
            about = list(entries(conn, subject=subject_ref(subject.blind_index)))
            assert first_break(entries(conn)) is None
        # The consent and preference changes made before, then exactly one certificate.
        certificates = [entry for entry in about if entry.action == CERTIFICATE]
        assert len(certificates) == 1 and about[-1] == certificates[0]
        assert {e.action for e in about[:-1]} <= {"consent.granted", "preferences.updated"}
        details = certificates[0].details
        assert details["erasure_id"] == str(result.erasure_id)
        assert details["subject_hash"] == subject_hash(subject.blind_index).hex()
        assert email.lower() not in str(details).lower()


def test_a_second_request_answers_already_erased_with_the_first_certificate_and_changes_nothing(
    erasure_cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    redis_client: redis.Redis,
    prefix: str,
) -> None:
    email = _address("twice")
    seed_contact(erasure_cells, cipher, org_id, email, _name(), client=redis_client, prefix=prefix)
    target = RedisTarget(redis_client, prefix)
    first = erase_subject(
        erasure_cells, cipher, org_id, email, requested_by="test:dpo", redis_target=target
    )
    before = table_digests(erasure_cells)

    again = erase_subject(
        erasure_cells, cipher, org_id, email, requested_by="test:other", redis_target=target
    )

    assert again.already_erased
    assert again.erasure_id == first.erasure_id
    assert again.requested_by == "test:dpo"
    assert [cell.audit_id for cell in again.cells] == [cell.audit_id for cell in first.cells]
    assert table_digests(erasure_cells) == before


def test_another_organization_holding_the_same_address_keeps_its_contact(
    erasure_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID
) -> None:
    email, name = _address("shared"), _name()
    seed_contact(erasure_cells, cipher, org_id, email, name)
    other_org = uuid.uuid4()
    elsewhere = seed_contact(erasure_cells, cipher, other_org, email, name)

    erase_subject(erasure_cells, cipher, org_id, email, requested_by="test")

    with erasure_cells.connection("eu") as conn:
        status = conn.execute(
            "SELECT status FROM contacts WHERE contact_id = %s", (elsewhere.contact_id,)
        ).fetchone()
        events = conn.execute(
            "SELECT count(*) FROM email_events WHERE contact_id = %s", (elsewhere.contact_id,)
        ).fetchone()
        reason = conn.execute(
            "SELECT reason FROM suppressions WHERE org_id = %s AND email_blind_index = %s",
            (other_org, elsewhere.blind_index),
        ).fetchone()
    assert status == ("active",)
    assert events == (200,)
    assert reason == ("unsubscribe",)


def test_when_redis_cannot_be_cleared_the_cell_is_left_untouched_and_a_retry_finishes(
    erasure_cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    redis_client: redis.Redis,
    prefix: str,
) -> None:
    email = _address("retry")
    subject = seed_contact(
        erasure_cells, cipher, org_id, email, _name(), client=redis_client, prefix=prefix
    )
    down = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)

    with pytest.raises(ErasureIncomplete):
        erase_subject(
            erasure_cells,
            cipher,
            org_id,
            email,
            requested_by="t",
            redis_target=RedisTarget(down, prefix),
        )
    with erasure_cells.connection("eu") as conn:
        still = conn.execute(
            "SELECT status FROM contacts WHERE contact_id = %s", (subject.contact_id,)
        ).fetchone()
    assert still == ("active",)

    done = erase_subject(
        erasure_cells,
        cipher,
        org_id,
        email,
        requested_by="t",
        redis_target=RedisTarget(redis_client, prefix),
    )
    assert not done.already_erased
    assert search_redis(redis_client, prefix, subject.needles()) == {}


def test_an_address_the_organization_never_held_is_not_found(
    erasure_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID
) -> None:
    with pytest.raises(SubjectNotFound):
        erase_subject(erasure_cells, cipher, org_id, _address("nobody"), requested_by="test")


def test_a_contact_with_ten_thousand_events_is_erased_in_one_set_based_pass(
    erasure_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID
) -> None:
    email = _address("busy")
    seed_contact(erasure_cells, cipher, org_id, email, _name(), events=10_000, messages=40)

    result = erase_subject(erasure_cells, cipher, org_id, email, requested_by="test")

    assert result.cells[0].removed["email_events"] == 10_000
    with erasure_cells.connection("eu") as conn:
        left = conn.execute(
            "SELECT count(*) FROM email_events WHERE org_id = %s", (org_id,)
        ).fetchone()
    assert left == (0,)


def test_the_next_training_input_leaves_the_erased_subject_out(
    erasure_cells: Cells, cipher: PiiCipher, org_id: uuid.UUID
) -> None:
    email = _address("trained")
    subject = seed_contact(erasure_cells, cipher, org_id, email, _name())
    bystander = seed_contact(erasure_cells, cipher, org_id, _address("kept"), _name())
    erase_subject(erasure_cells, cipher, org_id, email, requested_by="test")

    with erasure_cells.connection("eu") as conn:
        # A mart rebuilt from the kept messages carries the pseudonym, as dbt's would.
        conn.execute(
            "INSERT INTO marts.subject_features (contact_id, org_id, opens) "
            "SELECT DISTINCT contact_id, org_id, 0 FROM messages WHERE org_id = %s",
            (org_id,),
        )
        pseudonyms = {
            row[0]
            for row in conn.execute(
                "SELECT pseudonym FROM erased_subjects WHERE org_id = %s", (org_id,)
            ).fetchall()
        }
        everything = conn.execute(
            "SELECT DISTINCT contact_id FROM marts.subject_features WHERE org_id = %s", (org_id,)
        ).fetchall()
        training = read_training_table(conn, "marts", "subject_features")

    assert len(pseudonyms) == 1
    assert pseudonyms <= {row[0] for row in everything}  # the mart does hold the pseudonym
    ours = set(training.loc[training["org_id"] == org_id, "contact_id"])
    assert ours == {bystander.contact_id}
    assert subject.contact_id not in ours
