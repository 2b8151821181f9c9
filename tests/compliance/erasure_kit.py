"""What the erasure and evidence tests share: cells of their own, a data subject seeded into
every table that can hold them (and Redis), and a search of every column of every table of
every database, and of Redis, for the subject's identifiers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import redis
from psycopg.types.json import Jsonb

from compliance.consent import Evidence, Preferences, Subject, grant, save_preferences
from compliance.crypto import PiiCipher
from postwise.settings import Settings
from warehouse.db import CONTROL, Cells
from warehouse.migrate import temporary_cells

# Test-made tables outside the public schema, standing for dbt marts: one with a uuid
# contact id (the marts' type), one with the id as text.
MARTS = ("marts", "subject_features"), ("marts", "subject_scores_text")


@pytest.fixture(scope="module", name="erasure_cells")
def erasure_cells_fixture(settings: Settings, database_server_url: str) -> Iterator[Cells]:
    """Cells private to the module (with stand-in marts), so every table can be searched."""
    own = settings.model_copy(update={"database_prefix": f"{settings.database_prefix}_rtbf"})
    with temporary_cells(own, database_server_url) as cells:
        for region in cells.regions:
            with cells.connection(region) as conn:
                conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
                conn.execute(
                    "CREATE TABLE marts.subject_features (contact_id uuid, org_id uuid, "
                    "opens integer)"
                )
                conn.execute("CREATE TABLE marts.subject_scores_text (contact_id text, score real)")
        yield cells


@pytest.fixture(scope="module", name="cipher")
def cipher_fixture(settings: Settings) -> PiiCipher:
    return PiiCipher.from_settings(settings.key_encryption_key, settings.blind_index_key)


@pytest.fixture(name="org_id")
def org_id_fixture(erasure_cells: Cells) -> uuid.UUID:
    org = uuid.uuid4()
    with erasure_cells.connection(CONTROL) as conn:
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, 'eu')",
            (org, f"Org {org.hex[:8]}", f"rtbf-{org.hex[:12]}"),
        )
    return org


@dataclass
class Seeded:
    """One contact written everywhere it can be, and the identifiers that name it."""

    contact_id: uuid.UUID
    email: str
    name: str
    blind_index: bytes
    region: str
    message_ids: list[uuid.UUID] = field(default_factory=list)
    redis_keys: list[str] = field(default_factory=list)

    def needles(self) -> dict[str, str]:
        """What must not be found after the erasure, by what it is."""
        return {
            "contact id": str(self.contact_id),
            "contact id (hex)": self.contact_id.hex,
            "email": self.email,
            "name": self.name,
            "blind index": self.blind_index.hex(),
        }


def seed_contact(
    cells: Cells,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    email: str,
    name: str,
    *,
    region: str = "eu",
    events: int = 200,
    messages: int = 5,
    client: redis.Redis | None = None,
    prefix: str = "",
) -> Seeded:
    """A contact with consents, messages, events, scores, holdouts, mart rows and Redis keys."""
    contact_id = uuid.uuid4()
    sealed = cipher.seal_contact(contact_id, email, name)
    seeded = Seeded(contact_id, email, name, sealed.email_blind_index, region)
    campaign_id = uuid.uuid4()
    with cells.connection(region) as conn:
        conn.execute(
            "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
            "name_ciphertext, wrapped_data_key, kek_version, email_domain, country, region, "
            "time_zone, attributes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'DE', %s, "
            "'Europe/Berlin', %s)",
            (
                contact_id, org_id, sealed.email_ciphertext, sealed.email_blind_index,
                sealed.name_ciphertext, sealed.wrapped_data_key, sealed.kek_version,
                email.split("@")[1], region, Jsonb({"nickname": name}),
            ),
        )  # fmt: skip
        # Consent through the product's workflow, so its consents, consent_events and audit
        # entries are the ones erasure meets in production.
        grant(
            conn,
            Subject(contact_id, org_id, region, "marketing"),
            Evidence("signup_form", "v1", "203.0.113.7", f"Mozilla/5.0 ({name})"),
        )
        save_preferences(conn, org_id, contact_id, Preferences(topic_opt_outs=("offers",)),
                         actor="data_subject", source="preference_center",
                         today=datetime.now(UTC).date())  # fmt: skip
        conn.execute(
            "INSERT INTO suppressions (org_id, email_blind_index, reason) "
            "VALUES (%s, %s, 'unsubscribe')",
            (org_id, sealed.email_blind_index),
        )
        for number in range(messages):
            message_id = uuid.uuid4()
            seeded.message_ids.append(message_id)
            key = f"campaign:{campaign_id}:{contact_id}:{number}"
            conn.execute(
                "INSERT INTO messages (message_id, org_id, campaign_id, campaign_type, "
                "contact_id, variables, status, idempotency_key, last_error, sent_at) "
                "VALUES (%s, %s, %s, 'marketing', %s, %s, %s, %s, %s, now())",
                (
                    message_id, org_id, campaign_id, contact_id,
                    Jsonb({"name": name, "email": email}),
                    "queued" if number == 0 else "delivered", key,
                    f"550 5.1.1 <{email}>: mailbox full",
                ),
            )  # fmt: skip
            conn.execute(
                "INSERT INTO message_idempotency_keys (org_id, idempotency_key, message_id) "
                "VALUES (%s, %s, %s)",
                (org_id, key, message_id),
            )
        conn.execute(
            "INSERT INTO email_events (event_id, event_time, message_id, contact_id, org_id, "
            "campaign_id, campaign_type, region, type, details) "
            "SELECT gen_random_uuid(), now() - (i %% 1200) * interval '1 minute', "
            "(%s::uuid[])[1 + i %% %s], %s, %s, %s, 'marketing', %s, "
            "(ARRAY['sent', 'delivered', 'opened', 'clicked'])[1 + i %% 4], "
            "jsonb_build_object('ip', '203.0.113.7', 'user_agent', %s::text, 'to', %s::text) "
            "FROM generate_series(1, %s) AS i",
            (
                seeded.message_ids, len(seeded.message_ids), contact_id, org_id, campaign_id,
                region, f"agent of {name}", email, events,
            ),
        )  # fmt: skip
        conn.execute(
            "INSERT INTO recipient_send_times (contact_id, org_id, best_hour_utc, "
            "best_local_hour, open_probability_24h, model_name, model_version, fallback) "
            "VALUES (%s, %s, now(), 9, 0.4, 'send_time_eu', '1', false)",
            (contact_id, org_id),
        )
        conn.execute(
            "INSERT INTO campaign_holdouts (campaign_id, contact_id, org_id, holdout_share) "
            "VALUES (%s, %s, %s, 0.1)",
            (uuid.uuid4(), contact_id, org_id),
        )
        conn.execute(
            "INSERT INTO marts.subject_features (contact_id, org_id, opens) VALUES (%s, %s, 3)",
            (contact_id, org_id),
        )
        conn.execute(
            "INSERT INTO marts.subject_scores_text (contact_id, score) VALUES (%s, 0.5)",
            (str(contact_id),),
        )
    if client is not None:
        for message_id in seeded.message_ids[:2]:
            key = f"{prefix}:trk:dedupe:opened:{message_id}:pixel:human"
            client.set(key, "2026-05-01T09:00:00+00:00", ex=600)
            seeded.redis_keys.append(key)
        key = f"{prefix}:test:recent:{contact_id}"
        client.set(key, "1", ex=600)
        seeded.redis_keys.append(key)
    return seeded
