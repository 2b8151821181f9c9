"""Logging in to the dashboards through the real API: a wrong password is refused with the
API's words, an analyst gets their organization's Overview, a TOTP user gets the code step,
a removed user is logged out at the next re-check, and the dashboards' connections refuse
to write."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pyotp
import pytest
from dashboard_kit import APP, metric, sum_over_regions
from login_kit import add_user, enrol_account_totp, new_org
from streamlit.testing.v1 import AppTest

from dashboards.auth import Viewer
from dashboards.cache import current_sources
from dashboards.widgets import count_text
from postwise.settings import Settings
from serving.auth.users import disable_user
from warehouse.db import Cells

TIMEOUT = 120
API_USER_CACHE_SECONDS = 15  # bound on the API forgetting a removed user (it caches 5 s)
SENDS = """
SELECT sum(sent) FROM marts.campaign_daily
WHERE org_id = %(org)s AND queued_date BETWEEN %(start)s AND %(end)s
"""


def login_form(at: AppTest, email: str, password: str) -> AppTest:
    """Fill the login form and submit it."""
    at.text_input(key="login_email").input(email)
    at.text_input(key="login_password").input(password)
    submit = [b for b in at.button if b.label == "Log in"]
    assert submit, f"no Log in button; buttons: {[b.label for b in at.button]}"
    submit[0].click().run()
    return at


def fresh_app(**session: Any) -> AppTest:
    """The app before anybody logged in, with ``session`` put in its session state."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for name, value in session.items():
        at.session_state[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def viewer_in(at: AppTest) -> Viewer | None:
    viewer = at.session_state["viewer"] if "viewer" in at.session_state else None
    return viewer if isinstance(viewer, Viewer) else None


def test_a_wrong_password_shows_the_apis_refusal_and_no_viewer(
    cells: Cells, login_settings: Settings
) -> None:
    account = add_user(cells, new_org(cells))
    at = login_form(fresh_app(), account.email, account.password + "x")
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Login refused: ") for w in warnings), warnings
    assert viewer_in(at) is None
    assert not at.metric  # no page of data was drawn
    assert [t.value for t in at.title] == ["Postwise"]


def test_an_analyst_logs_in_and_sees_their_organizations_overview(
    marts_history: Any, cells: Cells, login_settings: Settings
) -> None:
    org = marts_history.result.org_id
    start = marts_history.result.start.date() + timedelta(days=30)
    end = marts_history.result.end.date()
    account = add_user(cells, org)
    at = login_form(fresh_app(filter_days=(start, end)), account.email, account.password)
    assert not at.exception, at.exception

    viewer = viewer_in(at)
    assert viewer is not None
    assert (viewer.org_id, viewer.role, viewer.email) == (org, "analyst", account.email)
    assert viewer.subject == f"user:{account.user_id}"
    sent = sum_over_regions(cells, SENDS, {"org": org, "start": start, "end": end})[0]
    assert sent > 1000
    assert metric(at, "Sends") == count_text(sent)
    assert any("analyst · read-only" in c.value for c in at.sidebar.caption)


def test_a_user_with_a_totp_factor_gets_the_code_step_and_gets_in(
    marts_history: Any, cells: Cells, login_settings: Settings, dashboard_api_url: str
) -> None:
    org = new_org(cells)
    account = add_user(cells, org)
    authenticator = enrol_account_totp(dashboard_api_url, account)

    at = login_form(fresh_app(), account.email, account.password)
    assert not at.exception, at.exception
    assert viewer_in(at) is None
    assert [i.label for i in at.text_input] == ["Code from your authenticator app"]

    wrong = f"{(int(pyotp.TOTP(authenticator.secret).now()) + 500_000) % 1_000_000:06d}"
    at.text_input(key="login_code").input(wrong)
    [b for b in at.button if b.label == "Verify"][0].click().run()
    assert any(w.value.startswith("Code refused: ") for w in at.warning), at.warning
    assert viewer_in(at) is None

    at.text_input(key="login_code").input(authenticator.code())
    [b for b in at.button if b.label == "Verify"][0].click().run()
    assert not at.exception, at.exception
    viewer = viewer_in(at)
    assert viewer is not None and viewer.org_id == org
    assert "pending_factor" not in at.session_state
    assert metric(at, "Sends") == count_text(0)  # a new organization has sent nothing


def test_a_removed_user_is_logged_out_at_the_next_check(
    marts_history: Any, cells: Cells, login_settings: Settings, dashboard_api_url: str
) -> None:
    org = new_org(cells)
    account = add_user(cells, org)
    viewer = viewer_in(login_form(fresh_app(), account.email, account.password))
    assert viewer is not None

    # Each check below is a new run of the entry file with the session's viewer (AppTest
    # runs only the page once a rerun switched to it, so the gate would not run again).
    due = time.monotonic() - 3600
    confirmed = viewer_in(fresh_app(viewer=replace(viewer, checked_at=due)))
    assert confirmed is not None and confirmed.checked_at > time.monotonic() - 60

    with cells.connection("control") as conn:
        assert disable_user(conn, org, account.user_id)
    deadline = time.monotonic() + API_USER_CACHE_SECONDS
    while True:  # the API caches who a user is for a few seconds
        me = httpx.get(
            f"{dashboard_api_url}/v1/me",
            headers={"Authorization": f"Bearer {confirmed.access_token}"},
        )
        if me.status_code == 401 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert me.status_code == 401, me.text

    not_due = fresh_app(viewer=confirmed)  # checked a moment ago: no new check yet
    assert viewer_in(not_due) is not None

    at = fresh_app(viewer=replace(confirmed, checked_at=time.monotonic() - 3600))
    assert viewer_in(at) is None
    assert [t.value for t in at.title] == ["Postwise"]
    assert not at.metric


def test_the_dashboards_connections_refuse_to_write(
    cells: Cells, settings: Settings, database_server_url: str, login_settings: Settings
) -> None:
    with (
        Cells.from_settings(settings, database_server_url, read_only=True) as read_only,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
        read_only.connection("control") as conn,
    ):
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, 'x', %s, 'eu')",
            (uuid.uuid4(), f"ro-{uuid.uuid4().hex[:8]}"),
        )
    sources = current_sources()
    assert sources.cells.read_only
    for cell in ("control", *sources.regions):
        with (
            pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
            sources.cells.connection(cell) as conn,
        ):
            conn.execute("CREATE TABLE dashboards_must_not_write (x int)")
