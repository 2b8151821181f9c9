"""Account-protection errors. Each is a :class:`serving.errors.ServingError`, so the API
answers it with its status and code (Retry-After on the two that wait).

ServingError
 ├── RateLimited
 │    ├── LoginThrottled      too many failed logins from this client (429, Retry-After)
 │    └── AccountLocked       the account is locked after failed logins (423, Retry-After)
 └── PermissionDenied
      └── LoginBlocked        the login-risk score refuses the login (403), ``signals`` say why

A new password found in the breached list is :class:`serving.auth.passwords.BreachedPassword`
(a :class:`~serving.auth.passwords.WeakPassword`), answered 422 ``breached_password``.
"""

from __future__ import annotations

from ...errors import PermissionDenied, RateLimited


class LoginThrottled(RateLimited):
    code = "login_throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__("client", retry_after)
        self.detail = f"too many failed logins from this client; retry in {retry_after} s"
        self.args = (self.detail,)


class AccountLocked(RateLimited):
    """Locked by failed logins: the same answer whether or not the account exists."""

    status_code = 423
    code = "account_locked"

    def __init__(self, retry_after: int) -> None:
        super().__init__("account", retry_after)
        self.detail = (
            f"this account is locked after repeated failed logins; retry in {retry_after} s "
            "or ask an owner of your organization to unlock it"
        )
        self.args = (self.detail,)


class LoginBlocked(PermissionDenied):
    """The password was right, but the login's behaviour is too risky to let through."""

    code = "login_blocked"

    def __init__(self, reason: str, signals: tuple[str, ...], detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.signals = signals
