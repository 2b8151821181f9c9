"""Bodies of the ingestion routes (messages, contacts, suppressions): ``XCreate`` for what
a caller sends, ``XPublic`` for what the API answers. The protocol-buffer messages in
``serving/proto/postwise.proto`` mirror these field for field."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

CampaignType = Literal["marketing", "triggered", "transactional"]
SuppressionReason = Literal["manual", "unsubscribe", "hard_bounce", "complaint", "spam_trap"]

RECIPIENT_EXAMPLE: dict[str, Any] = {
    "email": "ada@example.org",
    "name": "Ada Lovelace",
    "country": "DE",
    "time_zone": "Europe/Berlin",
    "attributes": {"plan": "pro"},
}
MESSAGE_EXAMPLE: dict[str, Any] = {
    "recipient": RECIPIENT_EXAMPLE,
    "subject": "Your receipt, {{name}}",
    "html": "<p>Thanks for your order {{order}}.</p>",
    "variables": {"name": "Ada", "order": "A-1001"},
    "campaign_type": "transactional",
    "sending_domain": "mail.acme.example",
    "send_at": "optimal",
    "idempotency_key": "order-A-1001-receipt",
}


class RecipientCreate(BaseModel):
    """Who a message goes to; a known address is matched to its contact by blind index, a
    new one becomes a contact (sealed) in the cell of ``country``'s region."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RECIPIENT_EXAMPLE]})

    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(None, max_length=200)
    country: str | None = Field(
        None, pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2; needed for new contacts"
    )
    time_zone: str | None = Field(None, max_length=64, examples=["Europe/Berlin"])
    locale: str | None = Field(None, max_length=35, examples=["de-DE"])
    attributes: dict[str, Any] = Field(default_factory=dict)


class MessageCreate(BaseModel):
    """One message: a template (id and optional version) or an inline subject and html."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [MESSAGE_EXAMPLE]})

    recipient: RecipientCreate
    template_id: uuid.UUID | None = None
    template_version: int | None = Field(None, ge=1)
    subject: str | None = Field(None, max_length=998)
    html: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    campaign_type: CampaignType | None = Field(
        None, description="default: the campaign's type, else transactional"
    )
    sending_domain: str = Field(
        max_length=253,
        pattern=r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$",
        examples=["mail.acme.example"],
    )
    campaign_id: uuid.UUID | None = None
    variant: str | None = Field(None, max_length=64)
    send_at: AwareDatetime | Literal["optimal"] | None = Field(
        None,
        description='a time (RFC 3339 with offset), "optimal" for the recipient\'s best hour, '
        "or absent for now",
    )
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description="per organization: a repeat returns the original message (200, not 201)",
    )

    @model_validator(mode="after")
    def _content(self) -> MessageCreate:
        inline = self.subject is not None or self.html is not None
        if self.template_id is None and (self.subject is None or self.html is None):
            raise ValueError("give template_id, or both subject and html")
        if self.template_id is not None and inline:
            raise ValueError("give template_id or subject and html, not both")
        if self.template_version is not None and self.template_id is None:
            raise ValueError("template_version needs template_id")
        return self


class MessageBatchCreate(BaseModel):
    """Up to 1,000 messages; each is accepted or rejected on its own."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"messages": [MESSAGE_EXAMPLE]}]}
    )

    messages: list[MessageCreate] = Field(min_length=1)


class SendTimePublic(BaseModel):
    """How ``scheduled_at`` was chosen."""

    strategy: Literal["now", "at", "optimal"]
    source: Literal["request", "scores", "none"]
    fallback: bool | None = Field(
        None, description="the score came from the cohort curve (too little history)"
    )
    model_version: str | None = None
    detail: str


class MessageAccepted(BaseModel):
    """A queued message (or, for a repeated idempotency key, the original one)."""

    message_id: uuid.UUID
    status: str = Field(examples=["queued"])
    created: bool = Field(description="false when the idempotency key named an earlier message")
    contact_id: uuid.UUID
    region: str
    scheduled_at: datetime
    send_time: SendTimePublic | None = None


class BatchItemPublic(BaseModel):
    index: int
    outcome: Literal["accepted", "existing", "rejected"]
    message: MessageAccepted | None = None
    code: str | None = Field(None, examples=["suppressed"])
    detail: str | None = None


class BatchPublic(BaseModel):
    accepted: int
    existing: int
    rejected: int
    results: list[BatchItemPublic]


class EventPublic(BaseModel):
    type: str = Field(examples=["delivered"])
    event_time: datetime
    is_bot: bool
    smtp_code: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class MessagePublic(BaseModel):
    message_id: uuid.UUID
    status: str
    campaign_type: str
    campaign_id: uuid.UUID | None
    contact_id: uuid.UUID
    region: str
    sending_domain: str | None
    template_id: uuid.UUID | None
    template_version: int | None
    variant: str | None
    scheduled_at: datetime
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    events: list[EventPublic]
