"""vae-explorer: entry point. A router and a frame: the model picker, then the chosen page."""
from __future__ import annotations

import os

# Streamlit runs every script run, fragment reruns included, in a fresh thread. oneDNN's
# convolutions start an OpenMP team sized by the thread's own OpenMP setting, which a fresh
# thread takes from OMP_NUM_THREADS, not from torch.set_num_threads: with the default (all
# cores) each slider move paid more to build and tear down a team than to decode (figures in
# docs/design-decisions.md). OpenMP reads the variable once, when torch loads it, so this line comes before `import torch`.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import streamlit as st  # noqa: E402

from ui.errors import report_unexpected  # noqa: E402
from ui.style import apply_style  # noqa: E402
from ui.warmup import rerun_when_loaded, warm_up  # noqa: E402

# An emoji icon: Streamlit draws it as an inline SVG, whereas a :material/...: icon is fetched from
# a font host, and nothing may leave the machine.
st.set_page_config(page_title="vae-explorer", page_icon="🧭", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/latent_map.py", title="Latent map", icon=":material/scatter_plot:"),
    st.Page("pages/explore.py", title="Explore", icon=":material/tune:"),
    st.Page("pages/reparameterization.py", title="Reparameterization", icon=":material/casino:"),
    st.Page("pages/encode.py", title="Encode", icon=":material/upload:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
]

page = st.navigation(PAGES)
warm = warm_up()
if warm.pending and (page is not PAGES[0] or st.query_params):  # only the plain home page goes ahead
    with st.spinner("Loading the models (the server has just started)…"):
        warm.wait()
apply_style()

if warm.pending:
    # A fresh server's first visit: the home page's text and the navigation now, the model
    # once torch and the app's modules have loaded in the background (ui.warmup).
    with st.sidebar:
        rerun_when_loaded()
    report_unexpected(page.run)
    warm.start()
else:
    import torch

    from ui.picker import model_picker
    from ui.sessions import start_upload_janitor
    from ui.state import CHECKPOINT_KEY, PAGE_PARAM

    # Our models are tiny: one intra-op thread per script run avoids waking a sleeping worker for
    # every small op, which on a 2-core machine with training in the background made decodes
    # erratic (bench/training_responsiveness.py prints both; docs/design-decisions.md).
    torch.set_num_threads(1)
    start_upload_janitor()

    linked = st.query_params.get(PAGE_PARAM)  # a deep link that a fresh server ran without this frame
    if linked is not None:
        params = {k: v for k, v in st.query_params.to_dict().items() if k != PAGE_PARAM}
        target = next((p for p in PAGES if p.url_path == linked), None)
        if target is not None and target.url_path != page.url_path:
            st.switch_page(target, query_params=params)
        st.query_params.from_dict(params)

    def _frame_and_page() -> None:
        st.session_state[CHECKPOINT_KEY] = model_picker()
        page.run()

    report_unexpected(_frame_and_page)
