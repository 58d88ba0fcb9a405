"""The Encode page's pieces that both of its inputs, uploaded files and the drawing pad, show:
the preprocessing steps, the novelty note beside the label guess, the hand-off buttons, and
the nearest data codes."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from vae_core import Checkpoint
from vae_core.encoding import Neighbours, label_name
from vae_core.images import PhotoSteps, PreprocessSteps
from vae_core.inference import decode_latents, to_display

from .images import crisp
from .loaders import model_codes, model_dataset, model_novelty
from .state import EXPLORE, REPARAMETERIZATION, send_to

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

STEP_PX = 112  # each preprocessing step and each small image is shown about this wide


def show_steps(steps: PreprocessSteps | PhotoSteps, size: int) -> None:
    """Each stage of the preprocessing, small, side by side."""
    if isinstance(steps, PhotoSteps):  # a colour model: the photo's centred square, resized
        for col, name, image in zip(st.columns(6), ("original", "centred square", f"final {size}×{size}"),
                                    (steps.original, steps.cropped, steps.final)):
            col.image(crisp(image, STEP_PX), caption=name, width=STEP_PX)
        return
    names = [
        "original", "grayscale", "inverted" if steps.inverted else "not inverted", "cropped", "squared",
        f"final {size}×{size}",
    ]
    # the crop and the fitted square touch the ink: a black margin keeps white strokes off the white page
    cropped, squared = (np.pad(image, max(1, max(image.shape) // 16)) for image in (steps.cropped, steps.squared))
    images = [steps.original, steps.grayscale, steps.oriented, cropped, squared, steps.final]
    for col, name, image in zip(st.columns(len(images)), names, images):
        col.image(crisp(image, STEP_PX), caption=name, width=STEP_PX)


def send_buttons(mu: np.ndarray, log_var: np.ndarray, image: np.ndarray, name: str) -> None:
    """One click hands the code, with its q(z|x) and image, to another page and opens it there."""
    explore, reparam = st.columns(2)
    for col, label, page, key in (
        (explore, "Send to Explore", EXPLORE, "send_explore"),
        (reparam, "Send to Reparameterization", REPARAMETERIZATION, "send_reparam"),
    ):
        if col.button(label, key=key, icon=":material/send:", width="stretch"):
            send_to(page, mu, name, image=image, mu=mu, log_var=log_var)


def novelty_note(column: DeltaGenerator, ckpt: Checkpoint, recon_error: float) -> None:
    """Beside the label guess: does the input look like the training data at all?"""
    threshold = model_novelty(ckpt)
    if threshold is None:
        column.caption("Whether this looks like the training data cannot be checked: the data set is not here.")
    elif threshold.unlike_data(recon_error):
        column.warning(
            f"**Unlike the training data**: its reconstruction error is above that of {threshold.quantile:.0%} "
            f"of {threshold.n:,} data images ({threshold.value:.1f} nats), so the label guess means little.",
            icon=":material/warning:",
        )
    else:
        column.caption(f"Like the training data: reconstructed as well as {threshold.quantile:.0%} of its images "
                       f"(error under {threshold.value:.1f} nats).")


def show_neighbours(ckpt: Checkpoint, neighbours: Neighbours, row: int, names: tuple[str, ...]) -> None:
    """The data codes nearest to row's mu, with their images (or their decoded codes)."""
    st.subheader("Nearest neighbours in the data set")
    index = neighbours.index[row]
    data = model_dataset(ckpt)
    mu_data = model_codes(ckpt).mu
    if data is not None and len(data) == len(mu_data):
        images, how = to_display(data.floats(index)), "their images"
    else:
        images, how = decode_latents(ckpt.model, mu_data[index]), "decoded from their mu (the data set is not on this machine)"
    for col, image, label, distance in zip(
        st.columns(len(index)), images, neighbours.labels[row], neighbours.distance[row]
    ):
        col.image(crisp(image, STEP_PX), caption=f"{label_name(label, names)} · d = {distance:.2f}", width=STEP_PX)
    st.caption(f"The {len(index)} data-set codes whose mu is closest (Euclidean) to this mu; {how}.")
