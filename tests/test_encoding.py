"""The Encode page's numbers: batched encoding, q(z|x) samples, neighbours, the ellipse on the map."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from vae_core import ModelConfig, build_model, kl_closed_form, load_checkpoint, load_dataset, reconstruction_loss
from vae_core.encoding import (
    encode_batch,
    covariance_ellipse,
    encode_items,
    encode_uploads,
    find_neighbours,
    for_display,
    label_name,
    majority_label,
    nearest_neighbours,
    place_on_map,
    posterior_samples,
    projected_covariance,
    projected_ellipse,
    summarise,
)
from vae_core.images import preprocess_many
from vae_core.inference import decode_latents, encode_images
from vae_core.projection import fit_projection

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"
ONE = ((32, 8, 32, 56),)


@pytest.fixture
def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(arch="mlp", image_shape=(1, 8, 8), latent_dim=3, hidden_dim=16)).eval()


def _png(strokes: tuple[tuple[int, int, int, int], ...] = ((12, 12, 50, 12), (49, 12, 24, 54))) -> bytes:
    """Dark strokes on a white 64x64 canvas as PNG bytes: a 7 by default, blank for no strokes."""
    img = Image.new("L", (64, 64), 255)
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        draw.line(stroke, fill=0, width=6)
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def test_encode_batch_matches_the_model_term_by_term(tiny_model: torch.nn.Module) -> None:
    x = torch.rand(5, 1, 8, 8)
    enc = encode_batch(tiny_model, x)
    mu, log_var = encode_images(tiny_model, x)
    np.testing.assert_array_equal(enc.mu, mu)
    np.testing.assert_array_equal(enc.log_var, log_var)
    np.testing.assert_allclose(enc.sigma, np.exp(0.5 * log_var), rtol=1e-6)
    np.testing.assert_allclose(enc.recon, decode_latents(tiny_model, mu), rtol=1e-6, atol=1e-7)
    mu_t, log_var_t = torch.from_numpy(mu), torch.from_numpy(log_var)
    np.testing.assert_allclose(enc.kl, kl_closed_form(mu_t, log_var_t).numpy(), rtol=1e-6)
    np.testing.assert_allclose(enc.kl_dims.sum(1), enc.kl, rtol=1e-6)
    assert enc.kl_dims.shape == (5, 3) and (enc.kl_dims >= 0).all()
    with torch.no_grad():
        expected = reconstruction_loss(tiny_model.decode_logits(mu_t), x, "bernoulli").numpy()
    np.testing.assert_allclose(enc.recon_error, expected, rtol=1e-5)
    assert enc.recon.shape == (5, 8, 8) and enc.kl.shape == enc.recon_error.shape == (5,)
    with pytest.raises(ValueError):
        enc.mu[0, 0] = 1.0  # read-only: the page may cache it


def test_one_bad_file_is_left_out_and_the_others_encode_in_order(tiny_model: torch.nn.Module) -> None:
    files = [("a.png", _png()), ("broken.png", b"\x89PNG\r\n\x1a\nnot really"), ("a.png", _png(ONE)),
             ("blank.png", _png(()))]
    batch = encode_uploads(tiny_model, files)  # the model's input size: 8x8
    assert batch.encoded == (0, 2)  # positions, so the two files both called a.png stay apart
    enc = batch.encoding
    assert enc is not None and enc.mu.shape == (2, 3)
    single = encode_batch(tiny_model, torch.from_numpy(np.array(batch.items[2].steps.final))[None, None])
    np.testing.assert_allclose(enc.mu[1], single.mu[0], rtol=1e-5, atol=1e-6)  # batching changes nothing

    neighbours = find_neighbours(enc.mu, np.stack([enc.mu[1], enc.mu[0], enc.mu[0] + 5]), np.array([1, 7, -1]), k=2)
    rows = summarise(batch, neighbours, class_names=[str(k) for k in range(10)])
    assert [row["file"] for row in rows] == ["a.png", "broken.png", "a.png", "blank.png"]
    assert rows[0]["problem"] is None and rows[0]["nearest label"] == "7" and rows[0]["agreement"] == 0.5
    assert rows[0]["KL (nats)"] == pytest.approx(float(enc.kl[0]))
    assert rows[2]["nearest label"] == "1" and rows[2]["recon error (nats)"] == pytest.approx(float(enc.recon_error[1]))
    assert rows[1]["problem"] == "The image file is truncated or damaged." and rows[1]["KL (nats)"] is None
    assert rows[3]["problem"] == "The image is blank: no strokes found."
    assert all(row["nearest label"] is None for row in summarise(batch))  # no codes: no label


def test_nothing_usable_gives_no_encoding(tiny_model: torch.nn.Module) -> None:
    batch = encode_uploads(tiny_model, [("x.txt", b"hello")])
    assert batch.encoded == () and batch.encoding is None
    assert summarise(batch)[0]["problem"].startswith("This file is not an image")


def test_forced_ink_colour_reaches_every_file(tiny_model: torch.nn.Module) -> None:
    batch = encode_uploads(tiny_model, [("seven.png", _png())], invert=False)  # dark ink: wrong setting
    assert batch.encoding is None and "ink colour" in batch.items[0].error
    assert encode_uploads(tiny_model, [("seven.png", _png())], invert=True).items[0].steps.inverted


def test_for_display_shrinks_only_the_large_stages(tiny_model: torch.nn.Module) -> None:
    photo = Image.new("RGB", (1600, 1200), "white")
    ImageDraw.Draw(photo).line((400, 200, 1200, 1000), fill="black", width=60)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG")
    batch = encode_uploads(tiny_model, [("photo.jpg", buffer.getvalue()), ("bad.png", b"x")])
    small = for_display(batch, max_side=100)
    big, shown = batch.items[0].steps, small.items[0].steps
    assert big.original.shape == (768, 1024, 3) and shown.original.shape == (75, 100, 3)
    assert shown.original.dtype == np.uint8 and shown.grayscale.dtype == np.float32
    assert max(shown.cropped.shape) == 100 and shown.inverted == big.inverted
    assert shown.final is big.final and shown.squared is big.squared  # the model input is untouched
    assert small.items[1] == batch.items[1] and small.encoding is batch.encoding and small.encoded == batch.encoded
    # area averaging keeps the stroke's mean brightness
    assert shown.oriented.mean() == pytest.approx(big.oriented.mean(), rel=0.02)


def test_posterior_samples_have_the_posterior_mean_and_spread() -> None:
    mu, log_var = np.array([1.0, -2.0, 0.5]), np.log(np.array([0.25, 4.0, 1e-4]))
    z = posterior_samples(mu, log_var, 40_000, torch.Generator().manual_seed(0))
    assert z.shape == (40_000, 3)
    sigma = np.exp(0.5 * log_var)
    # mean within 4 standard errors, std within 2% (its standard error is ~0.35%)
    assert np.all(np.abs(z.mean(0) - mu) < 4 * sigma / np.sqrt(len(z)))
    np.testing.assert_allclose(z.std(0), sigma, rtol=0.02)
    again = posterior_samples(mu, log_var, 40_000, torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(z, again)  # a fixed seed: the same samples on every rerun


def test_nearest_neighbours_are_exact_on_a_toy_set() -> None:
    data = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [-1.0, 0.0], [1e6, 1e6]])
    index, dist = nearest_neighbours(np.array([[0.1, 0.0], [2.9, 3.0]]), data, k=3)
    np.testing.assert_array_equal(index, [[0, 1, 4], [3, 2, 1]])
    np.testing.assert_allclose(dist[0], [0.1, 0.9, 1.1])
    np.testing.assert_allclose(dist[1], [0.1, np.hypot(2.9, 1.0), np.hypot(1.9, 3.0)])
    # ties go to the lower index; a single (D,) query works; k beyond N is capped
    index, dist = nearest_neighbours(np.zeros(2), data, k=10)
    assert index.shape == (1, 6) and list(index[0, :3]) == [0, 1, 4]
    # exact for a far-away query where |a|^2 + |b|^2 - 2ab would cancel catastrophically
    far = np.array([[1e6 + 0.5, 1e6]])
    _, dist = nearest_neighbours(far, data, k=1)
    assert dist[0, 0] == pytest.approx(0.5, abs=1e-9)


def test_majority_label_breaks_ties_by_the_nearest() -> None:
    labels, shares = majority_label(np.array([[3, 1, 1, 3, 2], [2, 5, 5, 5, 2], [4, 4, 4, 4, 4]]))
    np.testing.assert_array_equal(labels, [3, 5, 4])
    np.testing.assert_allclose(shares, [0.4, 0.6, 1.0])


def test_label_names() -> None:
    names = ("T-shirt", "Trouser")
    assert [label_name(k, names) for k in (0, 1, -1, 7)] == ["T-shirt", "Trouser", "unlabelled", "7"]


def test_ellipse_axes_match_a_known_covariance() -> None:
    angle = np.deg2rad(30.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    cov = rotation @ np.diag([9.0, 1.0]) @ rotation.T  # semi-axes 3 and 1, long one at 30 degrees
    centre = np.array([2.0, -1.0])
    points = covariance_ellipse(centre, cov, k=2.0, n_points=721)
    offsets = points - centre
    radii = np.linalg.norm(offsets, axis=1)
    assert radii.max() == pytest.approx(6.0, rel=1e-4) and radii.min() == pytest.approx(2.0, rel=1e-4)
    longest = offsets[radii.argmax()]
    assert abs(abs(np.cos(np.arctan2(longest[1], longest[0]) - angle)) - 1.0) < 1e-6
    # every point lies on the 2-sigma contour: Mahalanobis distance exactly 2
    mahalanobis = np.sqrt(np.einsum("ni,ij,nj->n", offsets, np.linalg.inv(cov), offsets))
    np.testing.assert_allclose(mahalanobis, 2.0, rtol=1e-9)
    np.testing.assert_allclose(points[0], points[-1])  # closed


def test_projected_covariance_through_a_known_pca() -> None:
    # Codes whose covariance is exactly 25 and 4 along two orthonormal directions of R^4 (and 0
    # elsewhere), so the fitted PCA's plane and axes are known.
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(4, 4)))[0][:, :2]  # (4, 2)
    noise = rng.normal(size=(2000, 2))
    white = np.linalg.qr(noise - noise.mean(0))[0] * np.sqrt(2000)  # centred, orthogonal columns
    codes = 3.0 + white * [5.0, 2.0] @ basis.T
    pca = fit_projection(codes, "pca")
    np.testing.assert_allclose(np.abs(pca.components @ basis), np.eye(2), atol=1e-9)
    mu, log_var = np.array([1.0, -1.0, 0.5, 2.0]), np.log(np.array([0.5, 2.0, 1.0, 0.1]))
    cov = projected_covariance(pca.components, log_var)
    # exact: W diag(sigma^2) W^T with the plane's true basis (up to the components' signs)
    truth = basis.T @ np.diag(np.exp(log_var)) @ basis
    np.testing.assert_allclose(np.abs(cov), np.abs(truth), atol=1e-9)
    # and what sampling q(z|x) and pushing the samples through the map gives
    samples = posterior_samples(mu, log_var, 200_000, torch.Generator().manual_seed(1))
    np.testing.assert_allclose(cov, np.cov(pca.transform(samples), rowvar=False), atol=0.02)

    outline = projected_ellipse(pca, mu, log_var, k=2.0, n_points=360)
    centre = pca.transform(mu[None])[0]
    offsets = outline - centre
    mahalanobis = np.sqrt(np.einsum("ni,ij,nj->n", offsets, np.linalg.inv(cov), offsets))
    np.testing.assert_allclose(mahalanobis, 2.0, rtol=1e-9)
    placed = place_on_map(pca, mu, log_var, samples[:8])
    np.testing.assert_allclose(placed.point, centre)
    np.testing.assert_allclose(placed.outline, projected_ellipse(pca, mu, log_var))
    np.testing.assert_allclose(placed.cloud, pca.transform(samples[:8]))


def test_raw_2d_map_draws_q_itself() -> None:
    codes = np.random.default_rng(0).normal(size=(50, 2))
    raw = fit_projection(codes, "raw")
    mu, log_var = np.array([0.5, -1.0]), np.log(np.array([0.09, 0.25]))  # sigma 0.3 and 0.5
    outline = place_on_map(raw, mu, log_var, np.zeros((0, 2)), k=2.0, n_points=721).outline
    np.testing.assert_allclose(outline.min(0), mu - [0.6, 1.0], atol=1e-4)
    np.testing.assert_allclose(outline.max(0), mu + [0.6, 1.0], atol=1e-4)
    np.testing.assert_allclose(projected_covariance(raw.components, log_var), np.diag([0.09, 0.25]))


def test_tsne_map_places_the_samples_instead_of_an_ellipse() -> None:
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(size=(100, 4)), rng.normal(size=(100, 4)) + 6.0])
    tsne = fit_projection(codes, "tsne")
    mu, log_var = codes[150] + 0.01, np.full(4, np.log(0.01))
    samples = posterior_samples(mu, log_var, 16, torch.Generator().manual_seed(0))
    placed = place_on_map(tsne, mu, log_var, samples)
    assert placed.outline is None and placed.cloud.shape == (16, 2)
    # mu lands in its own cluster's part of the map, and so do its samples
    own, other = tsne.embedding[100:].mean(0), tsne.embedding[:100].mean(0)
    for xy in (placed.point, *placed.cloud):
        assert np.linalg.norm(xy - own) < np.linalg.norm(xy - other)


def test_preprocessed_mnist_encodes_like_the_raw_tensor(mnist_dir: Path) -> None:
    """An MNIST digit saved as PNG and uploaded should land where the raw digit does.

    MNIST digits are already cropped to a 20x20 box and centred by mass (at pixel index 14.0),
    so preprocessing them is (nearly) the identity. Measured on the first 50 test digits with
    mnist-conv-16d: cosine(mu) min 0.999, relative distance median 0.000, max 0.042. (With the
    mass centred at the geometric 13.5 instead, cosine fell to a median of 0.906.)
    """
    if not (SHIPPED / "mnist-conv-16d.safetensors").exists():
        pytest.skip("shipped checkpoint mnist-conv-16d not found")
    model = load_checkpoint(SHIPPED / "mnist-conv-16d").model
    images = load_dataset("mnist", str(mnist_dir)).floats(slice(0, 50))
    files = []
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray((image[0].numpy() * 255 + 0.5).astype(np.uint8)).save(buffer, "PNG")
        files.append((f"{i}.png", buffer.getvalue()))
    items = preprocess_many(files, size=28)
    batch = encode_items(model, items)
    uploaded = batch.encoding
    assert batch.encoded == tuple(range(50)) and uploaded is not None
    raw = encode_batch(model, images)
    cosine = (uploaded.mu * raw.mu).sum(1) / np.linalg.norm(uploaded.mu, axis=1) / np.linalg.norm(raw.mu, axis=1)
    relative = np.linalg.norm(uploaded.mu - raw.mu, axis=1) / np.linalg.norm(raw.mu, axis=1)
    assert np.median(cosine) > 0.99 and cosine.min() > 0.95
    assert np.median(relative) < 0.05 and relative.max() < 0.2


def test_a_colour_model_encodes_uploads_in_colour_and_shows_them_shrunk() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="conv", image_shape=(3, 32, 32), latent_dim=4)).eval()
    photo = Image.new("RGB", (900, 600), (250, 250, 250))
    ImageDraw.Draw(photo).ellipse((300, 150, 600, 450), fill=(200, 30, 30))
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    batch = encode_uploads(model, [("photo.png", buffer.getvalue()), ("bad.png", b"x")])
    steps = batch.items[0].steps
    assert batch.encoded == (0,) and steps.final.shape == (32, 32, 3)
    x = torch.from_numpy(np.ascontiguousarray(steps.final.transpose(2, 0, 1)))[None]
    mu, log_var = encode_images(model, x)
    np.testing.assert_allclose(batch.encoding.mu, mu, atol=1e-6)
    assert batch.encoding.recon.shape == (1, 32, 32, 3)
    np.testing.assert_allclose(batch.encoding.recon[0], decode_latents(model, mu)[0], atol=1e-6)
    small = for_display(batch, max_side=100).items[0].steps
    assert small.original.shape == (67, 100, 3) and small.cropped.shape == (100, 100, 3)
    assert small.cropped.dtype == np.float32 and small.final is steps.final
    np.testing.assert_allclose(small.cropped.mean(axis=(0, 1)), steps.cropped.mean(axis=(0, 1)), atol=0.01)
