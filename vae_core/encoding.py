"""The numbers behind the Encode page: q(z|x) of uploaded images and where it sits among the data.

An upload goes through `images.preprocess_many`; the good ones are encoded together (one batched
forward pass) into q(z|x) = N(mu, diag sigma^2) with sigma = exp(log_var / 2). From there:
the reconstruction (decoded from mu), samples z ~ q(z|x), the nearest data-set codes (Euclidean
distance between mu's), and the shape of q on the 2-D map. PCA is linear, so the image of q in
the plane is exactly Gaussian with covariance W diag(sigma^2) W^T and its 2-sigma ellipse is honest;
t-SNE is not, so there the samples are placed one by one instead.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch
from PIL import Image

from .images import BatchItem, PhotoSteps, PreprocessSteps, preprocess_many, to_tensor
from .inference import encode_images, to_display
from .likelihoods import mean_image
from .losses import kl_per_dim
from .models import VAE
from .projection import LinearProjection, Projection


@dataclass(frozen=True, eq=False)
class BatchEncoding:
    """q(z|x) of a batch of images and what the model makes of it; arrays read-only (cached)."""

    mu: np.ndarray  # (N, D)
    log_var: np.ndarray  # (N, D) log sigma^2
    recon: np.ndarray  # (N, H, W) or (N, H, W, 3) in [0, 1], decoded from mu
    kl_dims: np.ndarray  # (N, D) KL of each dimension in nats: which dimensions carry information
    kl: np.ndarray  # (N,) KL(q(z|x) || N(0, I)) in nats, the sum over dimensions
    recon_error: np.ndarray  # (N,) -log p(x | z = mu) in nats of the model's likelihood

    def __post_init__(self) -> None:
        for field in fields(self):
            getattr(self, field.name).setflags(write=False)

    @property
    def sigma(self) -> np.ndarray:
        """(N, D) standard deviations: the encoder's head is log sigma^2, so sigma = exp(log_var / 2)."""
        return np.exp(0.5 * self.log_var)


@torch.inference_mode()
def encode_batch(model: VAE, images: torch.Tensor) -> BatchEncoding:
    """images (N, C, H, W) in [0, 1] -> q(z|x), the reconstruction from mu, KL and reconstruction error.

    The reconstruction uses mu, not a sample, so it is the same on every rerun.
    """
    mu, log_var = encode_images(model, images)
    device = next(model.parameters()).device
    x = images.to(device)
    logits = model.decode_logits(torch.from_numpy(mu).to(device))
    kl_dims = kl_per_dim(torch.from_numpy(mu), torch.from_numpy(log_var))
    return BatchEncoding(
        mu=mu,
        log_var=log_var,
        recon=to_display(mean_image(logits, model.config.recon)),
        kl_dims=kl_dims.numpy(),
        kl=kl_dims.sum(dim=1).numpy(),  # = kl_closed_form
        recon_error=model.neg_log_likelihood(logits, x).cpu().numpy(),
    )


@dataclass(frozen=True, eq=False)
class UploadBatch:
    """Uploaded files after preprocessing and encoding: every file's outcome, in upload order."""

    items: tuple[BatchItem, ...]  # one per file: its preprocessing steps or its error
    encoded: tuple[int, ...]  # positions in items of the files that were encoded (names may repeat)
    encoding: BatchEncoding | None  # row i belongs to items[encoded[i]]; None when no file was usable


def encode_items(model: VAE, items: Sequence[BatchItem]) -> UploadBatch:
    """Encode every preprocessed upload in one forward pass; files that failed are left out."""
    encoded = tuple(i for i, item in enumerate(items) if item.steps is not None)
    encoding = None
    if encoded:
        images = torch.cat([to_tensor(items[i].steps) for i in encoded])  # (N, C, H, W)
        encoding = encode_batch(model, images)
    return UploadBatch(tuple(items), encoded, encoding)


def encode_uploads(model: VAE, files: Iterable[tuple[str, bytes]], invert: bool | None = None) -> UploadBatch:
    """(name, bytes) uploads -> the model's input size -> q(z|x); a bad file gets a reason, not an exception.

    ``invert``: None detects the ink colour per file; True/False forces it (see `images.preprocess`).
    A colour model's uploads get photo preprocessing instead (`images.preprocess_photo`).
    """
    channels, _, size = model.config.image_shape
    return encode_items(model, preprocess_many(files, size=size, invert=invert, channels=channels))


def for_display(batch: UploadBatch, max_side: int = 224) -> UploadBatch:
    """The batch with its large preprocessing stages shrunk to at most ``max_side`` pixels.

    A phone photo keeps ~9 MB of intermediate stages at working resolution (1024 px), a 0.2 MB JPEG
    nothing like it; a page that keeps a batch for its session needs only what it can show.
    The model input (``final``) and ``squared`` are small and kept exactly.
    """
    def shrink(steps: PreprocessSteps | PhotoSteps | None) -> PreprocessSteps | PhotoSteps | None:
        if steps is None:
            return None
        return replace(steps, **{name: _shrink(getattr(steps, name), max_side) for name in _LARGE_STEPS[type(steps)]})

    items = tuple(replace(item, steps=shrink(item.steps)) for item in batch.items)
    return UploadBatch(items, batch.encoded, batch.encoding)


_LARGE_STEPS = {
    PreprocessSteps: ("original", "grayscale", "oriented", "cropped"),
    PhotoSteps: ("original", "cropped"),
}


def _shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """Area-average an HxW float, HxWx3 float or HxWx3 uint8 image so its longer side is at most max_side."""
    height, width = image.shape[:2]
    if max(height, width) <= max_side:
        return image
    if image.ndim == 3 and image.dtype != np.uint8:  # Pillow holds float images one channel at a time
        return np.stack([_shrink(image[..., i], max_side) for i in range(image.shape[-1])], axis=-1)
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX), dtype=image.dtype)


def posterior_samples(
    mu: np.ndarray, log_var: np.ndarray, n: int, generator: torch.Generator | None = None
) -> np.ndarray:
    """n draws z ~ q(z|x) = N(mu, diag exp(log_var)) of one image: (n, D) float32.

    The same reparameterization as training, z = mu + sigma * eps, so a fixed generator seed
    gives the same samples on every rerun.
    """
    mu_t = torch.tensor(np.asarray(mu, dtype=np.float32)).reshape(1, -1)  # a copy: mu may be read-only
    log_var_t = torch.tensor(np.asarray(log_var, dtype=np.float32)).reshape(1, -1)
    eps = torch.randn((n, mu_t.shape[1]), generator=generator)
    return VAE.reparameterize(mu_t, log_var_t, eps).numpy()


def nearest_neighbours(mu_query: np.ndarray, mu_data: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k data codes closest to each query mu (Euclidean): indices and distances, (M, k) each.

    Exact (no matrix-product shortcut that loses digits); ties go to the lower index, so the answer
    is deterministic. k is capped at the data set's size.
    """
    query = np.atleast_2d(np.asarray(mu_query, dtype=np.float64))
    data = np.asarray(mu_data, dtype=np.float64)
    from scipy.spatial.distance import cdist  # not at the top: seconds of import on every server start

    distances = cdist(query, data)  # (M, N)
    k = min(k, data.shape[0])
    index = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return index, np.take_along_axis(distances, index, axis=1)


def majority_label(neighbour_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The most frequent label among each row of neighbours, and the share of neighbours that carry it.

    neighbour_labels (M, k), nearest first. A tie goes to the label met first, i.e. the nearer one.
    """
    neighbour_labels = np.atleast_2d(neighbour_labels)
    winners, shares = [], []
    for row in neighbour_labels:
        values, first, counts = np.unique(row, return_index=True, return_counts=True)
        best = np.lexsort((first, -counts))[0]  # most counts, then earliest
        winners.append(values[best])
        shares.append(counts[best] / row.size)
    return np.asarray(winners), np.asarray(shares, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Neighbours:
    """The k data-set codes nearest to each encoded upload, nearest first."""

    index: np.ndarray  # (M, k) rows of the data set
    distance: np.ndarray  # (M, k) Euclidean distance between mu's
    labels: np.ndarray  # (M, k) their labels
    majority: np.ndarray  # (M,) most frequent label among the k (ties: the nearer)
    agreement: np.ndarray  # (M,) share of the k that carry it


def find_neighbours(mu_query: np.ndarray, mu_data: np.ndarray, labels_data: np.ndarray, k: int) -> Neighbours:
    """`nearest_neighbours` with their labels and the majority vote: what the table and gallery show."""
    index, distance = nearest_neighbours(mu_query, mu_data, k)
    labels = np.asarray(labels_data)[index]
    majority, agreement = majority_label(labels)
    return Neighbours(index, distance, labels, majority, agreement)


def label_name(label: int, class_names: Sequence[str]) -> str:
    """A class index as the data set names it; -1 (an image folder without classes) is "unlabelled"."""
    label = int(label)
    if 0 <= label < len(class_names):
        return str(class_names[label])
    return "unlabelled" if label < 0 else str(label)


def covariance_ellipse(centre: np.ndarray, cov: np.ndarray, k: float = 2.0, n_points: int = 100) -> np.ndarray:
    """The k-sigma contour of N(centre, cov) in 2-D, as a closed polyline (n_points, 2).

    cov = V diag(lam) V^T, so the contour is centre + k V sqrt(lam) (cos t, sin t): semi-axes
    k * sqrt(lam) along the eigenvectors.
    """
    lam, vectors = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    t = np.linspace(0.0, 2.0 * np.pi, n_points)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)  # (n, 2)
    return np.asarray(centre, dtype=np.float64) + k * circle @ (vectors * np.sqrt(np.clip(lam, 0.0, None))).T


def projected_covariance(weights: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """Covariance in the plane of q(z|x) = N(mu, diag sigma^2) under the linear map z -> W z.

    weights (2, D); returns W diag(sigma^2) W^T (2, 2). Exact, because a linear image of a Gaussian
    is Gaussian.
    """
    weights = np.asarray(weights, dtype=np.float64)
    variance = np.exp(np.asarray(log_var, dtype=np.float64).ravel())
    return (weights * variance) @ weights.T


def projected_ellipse(
    projection: LinearProjection, mu: np.ndarray, log_var: np.ndarray, k: float = 2.0, n_points: int = 100
) -> np.ndarray:
    """The k-sigma ellipse of q(z|x) as it falls on a linear map (PCA, or two raw dimensions): (n_points, 2).

    The map is xy = (z - origin) W^T, so q's image is N(transform(mu), W diag(sigma^2) W^T); for
    raw dimensions W selects them and this is their marginal ellipse.
    """
    centre = projection.transform(np.asarray(mu, dtype=np.float64).reshape(1, -1))[0]
    return covariance_ellipse(centre, projected_covariance(projection.components, log_var), k, n_points)


@dataclass(frozen=True, eq=False)
class MapPlacement:
    """q(z|x) of one image drawn on a 2-D map of the data's codes."""

    point: np.ndarray  # (2,) where mu lands
    cloud: np.ndarray  # (n, 2) where the samples z ~ q(z|x) land
    outline: np.ndarray | None  # (n_points, 2) q's exact k-sigma ellipse on linear maps (PCA, raw); None on t-SNE


def place_on_map(
    projection: Projection, mu: np.ndarray, log_var: np.ndarray, samples: np.ndarray, k: float = 2.0,
    n_points: int = 100,
) -> MapPlacement:
    """mu, samples z ~ q(z|x) (n, D) and, where it is honest, q's k-sigma ellipse on the map.

    A linear map keeps Gaussians Gaussian, so q's ellipse there is exact. t-SNE is non-linear and
    places new codes by optimisation: no ellipse would be q's, so only mu and the samples are placed
    (in one call, against the same fixed map) and the cloud shows the spread.
    """
    mu = np.asarray(mu, dtype=np.float64).reshape(1, -1)
    placed = projection.transform(np.concatenate([mu, np.asarray(samples, dtype=np.float64).reshape(-1, mu.shape[1])]))
    outline = projected_ellipse(projection, mu, log_var, k, n_points) if isinstance(projection, LinearProjection) else None
    return MapPlacement(placed[0], placed[1:], outline)


def summarise(
    batch: UploadBatch, neighbours: Neighbours | None = None, class_names: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """One table row per uploaded file, in upload order: its result, or the one-line reason it was refused.

    ``neighbours`` (of ``batch.encoding.mu``) adds the majority label of the nearest data codes;
    None when the data set's codes are not available.
    """
    row_of = {item_index: row for row, item_index in enumerate(batch.encoded)}
    rows = []
    for item_index, item in enumerate(batch.items):
        row: dict[str, Any] = {
            "file": item.name, "nearest label": None, "agreement": None,
            "KL (nats)": None, "recon error (nats)": None, "problem": item.error,
        }
        if item_index in row_of and batch.encoding is not None:
            i = row_of[item_index]
            row["KL (nats)"] = float(batch.encoding.kl[i])
            row["recon error (nats)"] = float(batch.encoding.recon_error[i])
            if neighbours is not None:
                row["nearest label"] = label_name(neighbours.majority[i], class_names)
                row["agreement"] = float(neighbours.agreement[i])
        rows.append(row)
    return rows
