"""reparameterization page (in progress)."""
import streamlit as st

st.title("reparameterization")
st.info("This page is being built.")
