"""Who must prove a second factor: users whose role administers the organization.

An administrator role is one that manages users or API keys (today the owner). A user
principal of such a role (their own, or one a break-glass grant raised them to) whose token
carries no second factor may call only the routes open to any signed-in caller, which
include enrolling a factor. API keys are not people: their requests are signed with a
P-521 key and the second-factor rule does not apply to them.
"""

from __future__ import annotations

from ..roles import Permission, Principal, Role, allows
from ..tokens import SECOND_FACTOR

ADMIN_PERMISSIONS = (Permission.USERS_MANAGE, Permission.API_KEYS_MANAGE)


def is_admin_role(role: Role) -> bool:
    """Whether ``role`` administers the organization (manages its users or keys)."""
    return any(allows(role, permission) for permission in ADMIN_PERMISSIONS)


def lacks_second_factor(principal: Principal) -> bool:
    """True for a user of an administrator role who signed in without a second factor."""
    return (
        principal.is_user and is_admin_role(principal.role) and SECOND_FACTOR not in principal.amr
    )
