"""Compare: two models side by side on the same images (the first model's data set): their
maps, manifold grids, reconstructions and active units."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.compare import cached_view, model_column, originals_strip, shared_images
from ui.loaders import available_models, class_names, load_model, model_dataset
from ui.picker import model_label
from ui.plain import plain
from ui.state import model_or_notice
from vae_core import CheckpointError

OTHER_KEY = "compare_other"
COUNT_KEY = "compare_count"

st.title("Compare")
ckpt = model_or_notice()
if ckpt is None:
    st.stop()
data = model_dataset(ckpt)
if data is None:
    st.info(f"The images of {ckpt.path.stem}'s data set are not on this machine: pick a model whose data is here.")
    st.stop()
models = available_models()
others = [p for p, entry in models.items() if p != str(ckpt.path)
          and entry.meta is not None and entry.meta.image_shape == ckpt.config.image_shape]
if not others:
    st.info("No other model takes images of this size: train one on the Train page.")
    st.stop()
if st.session_state.get(OTHER_KEY) not in others:
    st.session_state[OTHER_KEY] = others[0]
top = st.columns([3, 1])
other_path = top[0].selectbox("Compare with", others, key=OTHER_KEY,
                             format_func=lambda p: model_label(models[p]))
count = top[1].select_slider("Shared images", [500, 1000, 2000, 5000], value=1000, key=COUNT_KEY)
try:
    other = load_model(other_path)
except (CheckpointError, OSError) as err:
    st.error(f"{Path(other_path).stem} cannot be loaded: {err}")
    st.stop()
images, labels = shared_images(data, count)
st.caption(f"Both models encode the same {len(images):,} images of {data.name} (spread evenly over the data set).")
st.image(originals_strip(images), caption="The first shared images; each model's reconstructions of them are below",
         output_format="PNG")
names = class_names(ckpt, labels)
for column, model, key in zip(st.columns(2, gap="medium"), (ckpt, other), ("compare_a", "compare_b")):
    with column:
        model_column(model.path.stem, plain(model_label(models[str(model.path)])), cached_view(model, data, images),
                     labels, names, key)
