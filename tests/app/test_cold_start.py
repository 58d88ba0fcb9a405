"""A freshly started server's first visit to the home page draws it without loading torch
(ui.warmup): the text and the navigation at once, the model once the modules are in."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# In a fresh interpreter, as a fresh server is: the first run of app.py, with the background
# loading held back so that nothing else can have imported torch meanwhile.
FIRST_RUN = """
import sys
from streamlit.testing.v1 import AppTest
import ui.warmup
ui.warmup.WarmUp.start = lambda self: None
at = AppTest.from_file("app.py", default_timeout=60).run()
assert not at.exception, at.exception
assert at.title[0].value.startswith("Variational autoencoders"), at.title
assert any("Loading the models" in c.value for c in at.sidebar.caption), "no word on the model being loaded"
heavy = sorted(m for m in ("torch", "vae_core", "ui.picker", "ui.loaders", "scipy") if m in sys.modules)
assert not heavy, f"the first run imported {heavy}"
print("ok")
"""


def test_the_first_run_draws_the_home_page_without_torch() -> None:
    out = subprocess.run([sys.executable, "-c", FIRST_RUN], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
