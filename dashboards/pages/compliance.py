"""compliance."""

import streamlit as st

st.title("Compliance")
