"""Bootstrapping an organization's first credentials from the command line, before anyone
can call the API: ``postwise users create`` and ``postwise api-keys create``.

The logic lives here, over an open control-database connection; ``postwise.cli`` reads the
arguments, the password (prompted, or from a file) and prints the outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module at start; serving loads only when used
    import psycopg

    from serving.auth import IssuedKey, Role
    from serving.auth.users import UserRow


class BootstrapError(ValueError):
    """A bootstrap step that cannot be done as asked (unknown organization, weak password,
    an address already registered, a key that is no P-521 public key)."""


@dataclass(frozen=True)
class Org:
    org_id: uuid.UUID
    slug: str
    home_region: str
    created: bool


def organization_id(conn: psycopg.Connection, org: str) -> uuid.UUID:
    """The id of the organization named by ``org``: its id or its slug."""
    try:
        row = conn.execute("SELECT org_id FROM orgs WHERE org_id = %s", (uuid.UUID(org),))
    except ValueError:
        row = conn.execute("SELECT org_id FROM orgs WHERE slug = %s", (org,))
    found = row.fetchone()
    if found is None:
        raise BootstrapError(f"no organization {org!r}")
    return uuid.UUID(str(found[0]))


def find_or_create_org(
    conn: psycopg.Connection, slug: str, home_region: str | None, regions: tuple[str, ...]
) -> Org:
    """The organization ``slug``; created in ``home_region`` when missing and one is given."""
    row = conn.execute("SELECT org_id, home_region FROM orgs WHERE slug = %s", (slug,)).fetchone()
    if row is not None:
        return Org(row[0], slug, row[1], created=False)
    if home_region is None:
        raise BootstrapError(f"no organization {slug!r} (pass --home-region to create it)")
    if home_region not in regions:
        raise BootstrapError(f"unknown region {home_region!r}; configured: {', '.join(regions)}")
    org_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, %s, %s, %s)",
        (org_id, slug, slug, home_region),
    )
    return Org(org_id, slug, home_region, created=True)


def bootstrap_user(
    conn: psycopg.Connection, org: Org, email: str, password: str, role: Role, name: str = ""
) -> UserRow:
    from serving.auth.passwords import WeakPassword
    from serving.auth.users import UserExists, create_user

    try:
        return create_user(conn, org.org_id, email, password, role, name)
    except (UserExists, WeakPassword) as exc:
        raise BootstrapError(str(exc)) from None


def bootstrap_api_key(
    conn: psycopg.Connection, org: Org, name: str, role: Role, public_key_pem: str
) -> IssuedKey:
    from serving.auth import issue_key
    from serving.auth.signing import InvalidPublicKey

    try:
        return issue_key(conn, org.org_id, name, role, public_key_pem)
    except InvalidPublicKey as exc:
        raise BootstrapError(str(exc)) from None
