"""anomalies."""

import streamlit as st

st.title("Anomalies")
