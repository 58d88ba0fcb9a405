"""The Encode page: uploads (AppTest simulates st.file_uploader), the batch table, bad files, hand-off."""
from __future__ import annotations

import functools
import io
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from .helpers import open_app_page, plotly_values

from ui.state import HANDOFF_KEY
from vae_core import DataError, load_checkpoint
from vae_core.encoding import encode_uploads
from vae_core.images import MAX_UPLOAD_BYTES

REPO = Path(__file__).resolve().parents[2]
PAGE = "pages/encode.py"


open_page = functools.partial(open_app_page, PAGE)


def digit_png(strokes: tuple[tuple[int, int, int, int], ...] = ((20, 20, 80, 20), (78, 20, 40, 90))) -> bytes:
    """Dark strokes on white paper, as a phone photo of a drawing would be: a 7 by default."""
    img = Image.new("RGB", (100, 110), "white")
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        draw.line(stroke, fill="black", width=9)
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.file_uploader(key="upload").set_value([(name, data, "image/png") for name, data in files]).run()
    assert not at.exception
    return at


def table(at: AppTest) -> list[dict]:
    """The batch table's rows; an empty cell reads back as None (Arrow turns None into NaN)."""
    frame = at.dataframe[0].value
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.get("image") for caption in image.captions]


def map_traces(at: AppTest) -> dict[str, np.ndarray]:
    """The latent map's traces (the last chart on the page): name -> points (n, 2)."""
    spec = json.loads(at.get("plotly_chart")[-1].proto.spec)
    return {trace["name"]: np.column_stack([plotly_values(trace["x"]), plotly_values(trace["y"])]) for trace in spec["data"] if "name" in trace}


def test_renders_without_an_upload() -> None:
    at = open_page()
    assert at.title[0].value == "Encode"
    uploader = at.file_uploader(key="upload")
    assert uploader.accept_multiple_files
    assert set(uploader.allowed_type) >= {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
    assert at.radio(key="invert_mode").value == "auto"
    assert not at.warning and not at.dataframe


def test_one_upload_shows_steps_posterior_reconstruction_and_neighbours() -> None:
    at = upload(open_page(), ("seven.png", digit_png()))
    [row] = table(at)
    assert row["file"] == "seven.png" and row["problem"] is None
    model = load_checkpoint(REPO / "checkpoints" / "digits-mlp-2d").model
    expected = encode_uploads(model, [("seven.png", digit_png())]).encoding
    assert row["KL (nats)"] == pytest.approx(float(expected.kl[0]), rel=1e-5)
    shown = captions(at)
    assert {"original", "grayscale", "inverted", "cropped", "squared", "final 8×8"} <= set(shown)
    assert "decode(mu)" in shown
    assert sum("d = " in c for c in shown) == 8  # the nearest neighbours, with their distances
    mu_table = at.dataframe[1].value
    np.testing.assert_allclose(mu_table["mu"], expected.mu[0], rtol=1e-5)
    assert any(metric.label == "Nearest data say" for metric in at.metric)
    # a 2-D model is its own map: mu at its coordinates, inside q's 2-sigma ellipse (axis-aligned: 2 sigma wide)
    traces = map_traces(at)
    np.testing.assert_allclose(traces["mu of seven.png"][0], expected.mu[0], rtol=1e-5)
    outline = traces["q(z|x), 2σ"]
    np.testing.assert_allclose(outline.max(0) - outline.min(0), 4 * np.exp(0.5 * expected.log_var[0]), rtol=1e-3)
    assert len(traces["z ~ q(z|x)"]) == 32


def test_a_broken_file_gets_a_reason_and_the_good_one_still_encodes() -> None:
    at = upload(open_page(), ("good.png", digit_png()), ("broken.png", b"\x89PNG\r\n\x1a\n\x00\x00garbage"))
    rows = table(at)
    assert [r["file"] for r in rows] == ["good.png", "broken.png"]
    assert rows[0]["problem"] is None and rows[0]["KL (nats)"] > 0 and rows[0]["nearest label"] is not None
    assert rows[1]["problem"] == "The image file is truncated or damaged." and rows[1]["KL (nats)"] is None
    assert [w.value for w in at.warning if "broken" in w.value] == ["broken.png: The image file is truncated or damaged."]
    assert at.selectbox(key="encode_pick").options == ["good.png"]
    # the session keeps working: new samples, another ink setting
    at.button(key="resample").click().run()
    assert not at.exception
    at.radio(key="invert_mode").set_value("off").run()
    assert not at.exception
    assert "ink colour" in table(at)[0]["problem"]  # dark ink on light paper, inversion forced off


def test_only_bad_files_say_so_without_a_detail_view() -> None:
    at = upload(open_page(), ("notes.png", b"hello"), ("blank.png", digit_png(())))
    assert len(at.warning) == 2 and at.error and "None of the files" in at.error[0].value
    assert not at.get("selectbox") or "encode_pick" not in [s.key for s in at.selectbox]


def test_a_batch_encodes_every_file_on_an_mnist_model() -> None:
    at = open_page("mnist-conv-16d")
    one = ((50, 10, 50, 100),)
    at = upload(at, ("seven.png", digit_png()), ("one.png", digit_png(one)), ("seven-again.png", digit_png()))
    rows = table(at)
    assert [r["problem"] for r in rows] == [None, None, None]
    assert rows[0]["KL (nats)"] == pytest.approx(rows[2]["KL (nats)"])  # same image, same batch row result
    assert "final 28×28" in captions(at)
    assert "q(z|x), 2σ" in map_traces(at)  # PCA by default: the projected ellipse
    assert any("W diag(σ²) Wᵀ" in c.value for c in at.caption)


@pytest.mark.parametrize(("method", "note"), [("tsne", "t-SNE is not linear"), ("umap", "UMAP is not linear")])
def test_a_neighbour_map_places_samples_and_draws_no_ellipse(method: str, note: str) -> None:
    at = open_page("digits-mlp-8d")
    at.session_state["encode_map"] = method
    at = upload(at, ("seven.png", digit_png()))
    traces = map_traces(at)
    assert "q(z|x), 2σ" not in traces and len(traces["z ~ q(z|x)"]) == 32
    assert any(note in c.value for c in at.caption)


def test_without_the_data_set_neighbours_are_decoded_from_their_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.encode_panels as panels

    monkeypatch.setattr(panels, "model_dataset", lambda ckpt: None)
    at = upload(open_page(), ("seven.png", digit_png()))
    assert sum("d = " in c for c in captions(at)) == 8
    assert any("decoded from their mu" in c.value for c in at.caption)


def test_without_any_codes_the_upload_still_encodes(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.loaders as loaders

    def no_codes(ckpt: object) -> None:
        raise DataError("this model stores no latent codes and its data set is not on this machine")

    monkeypatch.setattr(loaders, "model_codes", no_codes)
    at = upload(open_page(), ("seven.png", digit_png()))
    [row] = table(at)
    assert row["problem"] is None and row["KL (nats)"] > 0 and row["nearest label"] is None
    assert "decode(mu)" in captions(at)
    assert any("not on this machine" in info.value for info in at.info)


@pytest.mark.parametrize("button, page", [("send_explore", "Explore"), ("send_reparam", "Reparameterization")])
def test_send_hands_mu_and_log_var_to_the_other_page(button: str, page: str) -> None:
    at = upload(open_page(), ("seven.png", digit_png()))
    model = load_checkpoint(REPO / "checkpoints" / "digits-mlp-2d").model
    expected = encode_uploads(model, [("seven.png", digit_png())]).encoding
    at.button(key=button).click().run()
    assert not at.exception
    point = at.session_state[HANDOFF_KEY]
    assert point.z == pytest.approx(expected.mu[0], rel=1e-5) and point.mu == pytest.approx(expected.mu[0], rel=1e-5)
    assert point.log_var == pytest.approx(expected.log_var[0], rel=1e-5)
    assert point.source == "upload seven.png" and point.image.shape == (8, 8)
    assert at.title[0].value == page


def test_upload_limit_matches_the_server_setting() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 == MAX_UPLOAD_BYTES  # Streamlit counts MB as 2**20 bytes


def _png_of(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8)).resize((64, 64), Image.NEAREST).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_upload_unlike_the_training_data_is_flagged_beside_the_label_guess() -> None:
    """Noise reconstructs worse than 99% of the data: flagged. A data image itself is not."""
    from vae_core import load_dataset
    from vae_core.novelty import novelty_threshold

    data = load_dataset("digits")
    noise = np.random.default_rng(0).random((8, 8))
    at = upload(open_page(), ("noise.png", _png_of(noise)), ("data.png", _png_of(data.floats(0)[0].numpy())))
    flagged = [w.value for w in at.warning if "Unlike the training data" in w.value]
    threshold = novelty_threshold(load_checkpoint(REPO / "checkpoints" / "digits-mlp-2d").model, data.floats())
    assert len(flagged) == 1 and f"({threshold.value:.1f} nats)" in flagged[0]  # noise.png, shown first
    at.selectbox(key="encode_pick").set_value(1).run()
    assert not [w for w in at.warning if "Unlike the training data" in w.value]
    assert any("Like the training data" in c.value for c in at.caption)


def draw(at: AppTest, strokes: list[np.ndarray]) -> AppTest:
    """What the pad's strokes message leaves behind (the component itself needs a browser)."""
    at.session_state["encode_strokes"] = strokes
    at.run()
    assert not at.exception
    return at


def test_a_drawing_is_encoded_as_its_picture_uploaded_and_shown_on_the_map() -> None:
    from vae_core.drawing import drawing_png

    seven = [np.array([[0.2, 0.2], [0.8, 0.2]]), np.array([[0.78, 0.2], [0.4, 0.9]])]
    at = open_page()
    at.segmented_control(key="encode_source").set_value("draw").run()
    assert not at.exception and any("Draw a digit" in info.value for info in at.info)
    at = draw(at, seven)
    model = load_checkpoint(REPO / "checkpoints" / "digits-mlp-2d").model
    expected = encode_uploads(model, [("drawing", drawing_png(seven))]).encoding
    assert at.metric[0].value == f"{expected.kl[0]:.2f} nats"
    assert {"input, 8×8", "decode(mu)"} <= set(captions(at))
    traces = map_traces(at)  # a 2-D model: mu at its coordinates, with q's exact ellipse
    np.testing.assert_allclose(traces["mu of drawing"][0], expected.mu[0], rtol=1e-5)
    assert "q(z|x), 2σ" in traces
    at.button(key="send_explore").click().run()
    assert at.session_state[HANDOFF_KEY].source == "drawing" and at.title[0].value == "Explore"


def test_a_cleared_pad_asks_for_a_drawing_again() -> None:
    at = open_page("mnist-conv-16d")
    at.segmented_control(key="encode_source").set_value("draw").run()
    at = draw(at, [np.array([[0.5, 0.1], [0.5, 0.9]])])
    assert "input, 28×28" in captions(at) and "q(z|x), 2σ" in map_traces(at)  # the PCA plane: still an ellipse
    at = draw(at, [])
    assert any("Draw a digit" in info.value for info in at.info) and not at.metric


def test_a_colour_model_takes_the_drawing_as_a_picture() -> None:
    at = open_page("shapes-conv-10d-beta1")
    at.segmented_control(key="encode_source").set_value("draw").run()
    assert any("sees colour pictures, not digits" in c.value for c in at.caption)
    at = draw(at, [np.array([[0.3, 0.3], [0.7, 0.7]])])
    assert "input, 64×64" in captions(at) and at.metric
