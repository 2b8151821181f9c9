"""Authentication and authorization of the API: roles and the permission matrix
(:mod:`.roles`), API keys (:mod:`.keys`), ECDSA P-521 request signatures (:mod:`.signing`)
and the check of a signed request (:mod:`.authenticate`)."""

from .authenticate import check_signed_request
from .keys import IssuedKey, StoredKey, find_key, issue_key, revoke_key
from .roles import MINIMUM_ROLE, Permission, Principal, Role, allows
from .signing import generate_signing_key, sign_request

__all__ = [
    "MINIMUM_ROLE",
    "IssuedKey",
    "Permission",
    "Principal",
    "Role",
    "StoredKey",
    "allows",
    "check_signed_request",
    "find_key",
    "generate_signing_key",
    "issue_key",
    "revoke_key",
    "sign_request",
]
