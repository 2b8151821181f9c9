"""engagement."""

import streamlit as st

st.title("Engagement")
