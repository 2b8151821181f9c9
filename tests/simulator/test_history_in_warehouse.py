"""`simulate history` writes through the product's paths: cells by region, sealed PII,
idempotent ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from compliance.crypto import PiiCipher, cipher_for
from compliance.errors import DecryptionFailed
from postwise.settings import Settings
from simulator.history import HistoryOptions, HistoryResult, simulate_history
from simulator.world import World
from warehouse.db import Cells
from warehouse.regions import region_for_country

OPTIONS = HistoryOptions(
    contacts=400, days=21, seed=11, org_slug="history-test", end=datetime(2026, 6, 1, tzinfo=UTC)
)


@pytest.fixture(scope="module")
def history(cells: Cells, settings: Settings) -> HistoryResult:
    return simulate_history(cells, settings, OPTIONS, progress=False)


def _cipher(settings: Settings) -> PiiCipher:
    return cipher_for(settings)


def test_every_contact_lives_only_in_the_cell_of_its_country(
    history: HistoryResult, cells: Cells
) -> None:
    world = World(OPTIONS.seed, OPTIONS.contacts, history.start, OPTIONS.days)
    expected = {r.contact_id: region_for_country(r.country) for r in world.recipients()}
    found: dict[uuid.UUID, list[str]] = {}
    for region in cells.regions:
        with cells.connection(region) as conn:
            for contact_id, country, stored_region in conn.execute(
                "SELECT contact_id, country, region FROM contacts WHERE org_id = %s",
                (history.org_id,),
            ):
                assert region_for_country(country) == region == stored_region
                found.setdefault(contact_id, []).append(region)
            strays = conn.execute(
                "SELECT count(*) FROM email_events e JOIN messages m USING (message_id) "
                "WHERE m.contact_id NOT IN (SELECT contact_id FROM contacts)"
            ).fetchone()
            assert strays == (0,)
    assert {cid: regions[0] for cid, regions in found.items()} == expected
    assert all(len(regions) == 1 for regions in found.values())
    assert set(history.contacts_by_region) == {"na", "eu", "apac"}


def test_no_personal_data_is_stored_in_the_control_database(
    history: HistoryResult, cells: Cells
) -> None:
    world = World(OPTIONS.seed, OPTIONS.contacts, history.start, OPTIONS.days)
    addresses = [r.email for r in world.recipients(0, 50)]
    with cells.connection("control") as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        for table in tables:
            text = conn.execute(f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {table} t")
            dump = text.fetchone()[0]
            assert not any(address in dump for address in addresses), table


def test_addresses_are_stored_encrypted_and_decrypt_only_in_their_own_row(
    history: HistoryResult, cells: Cells, settings: Settings
) -> None:
    cipher = _cipher(settings)
    world = World(OPTIONS.seed, OPTIONS.contacts, history.start, OPTIONS.days)
    by_id = {r.contact_id: r for r in world.recipients()}
    with cells.connection("eu") as conn:
        rows = conn.execute(
            "SELECT contact_id, email_ciphertext, wrapped_data_key, kek_version, "
            "email_blind_index FROM contacts WHERE org_id = %s ORDER BY contact_id LIMIT 2",
            (history.org_id,),
        ).fetchall()
    (id_a, email_a, key_a, ver_a, blind_a), (id_b, email_b, key_b, ver_b, _) = rows
    assert by_id[id_a].email.encode() not in bytes(email_a)
    assert cipher.open_field(id_a, "email", email_a, key_a, ver_a) == by_id[id_a].email
    assert cipher.blind_index(by_id[id_a].email) == blind_a
    with pytest.raises(DecryptionFailed):  # row B's ciphertext pasted into row A
        cipher.open_field(id_a, "email", email_b, key_a, ver_a)
    with pytest.raises(DecryptionFailed):  # both of row B's columns pasted into row A
        cipher.open_field(id_a, "email", email_b, key_b, ver_b)


def test_writing_the_same_history_again_adds_nothing(
    history: HistoryResult, cells: Cells, settings: Settings
) -> None:
    again = simulate_history(cells, settings, OPTIONS, progress=False)
    assert again.events_written == 0
    assert again.messages == history.messages
    with cells.connection("na") as conn:
        contacts = conn.execute(
            "SELECT count(*) FROM contacts WHERE org_id = %s", (history.org_id,)
        ).fetchone()
    assert contacts == (history.contacts_by_region["na"],)


def test_every_message_ends_in_one_terminal_state_with_its_events(
    history: HistoryResult, cells: Cells
) -> None:
    with cells.connection("na") as conn:
        statuses = dict(
            conn.execute(
                "SELECT status, count(*) FROM messages WHERE org_id = %s GROUP BY 1",
                (history.org_id,),
            ).fetchall()
        )
        without_sent = conn.execute(
            "SELECT count(*) FROM messages m WHERE org_id = %s AND NOT EXISTS "
            "(SELECT 1 FROM email_events e WHERE e.message_id = m.message_id AND e.type = 'sent')",
            (history.org_id,),
        ).fetchone()
    assert set(statuses) <= {"delivered", "bounced"}
    assert statuses["delivered"] > 10 * statuses.get("bounced", 0)
    assert without_sent == (0,)


def test_events_hold_no_plaintext_address_and_no_ground_truth(
    history: HistoryResult, cells: Cells
) -> None:
    world = World(OPTIONS.seed, OPTIONS.contacts, history.start, OPTIONS.days)
    addresses = {r.email for r in world.recipients()}
    for region in cells.regions:
        with cells.connection(region) as conn:
            replies = [
                r[0]
                for r in conn.execute(
                    "SELECT details->>'reply' FROM email_events WHERE details ? 'reply'"
                )
            ]
            flagged = conn.execute(
                "SELECT count(*) FROM email_events WHERE is_bot AND org_id = %s",
                (history.org_id,),
            ).fetchone()
        assert replies
        assert not any(a in reply for reply in replies for a in addresses)
        assert flagged == (0,)


def test_messages_carry_their_sending_domain_and_attachments(
    history: HistoryResult, cells: Cells
) -> None:
    with cells.connection("na") as conn:
        domains = dict(
            conn.execute(
                "SELECT campaign_type, array_agg(DISTINCT sending_domain) FROM messages "
                "WHERE org_id = %s GROUP BY 1",
                (history.org_id,),
            ).fetchall()
        )
        with_pdf = conn.execute(
            "SELECT count(*) FROM messages WHERE 'application/pdf' = ANY(attachment_types)"
        ).fetchone()
    assert domains["marketing"] == ["news.history-test.example"]
    assert domains["transactional"] == ["mail.history-test.example"]
    assert with_pdf[0] > 0
