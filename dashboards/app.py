"""The dashboards' entry file: ``streamlit run dashboards/app.py`` (``postwise up`` starts
it). Without a viewer only the login page exists; with one, the sidebar filters are drawn
here, before the page runs, so every page shares them."""

import streamlit as st

from dashboards.cache import current_sources
from dashboards.filters import sidebar_filters
from dashboards.gate import current_viewer, login_page, logout
from dashboards.sources import DashboardError

PAGES = [
    ("pages/overview.py", "Overview", ":material/dashboard:"),
    ("pages/deliverability.py", "Deliverability", ":material/local_shipping:"),
    ("pages/engagement.py", "Engagement", ":material/ads_click:"),
    ("pages/models.py", "Models", ":material/model_training:"),
    ("pages/anomalies.py", "Anomalies", ":material/warning:"),
    ("pages/compliance.py", "Compliance", ":material/verified_user:"),
]

st.set_page_config(page_title="Postwise", page_icon=":material/mail:", layout="wide")

try:
    sources = current_sources()
except DashboardError as exc:
    st.error(str(exc))
    st.stop()

viewer = current_viewer()
if viewer is None:
    st.navigation([st.Page(login_page, title="Log in", icon=":material/login:")]).run()
    st.stop()

page = st.navigation([st.Page(path, title=title, icon=icon) for path, title, icon in PAGES])
st.sidebar.caption(f"{viewer.email} · {viewer.role} · read-only")
if st.sidebar.button("Log out", key="logout"):
    logout()
sidebar_filters(viewer.org_id, sources.regions)
page.run()
