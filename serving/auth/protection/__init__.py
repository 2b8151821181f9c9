"""Account protection: breached passwords refused when set, login throttling and lockout
in Redis, and a login-risk score from behaviour that lets a login through, demands the
second factor, or blocks it; every decision written to the control audit log.

- :mod:`.breached`: the shipped breached-password list (SHA-1 prefix files) and its builder;
- :mod:`.lockout`: failure windows per account and per client, locks that grow on repeat;
- :mod:`.risk`: the pure scoring of a login's signals into a decision;
- :mod:`.history`: each user's logins and known devices in the control database;
- :mod:`.service`: :class:`~.service.AccountProtection`, which the login route calls.

Nothing is imported here, so :mod:`serving.auth.passwords` can use :mod:`.breached`
without importing the rest.
"""
