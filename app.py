"""vae-explorer: entry point. A router and a frame: the model picker, then the chosen page."""
from __future__ import annotations

import streamlit as st

from pages.common import model_picker

st.set_page_config(page_title="vae-explorer", page_icon=":material/explore:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/latent_map.py", title="Latent map", icon=":material/scatter_plot:"),
    st.Page("pages/explore.py", title="Explore", icon=":material/tune:"),
    st.Page("pages/reparameterization.py", title="Reparameterization", icon=":material/casino:"),
    st.Page("pages/encode.py", title="Encode", icon=":material/upload:"),
]

page = st.navigation(PAGES)
st.session_state["_checkpoint"] = model_picker()
page.run()
