"""latent_map page (in progress)."""
import streamlit as st

st.title("latent_map")
st.info("This page is being built.")
