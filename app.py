"""vae-explorer: entry point. A router and a frame: the model picker, then the chosen page."""
from __future__ import annotations

import streamlit as st

from pages.common import model_picker

st.set_page_config(page_title="vae-explorer", page_icon="🧭", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/train.py", title="Train", icon="🏋️"),
    st.Page("pages/latent_map.py", title="Latent map", icon="🗺️"),
    st.Page("pages/explore.py", title="Explore", icon="🎛️"),
    st.Page("pages/reparameterization.py", title="Reparameterization", icon="🎲"),
    st.Page("pages/encode.py", title="Encode", icon="📤"),
]

page = st.navigation(PAGES)
st.session_state["_checkpoint"] = model_picker()
page.run()
