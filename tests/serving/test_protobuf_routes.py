"""Every route with a JSON body takes the same body as protocol buffers: for each, the same
request sent as JSON and as protobuf gets the same status and the same answer, and a
protobuf answer (``Accept: application/x-protobuf``) decodes to the JSON one."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from api_kit import Tenants
from campaign_kit import remove_org_rows
from factor_kit import SoftKey, TotpApp, bearer, enrol_totp, login
from google.protobuf import json_format
from google.protobuf.message import Message
from ops_kit import PASSWORD, CellRows, add_user, people_fixture, rows_fixture  # noqa: F401

from compliance.crypto import cipher_for
from postwise.settings import Settings
from serving.auth import Role, generate_signing_key
from serving.client import PostwiseClient
from serving.proto import postwise_pb2
from serving.proto.bodies import PROTOBUF

# Values that differ between two otherwise identical requests (new ids, times, secrets).
VOLATILE = {
    "template_id", "campaign_id", "key_id", "api_key", "user_id", "endpoint_id", "secret",
    "created_at", "updated_at", "access_token", "refresh_token", "email_hash",
    "version", "latest_version",  # each update makes a version
    "variant",  # without a model, a uniform pick
    "confirmation_url", "erasure_id", "subject", "erased_at", "control_audit_id", "audit_id",
    "grant_id", "granted_at", "expires_at", "factor_id", "challenge", "switch_id",
}  # fmt: skip
TEMPLATE = {"name": "Autumn", "subject": "Hi {{first_name}}", "html": "<p>Hi {{first_name}}</p>"}


@dataclass
class Setup:
    """What the cases refer to: an organization's owner client, a template, a campaign, a
    user who can log in, a contact; users made on demand for the second-factor routes."""

    api_url: str
    owner: PostwiseClient
    template_id: str
    campaign_id: str
    user_email: str
    contact_id: str
    rp_id: str
    origin: str
    access_token: str = ""  # of the last refresh_token() or signed_in()
    key_holder: tuple[str, SoftKey] | None = None  # a user with a security key

    def refresh_token(self) -> str:
        login = {"email": self.user_email, "password": PASSWORD}
        answer = httpx.post(f"{self.api_url}/v1/auth/login", json=login)
        assert answer.status_code == 200, answer.text
        self.access_token = answer.json()["access_token"]
        return str(answer.json()["refresh_token"])

    def signed_in(self, tag: str) -> str:
        """A new analyst, signed in (their token is the next unsigned request's bearer)."""
        email = f"factor-{tag}-{uuid.uuid4().hex[:8]}@acme.example"
        made = self.owner.post(
            "/v1/users", json={"email": email, "password": PASSWORD, "role": "analyst"}
        )
        assert made.status_code == 201, made.text
        answer = login(self.api_url, email)
        assert answer.status_code == 200, answer.text
        self.access_token = answer.json()["access_token"]
        return email

    def pending_totp(self, tag: str) -> str:
        """A code of a new user's TOTP enrolment, not yet confirmed."""
        self.signed_in(tag)
        started = httpx.post(f"{self.api_url}/v1/factors/totp", headers=bearer(self.access_token))
        assert started.status_code == 201, started.text
        return TotpApp(started.json()["secret"]).code()

    def security_key(self, tag: str) -> dict[str, Any]:
        """A new user's security key registration (attestation over fresh options)."""
        self.signed_in(tag)
        options = httpx.post(
            f"{self.api_url}/v1/factors/webauthn/options", headers=bearer(self.access_token)
        )
        assert options.status_code == 200, options.text
        return SoftKey(self.rp_id, self.origin).register(options.json())

    def totp_ticket(self, tag: str) -> dict[str, str]:
        """The ``mfa_token`` of a new TOTP user's password login, and a code of theirs."""
        email = self.signed_in(tag)
        app = enrol_totp(self.api_url, self.access_token)
        self.access_token = ""
        return {"mfa_token": self.ticket(email), "code": app.code()}

    def key_ticket(self) -> str:
        """The ``mfa_token`` of a password login of this setup's security-key user."""
        if self.key_holder is None:
            email = self.signed_in("key")
            device = SoftKey(self.rp_id, self.origin)
            headers = bearer(self.access_token)
            url = f"{self.api_url}/v1/factors/webauthn"
            options = httpx.post(f"{url}/options", headers=headers).json()
            made = httpx.post(url, headers=headers, json={"credential": device.register(options)})
            assert made.status_code == 201, made.text
            self.key_holder = (email, device)
        self.access_token = ""
        return self.ticket(self.key_holder[0])

    def key_assertion(self) -> dict[str, Any]:
        """A login ticket of the security-key user and the key's assertion for it."""
        ticket = self.key_ticket()
        assert self.key_holder is not None
        asked = httpx.post(
            f"{self.api_url}/v1/auth/mfa/webauthn/options", json={"mfa_token": ticket}
        )
        assert asked.status_code == 200, asked.text
        return {"mfa_token": ticket, "credential": self.key_holder[1].assertion(asked.json())}

    def ticket(self, email: str) -> str:
        first = login(self.api_url, email)
        assert (first.status_code, first.json()["code"]) == (401, "mfa_required"), first.text
        return str(first.json()["mfa_token"])

    def erasable(self, tag: str) -> str:
        """The address of a new contact with a granted consent."""
        email = f"erase-{tag}-{uuid.uuid4().hex[:8]}@example.org"
        imported = self.owner.post(
            "/v1/contacts:import", json=[{"email": email, "country": "DE", "consent": "granted"}]
        )
        assert imported.status_code == 200, imported.text
        return email

    def user_id(self, tag: str) -> str:
        """A new analyst's id."""
        email = f"analyst-{tag}-{uuid.uuid4().hex[:8]}@acme.example"
        made = self.owner.post(
            "/v1/users", json={"email": email, "password": PASSWORD, "role": "analyst"}
        )
        assert made.status_code == 201, made.text
        return str(made.json()["user_id"])


@dataclass
class Case:
    status: int  # what both answer
    method: str
    path: str  # may name {template_id}, {campaign_id} or {contact_id}
    message: str  # the postwise.v1 message of the body
    body: Callable[[Setup, str], dict[str, Any]]  # from the setup and a per-request tag
    signed: bool = True  # else unsigned, with the last access token (if any) as bearer


CASES = [
    Case(201, "POST", "/v1/templates", "TemplateCreate", lambda s, t: {
        **TEMPLATE, "name": f"t-{t}", "text": "Hi", "partials": {"footer": "<p>Bye</p>"},
        "variants": [{"key": "A", "blocks": {"footer": "<p>A</p>"}}]}),
    Case(422, "POST", "/v1/templates", "TemplateCreate", lambda s, t: {"subject": "no html"}),
    Case(200, "PUT", "/v1/templates/{template_id}", "TemplateUpdate", lambda s, t: {
        "subject": "Hello {{first_name}}", "html": "<p>Hello</p>"}),
    Case(200, "POST", "/v1/templates/{template_id}/preview", "PreviewRequest", lambda s, t: {
        "variables": {"first_name": "Ada", "n": 3}, "version": 1}),
    Case(201, "POST", "/v1/campaigns", "CampaignCreate", lambda s, t: {
        "name": "Autumn sale", "campaign_type": "marketing", "template_id": s.template_id,
        "sending_domain": "news.acme.example", "blocked_regions": ["apac"],
        "holdout_share": 0.1, "segment": {"field": "attributes.plan", "op": "eq", "value": "pro"},
        "fallback_channel": "sms"}),
    Case(422, "POST", "/v1/campaigns", "CampaignCreate", lambda s, t: {
        "name": "No such type", "campaign_type": "weekly", "template_id": s.template_id,
        "sending_domain": "news.acme.example"}),
    Case(200, "PATCH", "/v1/campaigns/{campaign_id}", "CampaignUpdate", lambda s, t: {
        "name": "Winter sale", "topic": "offers", "fallback_channel": None}),
    Case(201, "POST", "/v1/api-keys", "ApiKeyCreate", lambda s, t: {
        "name": "checkout", "role": "analyst",
        "public_key": generate_signing_key()[1].decode()}),
    Case(201, "POST", "/v1/users", "UserCreate", lambda s, t: {
        "email": f"user-{t}@acme.example", "password": PASSWORD, "role": "analyst",
        "display_name": "Ada"}),
    Case(201, "POST", "/v1/suppressions", "SuppressionCreate", lambda s, t: {
        "email": f"gone-{t}@example.org", "reason": "complaint"}),
    Case(200, "POST", "/v1/send-time:batch", "SendTimeBatch", lambda s, t: {
        "contact_ids": [s.contact_id, "00000000-0000-4000-8000-000000000000"]}),
    Case(200, "POST", "/v1/personalize", "PersonalizeRequest", lambda s, t: {
        "contact_id": s.contact_id, "variants": ["A", "B"]}),
    Case(422, "POST", "/v1/personalize", "PersonalizeRequest", lambda s, t: {
        "contact_id": s.contact_id, "variants": ["A", "bad,name"]}),
    Case(201, "POST", "/v1/webhooks/endpoints", "EndpointCreate", lambda s, t: {
        "url": f"https://hooks.acme.example/{t}", "event_types": ["campaign.sent"]}),
    Case(200, "POST", "/v1/auth/login", "LoginRequest", lambda s, t: {
        "email": s.user_email, "password": PASSWORD}, signed=False),
    Case(401, "POST", "/v1/auth/login", "LoginRequest", lambda s, t: {
        "email": s.user_email, "password": "not the password at all"}, signed=False),
    Case(200, "POST", "/v1/auth/refresh", "RefreshRequest", lambda s, t: {
        "refresh_token": s.refresh_token()}, signed=False),
    Case(204, "POST", "/v1/auth/logout", "LogoutRequest", lambda s, t: {
        "refresh_token": s.refresh_token()}, signed=False),
    Case(200, "PUT", "/v1/contacts/{contact_id}/phone", "ContactPhoneUpdate", lambda s, t: {
        "phone": "+49 151 1234 5678"}),
    Case(422, "PUT", "/v1/contacts/{contact_id}/phone", "ContactPhoneUpdate", lambda s, t: {
        "phone": "0151 1234"}),
    Case(200, "PUT", "/v1/contacts/{contact_id}/preferences", "PreferencesUpdate", lambda s, t: {
        "topic_opt_outs": ["promotions", "surveys"], "max_per_week": 3}),
    Case(422, "PUT", "/v1/contacts/{contact_id}/preferences", "PreferencesUpdate", lambda s, t: {
        "max_per_day": 0}),
    Case(201, "POST", "/v1/contacts/{contact_id}/opt-ins", "OptInStart", lambda s, t: {
        "purpose": f"news_{t}", "steps": 2, "source": "signup_form", "ip": "192.0.2.7",
        "user_agent": "Mozilla/5.0"}),
    Case(200, "POST", "/v1/contacts/{contact_id}/consents:withdraw", "ConsentWithdrawal",
         lambda s, t: {"purpose": f"news_{t}", "source": "api"}),
    Case(201, "POST", "/v1/erasures", "ErasureCreate", lambda s, t: {"email": s.erasable(t)}),
    Case(201, "POST", "/v1/break-glass", "BreakGlassCreate", lambda s, t: {
        "user_id": s.user_id(t), "role": "campaign_manager", "reason": f"INC-{t}",
        "minutes": 30}),
    Case(201, "POST", "/v1/ops/switches", "SwitchCreate", lambda s, t: {
        "kind": "pause", "sending_domain": f"{t}.acme.example", "reason": f"INC-{t}"}),
    Case(422, "POST", "/v1/ops/switches", "SwitchCreate", lambda s, t: {
        "kind": "force_route", "route": "frankfurt", "region": "na", "reason": "outside"}),
    Case(204, "POST", "/v1/factors/totp/confirm", "TotpConfirm", lambda s, t: {
        "code": s.pending_totp(t)}, signed=False),
    Case(201, "POST", "/v1/factors/webauthn", "WebAuthnRegistration", lambda s, t: {
        "credential": s.security_key(t), "name": "desk key"}, signed=False),
    Case(200, "POST", "/v1/auth/mfa/totp", "MfaTotp", lambda s, t: s.totp_ticket(t),
         signed=False),
    Case(200, "POST", "/v1/auth/mfa/webauthn/options", "MfaTicket", lambda s, t: {
        "mfa_token": s.key_ticket()}, signed=False),
    Case(200, "POST", "/v1/auth/mfa/webauthn", "MfaWebAuthn", lambda s, t: s.key_assertion(),
         signed=False),
    Case(204, "PUT", "/v1/me/password", "PasswordChange", lambda s, t: {
        "current_password": PASSWORD, "new_password": f"{s.signed_in(t)} passphrase"},
         signed=False),
    Case(422, "PUT", "/v1/me/password", "PasswordChange", lambda s, t: (s.signed_in(t), {
        "current_password": PASSWORD, "new_password": "password1234"})[1], signed=False),
]  # fmt: skip


@pytest.fixture
def setup(people: Tenants, rows: CellRows, api_url: str, api_settings: Settings) -> Iterator[Setup]:
    tenant = people.org("eu")
    owner = people.client(tenant, Role.OWNER)
    template = owner.post("/v1/templates", json={**TEMPLATE, "name": uuid.uuid4().hex})
    assert template.status_code == 201, template.text
    template_id = template.json()["template_id"]
    campaign = owner.post("/v1/campaigns", json={
        "name": "Base", "campaign_type": "marketing", "template_id": template_id,
        "sending_domain": "news.acme.example"})  # fmt: skip
    assert campaign.status_code == 201, campaign.text
    email = add_user(people.cells, tenant.org_id)
    contact = rows.contact(tenant.org_id)
    with people.cells.connection("eu") as conn:  # a real data key: the phone is sealed under it
        sealed = cipher_for(api_settings).seal_contact(contact, "ada@example.org", None)
        conn.execute(
            "UPDATE contacts SET email_ciphertext = %s, wrapped_data_key = %s "
            "WHERE contact_id = %s",
            (sealed.email_ciphertext, sealed.wrapped_data_key, contact),
        )
    yield Setup(
        api_url,
        owner,
        template_id,
        campaign.json()["campaign_id"],
        email,
        str(contact),
        api_settings.webauthn_rp_id,
        api_settings.webauthn_origins[0],
    )
    remove_org_rows(people.cells, people.created)


def send(setup: Setup, case: Case, **kwargs: Any) -> httpx.Response:
    path = case.path.format(
        template_id=setup.template_id, campaign_id=setup.campaign_id, contact_id=setup.contact_id
    )
    if case.signed:
        return setup.owner.request(case.method, path, **kwargs)
    if setup.access_token:
        kwargs["headers"] = {
            **kwargs.get("headers", {}),
            "authorization": f"Bearer {setup.access_token}",
        }
    return httpx.request(case.method, f"{setup.api_url}{path}", **kwargs)


def as_protobuf(case: Case, body: dict[str, Any]) -> bytes:
    message: Message = getattr(postwise_pb2, case.message)()
    return json_format.ParseDict(body, message).SerializeToString()


def comparable(value: Any, tag: str) -> Any:
    """``value`` with its volatile fields masked (a null stays null, as protobuf leaves it
    out) and the request's tag made generic."""
    if isinstance(value, dict):
        return {
            k: "*" if k in VOLATILE and v is not None else comparable(v, tag)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [comparable(v, tag) for v in value]
    return value.replace(tag, "<tag>") if isinstance(value, str) else value


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def answer_of(response: httpx.Response, tag: str) -> Any:
    return comparable(response.json(), tag) if response.content else None


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path} {c.message}")
def test_a_protobuf_body_gets_the_answer_of_the_same_json_body(setup: Setup, case: Case) -> None:
    as_json = send(setup, case, json=case.body(setup, "json1"))
    body = case.body(setup, "prot1")
    as_proto = send(
        setup, case, content=as_protobuf(case, body), headers={"content-type": PROTOBUF}
    )

    assert (as_json.status_code, as_proto.status_code) == (case.status, case.status), (
        as_json.text,
        as_proto.text,
    )
    assert answer_of(as_proto, "prot1") == answer_of(as_json, "json1")

    # the same body asking for a protobuf answer (errors stay JSON)
    wanted = send(
        setup, case, content=as_protobuf(case, case.body(setup, "prot2")),
        headers={"content-type": f"{PROTOBUF}; proto=postwise.v1.{case.message}",
                 "accept": PROTOBUF},
    )  # fmt: skip
    assert wanted.status_code == as_json.status_code
    reply = getattr(postwise_pb2, type_name(case), None)
    if reply is None or not as_json.content or as_json.status_code >= 300:
        assert wanted.headers.get("content-type", "").startswith("application/json") or not (
            wanted.content
        )
        return
    assert wanted.headers["content-type"] == PROTOBUF
    decoded = json_format.MessageToDict(
        reply.FromString(wanted.content),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    assert comparable(decoded, "prot2") == without_nulls(answer_of(as_json, "json1"))


RESPONSES = {
    "TemplateCreate": "TemplatePublic", "TemplateUpdate": "TemplatePublic",
    "PreviewRequest": "TemplatePreview", "CampaignCreate": "CampaignPublic",
    "CampaignUpdate": "CampaignPublic", "ApiKeyCreate": "ApiKeyCreated",
    "UserCreate": "UserPublic", "SuppressionCreate": "SuppressionPublic",
    "SendTimeBatch": "SendTimeBatchPublic", "PersonalizeRequest": "PersonalizePublic",
    "EndpointCreate": "EndpointCreated", "LoginRequest": "TokenPublic",
    "RefreshRequest": "TokenPublic", "PreferencesUpdate": "PreferencesPublic",
    "OptInStart": "OptInStarted", "ConsentWithdrawal": "ConsentChanged",
    "ErasureCreate": "ErasurePublic", "BreakGlassCreate": "BreakGlassPublic",
    "SwitchCreate": "SwitchPublic", "ContactPhoneUpdate": "ContactPhonePublic",
    "WebAuthnRegistration": "FactorPublic", "MfaTotp": "TokenPublic",
    "MfaWebAuthn": "TokenPublic",
}  # fmt: skip


def type_name(case: Case) -> str:
    return RESPONSES.get(case.message, "")


def test_every_route_with_a_json_body_is_documented_and_covered(api_url: str) -> None:
    document = httpx.get(f"{api_url}/openapi.json").json()
    documented = {
        (method.upper(), path): media[PROTOBUF]["schema"]["description"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if PROTOBUF in (media := operation.get("requestBody", {}).get("content", {}))
        and "application/json" in media
    }
    covered = {(c.method, c.path): f"postwise.v1.{c.message}" for c in CASES}
    assert documented.pop(("POST", "/v1/messages")).startswith("postwise.v1.MessageCreate")
    assert documented == covered


def test_a_protobuf_body_of_another_message_or_broken_is_refused(setup: Setup) -> None:
    body = as_protobuf(CASES[0], CASES[0].body(setup, "x"))
    other = setup.owner.post(
        "/v1/templates",
        content=body,
        headers={"content-type": f"{PROTOBUF}; proto=postwise.v1.CampaignCreate"},
    )
    broken = setup.owner.post(
        "/v1/templates", content=b"\xff\xff\xff", headers={"content-type": PROTOBUF}
    )

    assert (other.status_code, other.json()["code"]) == (415, "unsupported_media_type")
    assert (broken.status_code, broken.json()["code"]) == (422, "invalid_body")
