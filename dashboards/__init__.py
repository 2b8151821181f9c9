"""Streamlit dashboards for marketers: one entry file with st.navigation, page modules and read-
only query modules.
"""
