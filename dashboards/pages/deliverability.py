"""deliverability."""

import streamlit as st

st.title("Deliverability")
