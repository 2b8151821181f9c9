"""Second factors of users (TOTP and WebAuthn/FIDO2) and the rule of who must use one.

- :mod:`.policy`: administrator roles (owner) need a second factor in their token.
- :mod:`.totp`, :mod:`.sealing`: RFC 6238 codes, secrets sealed at rest under SECRET_KEY.
- :mod:`.security_keys`: WebAuthn registration and assertion ceremonies (``webauthn``).
- :mod:`.challenges`: WebAuthn challenges and used TOTP steps in Redis, expiring.
- :mod:`.store`: the factor tables of the control database.
- :mod:`.service`: enrolment, removal and the second step of a login, for the API.
"""

from .policy import is_admin_role, lacks_second_factor
from .service import SecondFactors, TotpEnrolment

__all__ = ["SecondFactors", "TotpEnrolment", "is_admin_role", "lacks_second_factor"]
