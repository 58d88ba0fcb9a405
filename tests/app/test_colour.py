"""Pages on a colour model of the shapes: MIG in the card and on Explore, labelled traversals,
colour manifold, map thumbnails and photo uploads."""
from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from .helpers import open_app_page
from vae_core import ModelConfig, TrainConfig, load_checkpoint
from vae_core.data import load_shapes
from vae_core.training import Trainer

N_SHAPES = 96


@pytest.fixture(scope="module")
def shapes_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-D colour conv model trained for one epoch on a few shapes, saved with codes and MIG."""
    data = load_shapes(N_SHAPES)
    trainer = Trainer(
        ModelConfig(arch="conv", image_shape=(3, 64, 64), latent_dim=2, hidden_dim=32),
        TrainConfig(dataset="shapes", dataset_size=N_SHAPES, epochs=1, batch_size=32, device="cpu"), data,
    )
    for _ in trainer.run():
        pass
    return trainer.save(tmp_path_factory.mktemp("shapes") / "shapes-2d")


def _open(page: str, weights: Path, tab: str | None = None) -> AppTest:
    """The model copied into this test's user folder (the picker offers only shipped and user models)."""
    user = Path(os.environ["VAE_EXPLORER_USER_DIR"])
    shutil.copy(weights, user / "shapes-2d.safetensors")  # a checkpoint is one file
    at = open_app_page(page, weights=user / "shapes-2d.safetensors")
    if tab is not None:
        at.session_state["explore_tab"] = tab
        at.run()
    assert not at.exception
    return at


def test_explore_traversal_shows_mig_and_labels_each_row(shapes_model: Path) -> None:
    at = _open("pages/explore.py", shapes_model, "Traversal")
    mig = [m.value for m in at.markdown if m.value.startswith("**MIG**")]
    assert len(mig) == 1 and "Chen et al. 2018" in mig[0] and "±" in mig[0]
    found = load_checkpoint(shapes_model).metadata.disentanglement
    assert found is not None
    assert f"{found.mig:.3f} ± {found.mig_se:.3f}" in mig[0]
    table = at.dataframe[0].value
    assert list(table["factor"]) == ["shape", "hue", "scale", "rotation", "x", "y"]
    assert list(table["± s.e."]) == pytest.approx(found.gaps_se)  # each factor's gap carries its error
    captions = [img.captions[0] for img in at.image]
    assert len(captions) == 2 and all(" · explains " in c for c in captions)
    assert captions[0].endswith(found.dim_label(int(captions[0][2])))


def test_manifold_grid_decodes_in_colour(shapes_model: Path) -> None:
    at = _open("pages/explore.py", shapes_model, "Manifold")
    at.slider(key="grid_n").set_value(5).run()
    assert not at.exception and "5 × 5" in at.image[0].captions[0]


def test_the_map_shows_a_shape_in_colour_for_a_click(shapes_model: Path) -> None:
    from .test_latent_map import click

    at = click(_open("pages/latent_map.py", shapes_model), (0.0, 0.0), index=3)
    assert at.image[1].captions[0].endswith("its image")


def test_a_colour_upload_is_cropped_not_inked(shapes_model: Path) -> None:
    photo = np.full((90, 120, 3), 240, np.uint8)
    photo[30:60, 45:75] = (200, 20, 20)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "PNG")
    at = _open("pages/encode.py", shapes_model)
    assert not at.radio  # no ink-colour control for a colour model
    at.file_uploader(key="upload").set_value([("photo.png", buffer.getvalue(), "image/png")]).run()
    assert not at.exception
    captions = [c for img in at.image for c in img.captions]
    assert {"original", "centred square", "final 64×64", "decode(mu)"} <= set(captions)
    assert "grayscale" not in captions


def test_the_model_card_says_what_mig_is(shapes_model: Path) -> None:
    _open("pages/home.py", shapes_model)  # puts the model in the user folder
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
    at.session_state["model_path"] = str(Path(os.environ["VAE_EXPLORER_USER_DIR"]) / "shapes-2d.safetensors")
    at.run()  # app.py draws the card in the sidebar
    assert not at.exception
    assert any(m.value.startswith("**MIG**") for m in at.sidebar.markdown)
    assert any("64×64 RGB" in m.value for m in at.sidebar.markdown)
