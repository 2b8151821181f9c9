"""Logging in to the dashboards: through the API's own login, so its lockout, throttling,
login-risk checks and second factors apply here too, and a removed user or a revoked
session stops working within ``DASHBOARD_SESSION_CHECK_SECONDS``.

The dashboards keep the viewer's tokens server-side (in the Streamlit session), learn who
it is from ``GET /v1/me`` and show only that organization's data, read-only, whatever the
role (owners, campaign managers and analysts alike).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

import httpx

TIMEOUT_SECONDS = 10.0


class LoginError(Exception):
    """A login the API refused; ``code`` and ``detail`` are the API's."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class SecondFactorRequired(LoginError):
    """The password was right; the API wants a second factor (``methods``) next."""

    def __init__(self, detail: str, mfa_token: str, methods: list[str]) -> None:
        super().__init__("mfa_required", detail)
        self.mfa_token = mfa_token
        self.methods = methods


@dataclass(frozen=True)
class Viewer:
    """Who is looking: their organization and role, as the API told."""

    email: str
    org_id: uuid.UUID
    role: str
    subject: str
    home_region: str
    access_token: str
    refresh_token: str
    checked_at: float  # time.monotonic() of the last confirmation by the API


class ApiLogin:
    """The API's login endpoints, from the dashboards' server."""

    def __init__(self, api_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self._client = httpx.Client(base_url=api_url, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def login(self, email: str, password: str, org: str | None = None) -> Viewer:
        """Email and password; raises :class:`SecondFactorRequired` when a code is due."""
        body = {"email": email, "password": password, **({"org": org} if org else {})}
        return self._viewer(email, self._post("/v1/auth/login", body))

    def prove_totp(self, email: str, mfa_token: str, code: str) -> Viewer:
        """Finish a login with the code of the user's authenticator app."""
        tokens = self._post("/v1/auth/mfa/totp", {"mfa_token": mfa_token, "code": code})
        return self._viewer(email, tokens)

    def confirm(self, viewer: Viewer) -> Viewer | None:
        """The viewer, re-confirmed by the API (refreshing an expired access token), or None
        when the session no longer holds (user removed, tokens revoked)."""
        me = self._client.get("/v1/me", headers=_bearer(viewer.access_token))
        if me.status_code == 401:
            refreshed = self._client.post(
                "/v1/auth/refresh", json={"refresh_token": viewer.refresh_token}
            )
            if refreshed.status_code != 200:
                return None
            tokens = refreshed.json()
            viewer = replace(
                viewer,
                access_token=tokens["access_token"],
                refresh_token=tokens["refresh_token"],
            )
            me = self._client.get("/v1/me", headers=_bearer(viewer.access_token))
        if me.status_code != 200:
            return None
        identity = me.json()
        if uuid.UUID(identity["org_id"]) != viewer.org_id:
            return None
        return replace(viewer, role=identity["role"], checked_at=time.monotonic())

    def logout(self, viewer: Viewer) -> None:
        """Revoke the viewer's tokens (best effort: they expire anyway)."""
        try:
            self._client.post(
                "/v1/auth/logout",
                json={"refresh_token": viewer.refresh_token},
                headers=_bearer(viewer.access_token),
            )
        except httpx.HTTPError:
            pass  # the session ends here either way; the tokens run out on their own

    def _post(self, path: str, body: dict[str, str]) -> dict[str, str]:
        try:
            answer = self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise LoginError("api_unreachable", f"the Postwise API did not answer: {exc}") from exc
        payload: dict[str, Any] = _json(answer)
        if answer.status_code == 200:
            return payload
        if payload.get("code") == "mfa_required":
            methods: list[str] = list(payload.get("methods") or [])
            raise SecondFactorRequired(
                str(payload.get("detail", "")), str(payload["mfa_token"]), list(methods)
            )
        code = str(payload.get("code", f"http_{answer.status_code}"))
        detail = str(payload.get("detail", answer.text[:200] or answer.reason_phrase))
        if answer.status_code == 423 or answer.status_code == 429:
            retry = answer.headers.get("retry-after")
            detail = f"{detail} (retry in {retry} s)" if retry and retry not in detail else detail
        raise LoginError(code, detail)

    def _viewer(self, email: str, tokens: dict[str, str]) -> Viewer:
        me = self._client.get("/v1/me", headers=_bearer(tokens["access_token"]))
        if me.status_code != 200:
            raise LoginError(
                "login_failed", f"the API did not confirm the login ({me.status_code})"
            )
        identity = me.json()
        return Viewer(
            email=email,
            org_id=uuid.UUID(identity["org_id"]),
            role=identity["role"],
            subject=identity["subject"],
            home_region=identity["home_region"],
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            checked_at=time.monotonic(),
        )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        payload = answer.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
