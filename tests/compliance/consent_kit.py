"""Helpers of the consent and retention tests: sealed contacts in a region cell."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from compliance.crypto import PiiCipher
from postwise.settings import Settings
from warehouse.db import Cells


@dataclass
class Contacts:
    """Creates sealed contacts of one organization; removes what it made."""

    cells: Cells
    settings: Settings
    org_id: uuid.UUID = field(default_factory=uuid.uuid4)
    made: list[tuple[str, uuid.UUID]] = field(default_factory=list)

    def add(
        self,
        region: str = "eu",
        email: str | None = None,
        retention_until: date | None = None,
    ) -> uuid.UUID:
        cipher = PiiCipher.from_settings(
            self.settings.key_encryption_key, self.settings.blind_index_key
        )
        contact_id = uuid.uuid4()
        address = email or f"c-{contact_id.hex[:10]}@example.org"
        sealed = cipher.seal_contact(contact_id, address, "Ada Lovelace")
        with self.cells.connection(region) as conn:
            conn.execute(
                "INSERT INTO contacts (contact_id, org_id, email_ciphertext, email_blind_index, "
                "name_ciphertext, wrapped_data_key, kek_version, email_domain, country, region, "
                "time_zone, attributes, retention_until) VALUES (%s, %s, %s, %s, %s, %s, %s, "
                "'example.org', 'DE', %s, 'UTC', '{\"plan\": \"pro\"}', %s)",
                (contact_id, self.org_id, sealed.email_ciphertext, sealed.email_blind_index,
                 sealed.name_ciphertext, sealed.wrapped_data_key, sealed.kek_version, region,
                 retention_until),
            )  # fmt: skip
        self.made.append((region, contact_id))
        return contact_id

    def cleanup(self) -> None:
        for region, contact_id in self.made:
            with self.cells.connection(region) as conn:
                conn.execute("DELETE FROM consent_events WHERE contact_id = %s", (contact_id,))
                conn.execute("DELETE FROM contacts WHERE contact_id = %s", (contact_id,))
