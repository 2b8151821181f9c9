"""The login gate: the form, the second-factor step, the periodic re-check with the API,
and logging out. The viewer lives in ``st.session_state["viewer"]`` (server-side)."""

from __future__ import annotations

import time

import streamlit as st

from .auth import ApiLogin, LoginError, SecondFactorRequired, Viewer
from .cache import current_sources

VIEWER = "viewer"
PENDING_FACTOR = "pending_factor"  # (email, mfa_token) between password and code


def current_viewer() -> Viewer | None:
    """The logged-in viewer, re-confirmed with the API when the last check is old; None
    (and the session forgotten) when the API no longer vouches for it."""
    viewer = st.session_state.get(VIEWER)
    if not isinstance(viewer, Viewer):
        return None
    sources = current_sources()
    if time.monotonic() - viewer.checked_at < sources.session_check_seconds:
        return viewer
    api = ApiLogin(sources.api_url)
    try:
        confirmed = api.confirm(viewer)
    except Exception:  # noqa: BLE001 - an unreachable API ends the session: fail closed
        confirmed = None
    finally:
        api.close()
    if confirmed is None:
        del st.session_state[VIEWER]
        return None
    st.session_state[VIEWER] = confirmed
    return confirmed


def login_page() -> None:
    """Email and password, then (when the API asks) the authenticator code."""
    st.title("Postwise")
    st.caption("Log in with your Postwise account.")
    pending = st.session_state.get(PENDING_FACTOR)
    api = ApiLogin(current_sources().api_url)
    try:
        if pending is None:
            _password_form(api)
        else:
            _code_form(api, *pending)
    finally:
        api.close()


def _password_form(api: ApiLogin) -> None:
    with st.form("login"):
        email = st.text_input("Email", key="login_email")
        password = st.text_input("Password", type="password", key="login_password")
        org = st.text_input("Organization (only if your address has several)", key="login_org")
        submitted = st.form_submit_button("Log in")
    if not submitted:
        return
    if not email or not password:
        st.warning("Enter your email and password.")
        return
    try:
        viewer = api.login(email.strip(), password, org.strip() or None)
    except SecondFactorRequired as needed:
        if "totp" not in needed.methods:
            st.warning(
                "Your account's second factor is a security key, which the dashboards cannot "
                "use yet; add an authenticator app to your account."
            )
            return
        st.session_state[PENDING_FACTOR] = (email.strip(), needed.mfa_token)
        st.rerun()
    except LoginError as refused:
        st.warning(f"Login refused: {refused.detail}")
        return
    _enter(viewer)


def _code_form(api: ApiLogin, email: str, mfa_token: str) -> None:
    with st.form("second_factor"):
        code = st.text_input("Code from your authenticator app", key="login_code")
        submitted = st.form_submit_button("Verify")
    if st.button("Start over"):
        del st.session_state[PENDING_FACTOR]
        st.rerun()
    if not submitted:
        return
    try:
        viewer = api.prove_totp(email, mfa_token, code.strip())
    except LoginError as refused:
        st.warning(f"Code refused: {refused.detail}")
        return
    del st.session_state[PENDING_FACTOR]
    _enter(viewer)


def _enter(viewer: Viewer) -> None:
    st.session_state[VIEWER] = viewer
    st.rerun()


def logout() -> None:
    """Revoke the tokens and forget the viewer."""
    viewer = st.session_state.pop(VIEWER, None)
    if isinstance(viewer, Viewer):
        api = ApiLogin(current_sources().api_url)
        try:
            api.logout(viewer)
        finally:
            api.close()
    st.rerun()
