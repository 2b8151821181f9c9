"""The preference center and the consent routes over the region cells: finding a contact
(by id in the caller's organization, or from a signed link), reading its consents and
preferences, saving the preference form, confirming opt-in steps.

Business rules live in :mod:`compliance.consent`; this module opens the connections, maps
links to contacts and the compliance errors to serving ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from compliance.consent import (
    ConsentChange,
    Evidence,
    OptInClaims,
    OptInTokens,
    Preferences,
    Subject,
    confirm,
    grant,
    read_preferences,
    save_preferences,
    withdraw,
)
from compliance.errors import ConsentError, InvalidPreferences
from delivery.message import InvalidToken, TrackingSigner, TrackingUrls
from warehouse.db import Cells

from ..errors import Conflict, InvalidTrackingLink, NotFound, UnknownRecipient, ValidationFailed

DEFAULT_CONSENT = ("email", "marketing")  # always offered on the page


@dataclass(frozen=True)
class ContactKey:
    """Where a contact lives."""

    contact_id: uuid.UUID
    org_id: uuid.UUID
    region: str


@dataclass(frozen=True)
class ConsentRow:
    channel: str
    purpose: str
    status: str
    opt_in_steps: int
    steps_completed: int
    policy_version: str
    updated_at: datetime


@dataclass(frozen=True)
class ContactPreferences:
    key: ContactKey
    consents: tuple[ConsentRow, ...]
    preferences: Preferences
    topics: tuple[str, ...]  # topics the page offers: the organization's and those opted out


@dataclass
class PreferenceService:
    cells: Cells
    signer: TrackingSigner
    urls: TrackingUrls
    tokens: OptInTokens
    policy_version: str

    def find(self, org_id: uuid.UUID, contact_id: uuid.UUID) -> ContactKey:
        """The organization's contact (404 ``contact_not_found`` otherwise)."""
        for region in self.cells.regions:
            with self.cells.connection(region) as conn:
                row = conn.execute(
                    "SELECT 1 FROM contacts WHERE contact_id = %s AND org_id = %s "
                    "AND status <> 'erased'",
                    (contact_id, org_id),
                ).fetchone()
            if row is not None:
                return ContactKey(contact_id, org_id, region)
        raise NotFound("contact_not_found", f"no contact {contact_id} in your organization")

    def from_link(self, token: str) -> ContactKey:
        """The contact a preference-center link names (400 when the link is not ours)."""
        try:
            claims = self.signer.verify("preferences", token)
            contact_id = uuid.UUID(str(claims["c"]))
            org_id = uuid.UUID(str(claims["o"])) if "o" in claims else None
        except (InvalidToken, KeyError, ValueError):
            raise InvalidTrackingLink("this preference link is not valid") from None
        region = claims.get("r")
        regions = [region] if region in self.cells.regions else list(self.cells.regions)
        for cell in regions:
            with self.cells.connection(cell) as conn:
                row = conn.execute(
                    "SELECT org_id FROM contacts WHERE contact_id = %s AND status <> 'erased'",
                    (contact_id,),
                ).fetchone()
            if row is not None and (org_id is None or row[0] == org_id):
                return ContactKey(contact_id, row[0], cell)
        raise UnknownRecipient("the recipient of this link is no longer known")

    def link(self, key: ContactKey) -> str:
        """The contact's preference-center URL."""
        claims = {"c": str(key.contact_id), "o": str(key.org_id), "r": key.region}
        return self.urls.preferences(self.signer.sign("preferences", claims))

    def confirmation_link(self, token: str) -> str:
        return f"{self.urls.base_url.rstrip('/')}/t/optin/{token}"

    def read(self, key: ContactKey) -> ContactPreferences:
        with self.cells.connection(key.region) as conn:
            rows = conn.execute(
                "SELECT channel, purpose, status, opt_in_steps, steps_completed, "
                "policy_version, updated_at FROM consents WHERE contact_id = %s "
                "ORDER BY channel, purpose",
                (key.contact_id,),
            ).fetchall()
            preferences = read_preferences(conn, key.contact_id)
        with self.cells.connection("control") as conn:
            topics = conn.execute(
                "SELECT DISTINCT topic FROM campaigns WHERE org_id = %s AND topic IS NOT NULL",
                (key.org_id,),
            ).fetchall()
        offered = {str(t[0]).lower() for t in topics} | set(preferences.topic_opt_outs)
        return ContactPreferences(
            key, tuple(ConsentRow(*row) for row in rows), preferences, tuple(sorted(offered))
        )

    def save(
        self, key: ContactKey, preferences: Preferences, *, source: str, actor: str
    ) -> ContactPreferences:
        today = datetime.now(UTC).date()
        with self.cells.connection(key.region) as conn:
            try:
                save_preferences(
                    conn, key.org_id, key.contact_id, preferences,
                    source=source, actor=actor, today=today,
                )  # fmt: skip
            except InvalidPreferences as exc:
                raise ValidationFailed(exc.code, str(exc)) from None
        return self.read(key)

    def set_consents(
        self, key: ContactKey, wanted: set[tuple[str, str]], evidence: Evidence
    ) -> None:
        """Grant the (channel, purpose) consents in ``wanted`` and withdraw the others the
        page showed (the preference form)."""
        shown = {(c.channel, c.purpose) for c in self.read(key).consents} | {DEFAULT_CONSENT}
        with self.cells.connection(key.region) as conn:
            for channel, purpose in sorted(shown):
                subject = Subject(key.contact_id, key.org_id, key.region, purpose, channel)
                change = grant if (channel, purpose) in wanted else withdraw
                try:
                    change(conn, subject, evidence)
                except ConsentError as exc:
                    raise Conflict(exc.code, str(exc)) from None

    def withdraw(
        self, key: ContactKey, channel: str, purpose: str, evidence: Evidence
    ) -> ConsentChange:
        subject = Subject(key.contact_id, key.org_id, key.region, purpose, channel)
        with self.cells.connection(key.region) as conn:
            return withdraw(conn, subject, evidence)

    def confirm(self, claims: OptInClaims, evidence: Evidence) -> ConsentChange:
        """Spend an opt-in token (its errors propagate: the pages say why)."""
        if claims.region not in self.cells.regions:
            raise InvalidTrackingLink("this confirmation link is not valid")
        with self.cells.connection(claims.region) as conn:
            return confirm(conn, self.tokens, claims, evidence)

    def token_used(self, claims: OptInClaims) -> bool:
        if claims.region not in self.cells.regions:
            return False
        with self.cells.connection(claims.region) as conn:
            row = conn.execute(
                "SELECT 1 FROM opt_in_token_uses WHERE token_id = %s", (claims.token_id,)
            ).fetchone()
        return row is not None


def retention_date(months: str, today: date) -> date | None:
    """The expiration date a form's "keep my data for N months" choice means."""
    return today + timedelta(days=30 * int(months)) if months else None
