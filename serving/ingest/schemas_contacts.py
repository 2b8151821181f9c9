"""Bodies of the contacts and suppressions routes (``XCreate`` in, ``XPublic`` out)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .schemas import SuppressionReason


class RowError(BaseModel):
    row: int = Field(description="1-based record number (a CSV header is not a record)")
    code: str = Field(examples=["invalid_address"])
    detail: str


class ImportReport(BaseModel):
    """Counts and the problem of each refused record (the first 1,000)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "received": 3,
                    "created": 1,
                    "updated": 1,
                    "rejected": 1,
                    "errors": [
                        {"row": 2, "code": "invalid_address", "detail": "'bob@' is not valid"}
                    ],
                    "errors_truncated": False,
                    "aborted": None,
                }
            ]
        }
    )

    received: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[RowError] = Field(default_factory=list)
    errors_truncated: bool = False
    aborted: str | None = Field(None, description="why reading stopped early (e.g. bad UTF-8)")
    trap_hits: dict[str, int] = Field(
        default_factory=dict, description="records refused as spam traps, per list source"
    )
    quarantine_id: uuid.UUID | None = Field(
        None,
        description="set when the trap hits put the import in quarantine: nothing it brought "
        "is sendable until an owner releases it (`postwise traps release`)",
    )


class ConsentPublic(BaseModel):
    channel: str
    purpose: str
    status: str
    policy_version: str
    updated_at: datetime


class ContactPublic(BaseModel):
    """A contact, decrypted (personal data: campaign managers and owners only)."""

    contact_id: uuid.UUID
    email: str
    name: str | None
    email_domain: str
    country: str
    region: str
    time_zone: str
    locale: str
    attributes: dict[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime
    consents: list[ConsentPublic]


class SuppressionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "bob@example.org", "reason": "manual"}]},
    )

    email: str = Field(min_length=3, max_length=320)
    reason: SuppressionReason = "manual"
    expires_at: AwareDatetime | None = None


class SuppressionPublic(BaseModel):
    email_hash: str = Field(description="hex of the address's blind index (no plaintext kept)")
    reason: str
    source: str
    created_at: datetime
    expires_at: datetime | None
    regions: list[str] = Field(description="the cells that hold this suppression")


class SuppressionPage(BaseModel):
    items: list[SuppressionPublic]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page")
