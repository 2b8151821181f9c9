"""Schemathesis against the live API on loopback: every operation of ``/openapi.json`` gets
a bounded number of generated requests (valid and invalid), each signed by an owner's key
of a test organization, and every answer must be no 5xx, a documented status, and a body
conforming to the documented schema.

The API under test has a DNS server of its own on loopback (domain prechecks ask it, not
the internet) and an ESP webhook route configured, so those routes run their real code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from api_kit import Tenants
from campaign_kit import own_api
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from postwise.settings import Settings
from serving.auth import Role, generate_signing_key, issue_key
from serving.auth.signing import sign_request
from simulator.dns import DnsServer
from warehouse.db import Cells

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
CONFIG = schemathesis.Config.from_dict({"generation": {"database": "none"}})
schemathesis.serializer.alias("application/x-ndjson", "text/plain")  # contacts imports


class SignedRequests(requests.auth.AuthBase):
    """Signs each prepared request (its final path, query and body bytes) with an API key's
    private key, as :mod:`serving.auth.signing` expects."""

    def __init__(self, api_key: str, private_pem: bytes) -> None:
        self.api_key = api_key
        self.private_pem = private_pem

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        method, path = request.method or "GET", request.path_url
        request.headers.update(sign_request(self.private_pem, self.api_key, method, path, body))
        return request


@pytest.fixture(scope="module")
def fuzzed_api(api_settings: Settings, serving_cells: Cells) -> Iterator[tuple[str, Tenants]]:
    with DnsServer() as dns_server:
        dns_server.add("news.acme.example", "TXT", '"v=spf1 ip4:127.0.0.0/8 -all"')
        dns_server.add("_dmarc.news.acme.example", "TXT", '"v=DMARC1; p=quarantine"')
        configured = api_settings.model_copy(
            update={
                "dns_resolver_address": dns_server.address,
                "dns_resolver_port": dns_server.port,
                "dns_timeout_seconds": 0.5,
                "dnsbl_zones": ("bl.test",),
                "esp_webhook_secrets": {"primary": "esp-secret-for-the-fuzzed-api-0123"},
            }
        )
        with own_api(configured, serving_cells) as served:
            yield served


@pytest.fixture(scope="module")
def api_schema(fuzzed_api: tuple[str, Tenants]) -> schemathesis.BaseSchema:
    url, _ = fuzzed_api
    return schemathesis.openapi.from_url(f"{url}/openapi.json", config=CONFIG)


@pytest.fixture(scope="module")
def signed_session(fuzzed_api: tuple[str, Tenants]) -> Iterator[requests.Session]:
    """A session signing every request with a new owner key of a new organization."""
    _, tenants = fuzzed_api
    tenant = tenants.org()
    private, public = generate_signing_key()
    with tenants.cells.connection("control") as conn:
        issued = issue_key(conn, tenant.org_id, "schemathesis", Role.OWNER, public.decode())
    session = requests.Session()
    session.auth = SignedRequests(issued.api_key, private)
    yield session
    session.close()
    with tenants.cells.connection("control") as conn:  # users the fuzzed POST /v1/users made
        conn.execute("DELETE FROM users WHERE org_id = %s", (tenant.org_id,))


def exercise(
    operation: schemathesis.APIOperation, session: requests.Session, base_url: str
) -> tuple[Counter[int], list[str]]:
    """Send up to ``EXAMPLES_PER_OPERATION`` generated requests (valid and invalid ones);
    the statuses answered and what each failing check said."""
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        *operation.schema.get_strategies_from_examples(operation),  # the documented examples
    )

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every failure is listed
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        try:
            response = case.call_and_validate(
                base_url=base_url, session=session, checks=CHECKS, timeout=15
            )
            statuses[response.status_code] += 1
        except (Exception, BaseExceptionGroup) as exc:  # a failed check: list them all
            failures.append(f"{operation.label}: {exc}")

    run()
    return statuses, failures


def test_the_api_answers_as_its_openapi_says(
    api_schema: schemathesis.BaseSchema,
    signed_session: requests.Session,
    fuzzed_api: tuple[str, Tenants],
) -> None:
    base_url, _ = fuzzed_api
    operations = [result.ok() for result in api_schema.get_all_operations()]
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    refused: list[str] = []  # operations that answered a correctly signed request 401
    for operation in operations:
        answered, failed = exercise(operation, signed_session, base_url)
        if answered[401]:
            refused.append(operation.label)
        statuses.update(answered)
        failures.extend(failed)

    assert len(operations) >= 45
    assert not failures, "\n\n".join(failures)
    assert sum(statuses.values()) >= 5 * len(operations)
    assert any(200 <= status < 300 for status in statuses), statuses
    # Only the token routes refuse (generated tokens are not live); a signed request to any
    # other path, percent-encoded parameters included, is accepted as signed.
    token_routes = (
        "login",
        "refresh",
        "logout",
        "mfa/totp",
        "mfa/webauthn/options",
        "mfa/webauthn",
    )
    assert set(refused) <= {f"POST /v1/auth/{name}" for name in token_routes}
