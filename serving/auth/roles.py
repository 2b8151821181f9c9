"""Who may do what: the role hierarchy and the permission matrix every route enforces.

Roles are ordered, Org Owner > Campaign Manager > Analyst: a role holds every permission
of the roles below it. ``MINIMUM_ROLE`` is the matrix itself, one row per permission with
the least role that holds it; routes name the permission they need (``deps.require``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ANALYST = "analyst"
    CAMPAIGN_MANAGER = "campaign_manager"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self)

    def includes(self, other: Role) -> bool:
        """True when this role holds everything ``other`` holds."""
        return self.rank >= other.rank


ROLE_ORDER = (Role.ANALYST, Role.CAMPAIGN_MANAGER, Role.OWNER)


class Permission(StrEnum):
    MESSAGES_READ = "messages:read"
    MESSAGES_SEND = "messages:send"
    TEMPLATES_READ = "templates:read"
    TEMPLATES_WRITE = "templates:write"
    CONTACTS_READ = "contacts:read"
    CONTACTS_WRITE = "contacts:write"
    CAMPAIGNS_READ = "campaigns:read"
    CAMPAIGNS_WRITE = "campaigns:write"
    CAMPAIGNS_SEND = "campaigns:send"
    SUPPRESSIONS_READ = "suppressions:read"
    SUPPRESSIONS_WRITE = "suppressions:write"
    MODELS_READ = "models:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    API_KEYS_MANAGE = "api_keys:manage"
    USERS_MANAGE = "users:manage"
    SENDING_CONTROL = "sending:control"
    IMPORTS_REVIEW = "imports:review"


MINIMUM_ROLE: dict[Permission, Role] = {
    Permission.MESSAGES_READ: Role.ANALYST,
    Permission.MESSAGES_SEND: Role.CAMPAIGN_MANAGER,
    Permission.TEMPLATES_READ: Role.ANALYST,
    Permission.TEMPLATES_WRITE: Role.CAMPAIGN_MANAGER,
    # Contacts are personal data: reading them is not part of an analyst's job.
    Permission.CONTACTS_READ: Role.CAMPAIGN_MANAGER,
    Permission.CONTACTS_WRITE: Role.CAMPAIGN_MANAGER,
    Permission.CAMPAIGNS_READ: Role.ANALYST,
    Permission.CAMPAIGNS_WRITE: Role.CAMPAIGN_MANAGER,
    Permission.CAMPAIGNS_SEND: Role.CAMPAIGN_MANAGER,
    Permission.SUPPRESSIONS_READ: Role.ANALYST,
    Permission.SUPPRESSIONS_WRITE: Role.CAMPAIGN_MANAGER,
    Permission.MODELS_READ: Role.ANALYST,
    Permission.WEBHOOKS_MANAGE: Role.OWNER,
    Permission.API_KEYS_MANAGE: Role.OWNER,
    Permission.USERS_MANAGE: Role.OWNER,
    # Pausing, forcing or draining the organization's sending (manual override switches).
    Permission.SENDING_CONTROL: Role.OWNER,
    # Releasing or rejecting a contacts import quarantined for its spam-trap hits.
    Permission.IMPORTS_REVIEW: Role.OWNER,
}


def allows(role: Role, permission: Permission) -> bool:
    """Whether ``role`` holds ``permission`` under the matrix."""
    return role.includes(MINIMUM_ROLE[permission])


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key or a logged-in user of one organization.

    A user's ``amr`` says how they signed in (``pwd``, plus ``mfa`` after a second factor);
    ``grant_id`` names the break-glass grant that raised ``role`` above the user's own.
    """

    org_id: uuid.UUID
    role: Role
    subject: str  # "key:<key id>" or "user:<user id>"
    home_region: str
    amr: tuple[str, ...] = ()
    grant_id: uuid.UUID | None = None

    @property
    def is_user(self) -> bool:
        return self.subject.startswith("user:")
