"""Bodies of the preferences routes: a contact's consents and preferences, an opt-in to
start, a consent to withdraw."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Topic = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,100}$")]
Source = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Channel = Literal["email"]


class ConsentState(BaseModel):
    channel: str
    purpose: str
    status: str = Field(examples=["pending"])
    opt_in_steps: int = Field(examples=[2])
    steps_completed: int = Field(examples=[1])
    policy_version: str
    updated_at: datetime


class PreferencesPublic(BaseModel):
    """A contact's consents (its channel permissions) and preferences."""

    contact_id: uuid.UUID
    region: str
    consents: list[ConsentState]
    topic_opt_outs: list[str] = Field(examples=[["promotions"]])
    max_per_day: int | None = Field(examples=[2])
    max_per_week: int | None = Field(examples=[5])
    retention_until: date | None = Field(description="the day the contact's data expires")
    preference_center_url: str = Field(description="the contact's own preference center page")


class PreferencesUpdate(BaseModel):
    """Replaces the contact's preferences (a missing field: no preference)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"topic_opt_outs": ["promotions"], "max_per_week": 3}],
        },
    )

    topic_opt_outs: list[Topic] = Field(default_factory=list, max_length=50)
    max_per_day: int | None = Field(None, ge=1, le=100)
    max_per_week: int | None = Field(None, ge=1, le=500)
    retention_until: date | None = Field(None, description="after today, at most three years ahead")


class ConsentEvidence(BaseModel):
    """Where the data subject's action came from, kept in consent_events."""

    model_config = ConfigDict(extra="forbid")

    purpose: Name = "marketing"
    channel: Channel = "email"
    source: Source = Field("api", examples=["signup_form"])
    ip: IPv4Address | IPv6Address | None = Field(None, description="the subject's address")
    user_agent: str | None = Field(None, max_length=512)
    policy_version: str | None = Field(
        None, min_length=1, max_length=40, description="default: CONSENT_POLICY_VERSION"
    )


class OptInStart(ConsentEvidence):
    """Step 1 of an opt-in (the sign-up), for a contact that exists."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"purpose": "marketing", "steps": 2, "source": "signup_form"}]
        },
    )

    steps: int = Field(2, ge=1, le=3, description="1: single, 2: double, 3: triple opt-in")


class OptInStarted(BaseModel):
    contact_id: uuid.UUID
    status: str = Field(examples=["pending"])
    opt_in_steps: int
    steps_completed: int
    confirmation_url: str | None = Field(
        description="the link to send the contact (step 2); none for a one-step opt-in"
    )


class ConsentWithdrawal(ConsentEvidence):
    """The contact withdraws a consent."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"purpose": "marketing", "source": "api"}]},
    )


class ConsentChanged(BaseModel):
    contact_id: uuid.UUID
    channel: str
    purpose: str
    status: str = Field(examples=["withdrawn"])
    changed: bool = Field(description="false when the consent was already so")
