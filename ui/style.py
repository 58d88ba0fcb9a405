"""One stylesheet for the whole app: what Streamlit's own layout clips or squeezes on a
laptop's half screen (800 px) or a phone (390 px).

- Formulas scroll sideways instead of being cut off ("3.03297 na").
- Metrics, button labels, the sidebar picker's value and its options wrap instead of ending in
  "…" ("Worked exa…" in a narrow column at 800 px). The options
  are divs in fixed 40 px rows (a virtual list), so they wrap onto two smaller lines.
- Columns inside a container whose key starts with "stack-" stack when the main area is
  narrower than STACK_PX: a map beside its decoded image shrank to 136 px at 800.
  A container query, not a media query: the main area's width is what counts, and it
  depends on whether the sidebar is open, not only on the window.
- On a phone, page titles are one size smaller: "Reparameterization" broke mid-word at 390 px.
  The open sidebar (an overlay there) takes the whole width and the picker's text is smaller: its
  chosen value is a text field, which cannot wrap, and was cut after "2-d" at 390 px. A name
  too long even so is shown in full in the caption under it. Only while it is open (its expand
  button is gone): closed, it slides away by its own 300 px and a wider one stayed in view.
- A chart left from the previous run is hidden while a progress bar stands beside it (a map
  being fitted): Streamlit keeps a keyed element, faded but clickable, until the run ends,
  and a click on a map about to be replaced would be lost.
"""
from __future__ import annotations

import streamlit as st

STACK_PX = 760
TITLE_PX = 480  # a phone: page titles one size smaller, so "Reparameterization" is not broken mid-word
STACK_PREFIX = "stack-"

CSS = f"""
[data-testid="stMain"] {{ container-type: inline-size; container-name: vae-main; }}
[data-testid="stMarkdownContainer"] .katex-display {{ overflow-x: auto; overflow-y: hidden; padding: 2px 0; }}
[data-testid="stMetricValue"] > div, [data-testid="stMetricLabel"] p, [data-testid="stMetricDelta"] > div {{
  white-space: normal; overflow-wrap: anywhere; text-overflow: clip;
}}
[data-testid^="stBaseButton"] [data-testid="stMarkdownContainer"], [data-testid^="stBaseButton"] p {{
  white-space: normal; overflow-wrap: anywhere; text-overflow: clip;
}}
[data-testid="stSidebar"] [data-baseweb="select"] div {{ white-space: normal; overflow: visible; text-overflow: clip; }}
[data-testid="stSelectboxVirtualDropdown"] [role="option"], [data-testid="stSelectboxVirtualDropdown"] [role="option"] * {{
  white-space: normal !important; overflow-wrap: anywhere; text-overflow: clip !important;
  line-height: 1.15; font-size: 0.875rem;
}}
[data-testid="stSelectboxVirtualDropdown"] [role="option"] * {{ height: auto !important; overflow: visible !important; }}
[data-testid="stVerticalBlock"]:has(> [data-testid="stElementContainer"] [data-testid="stProgress"])
  > [data-testid="stElementContainer"][data-stale="true"]:has([data-testid="stPlotlyChart"]) {{ display: none; }}
@media (max-width: {TITLE_PX}px) {{
  [data-testid="stApp"]:not(:has([data-testid="stExpandSidebarButton"])) [data-testid="stSidebar"] {{
    width: 100vw !important; min-width: 100vw !important; max-width: 100vw !important;
  }}
  [data-testid="stSidebar"] [data-testid="stSelectbox"] input {{ font-size: 0.75rem !important; }}
}}
@container vae-main (max-width: {TITLE_PX}px) {{ [data-testid="stMain"] h1 {{ font-size: 2rem !important; }} }}
@container vae-main (max-width: {STACK_PX}px) {{
  [class*="st-key-{STACK_PREFIX}"] [data-testid="stHorizontalBlock"] {{ flex-wrap: wrap; }}
  [class*="st-key-{STACK_PREFIX}"] [data-testid="stColumn"] {{ flex: 1 1 100% !important; min-width: 100% !important; }}
}}
"""


def apply_style() -> None:
    """Add the stylesheet to this run's page (app.py calls it before every page)."""
    st.html(f"<style>{CSS}</style>")


def stacking(name: str) -> st.delta_generator.DeltaGenerator:
    """A container whose columns stack when the main area is narrow (see the module's note)."""
    return st.container(key=f"{STACK_PREFIX}{name}")
