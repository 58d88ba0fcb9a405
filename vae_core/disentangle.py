"""How well latent dimensions match known generative factors: the Mutual Information Gap.

MIG (Chen, Li, Grosse & Duvenaud 2018, "Isolating Sources of Disentanglement in VAEs"):
for each factor v_k, the mutual information I(z_j; v_k) with every latent dimension j;
the gap between the largest and the second largest, divided by the factor's entropy
H(v_k), is in [0, 1]; MIG is its mean over factors. 1: each factor is captured by one
dimension alone; 0: by none, or equally by two.

The codes are the encoder means, each dimension discretised into equal-width bins over its
range (as in Locatello et al. 2019's disentanglement_lib, 20 bins); the factors are already
discrete levels. Mutual information is the plug-in estimate from the joint histogram, in
nats. Its standard error comes from a bootstrap over the images.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

N_BINS = 20
N_BOOTSTRAP = 50
EXPLAINS_THRESHOLD = 0.1  # a dimension "explains" a factor when I(z_j; v_k) / H(v_k) is at least this


def discretise(codes: NDArray[np.floating], n_bins: int = N_BINS) -> NDArray[np.int64]:
    """Each column of (N, D) codes into `n_bins` equal-width bins over its own range: (N, D) in [0, n_bins)."""
    codes = np.asarray(codes, dtype=np.float64)
    low, high = codes.min(axis=0), codes.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return np.clip(((codes - low) / span * n_bins).astype(np.int64), 0, n_bins - 1)


def entropy(labels: NDArray[np.integer]) -> float:
    """Plug-in entropy of discrete labels, in nats."""
    p = np.bincount(labels) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _mi_of_joint(counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Plug-in mutual information of joint histograms (..., A, B) of counts, in nats: (...)."""
    joint = counts / counts.sum(axis=(-2, -1), keepdims=True)
    expected = joint.sum(axis=-1, keepdims=True) * joint.sum(axis=-2, keepdims=True)
    ratio = np.divide(joint, expected, out=np.ones_like(joint), where=joint > 0)  # 0 log 0 = 0
    return (joint * np.log(ratio)).sum(axis=(-2, -1))


def mutual_information(a: NDArray[np.integer], b: NDArray[np.integer]) -> float:
    """Plug-in I(a; b) of two discrete label arrays from their joint histogram, in nats."""
    n_a, n_b = int(a.max()) + 1, int(b.max()) + 1
    return float(_mi_of_joint(np.bincount(a * n_b + b, minlength=n_a * n_b).reshape(n_a, n_b)))


def mi_matrix(binned: NDArray[np.int64], factors: NDArray[np.integer]) -> NDArray[np.float64]:
    """I(z_j; v_k) for every dimension j and factor k: (D, K) nats, one histogram pass per factor."""
    n, d = binned.shape
    n_bins = int(binned.max()) + 1
    columns = []
    for factor in factors.T:
        levels = int(factor.max()) + 1
        cell = (np.arange(d) * n_bins * levels)[None, :] + binned * levels + factor[:, None]
        counts = np.bincount(cell.ravel(), minlength=d * n_bins * levels).reshape(d, n_bins, levels)
        columns.append(_mi_of_joint(counts))
    return np.stack(columns, axis=1)


def gaps(mi: NDArray[np.float64], entropies: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each factor's (largest - second largest MI over dimensions) / its entropy: (K,)."""
    top2 = -np.sort(-mi, axis=0)[:2]
    return (top2[0] - top2[1]) / entropies


@dataclass(frozen=True, eq=False)
class Disentanglement:
    """MIG and what lies behind it, for one model's codes of one data set."""

    factor_names: tuple[str, ...]
    mi: NDArray[np.float64]  # (D, K): I(z_j; v_k), nats
    entropies: NDArray[np.float64]  # (K,): H(v_k), nats
    gaps: NDArray[np.float64]  # (K,): normalised gap per factor
    mig: float  # mean of gaps
    mig_se: float  # bootstrap standard error of mig
    n_images: int
    gaps_se: NDArray[np.float64] | None = None  # (K,): bootstrap standard error of each gap
    normalised_mi_se: NDArray[np.float64] | None = None  # (D, K): bootstrap standard error of mi / entropies

    @property
    def normalised_mi(self) -> NDArray[np.float64]:
        """I(z_j; v_k) / H(v_k): the fraction of factor k's entropy dimension j carries, (D, K)."""
        return self.mi / self.entropies

    def dim_factors(self, threshold: float = EXPLAINS_THRESHOLD) -> list[str | None]:
        """The factor each dimension best explains (largest normalised MI), None below `threshold`."""
        nmi = self.normalised_mi
        best = nmi.argmax(axis=1)
        return [self.factor_names[k] if nmi[j, k] >= threshold else None for j, k in enumerate(best)]

    def to_dict(self) -> dict[str, Any]:
        """The figures for a checkpoint's sidecar (rounded: they are estimates)."""
        return {
            "mig": round(self.mig, 4), "mig_se": round(self.mig_se, 4), "n_images": self.n_images,
            "factor_names": list(self.factor_names),
            "mi": [[round(float(v), 5) for v in row] for row in self.mi],
            "entropies": [round(float(v), 5) for v in self.entropies],
            **({} if self.gaps_se is None else {"gaps_se": [round(float(v), 5) for v in self.gaps_se]}),
            **({} if self.normalised_mi_se is None else
               {"normalised_mi_se": [[round(float(v), 5) for v in row] for row in self.normalised_mi_se]}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Disentanglement":
        """Back from `to_dict` (a sidecar); ValueError when the figures do not fit together.
        Files written before the per-factor errors were kept load without them."""
        try:
            names = tuple(str(name) for name in data["factor_names"])
            mi = np.asarray(data["mi"], dtype=np.float64)
            entropies = np.asarray(data["entropies"], dtype=np.float64)
            mig, mig_se, n_images = float(data["mig"]), float(data["mig_se"]), int(data["n_images"])
            gaps_se, nmi_se = (None if data.get(key) is None else np.asarray(data[key], dtype=np.float64)
                               for key in ("gaps_se", "normalised_mi_se"))
        except (KeyError, TypeError, ValueError):
            raise ValueError("the disentanglement figures are incomplete") from None
        if mi.ndim != 2 or mi.shape[1] != len(names) or entropies.shape != (len(names),) or (entropies <= 0).any():
            raise ValueError("the disentanglement figures do not fit together")
        if (gaps_se is not None and gaps_se.shape != entropies.shape) or (nmi_se is not None and nmi_se.shape != mi.shape):
            raise ValueError("the disentanglement figures do not fit together")
        return cls(names, mi, entropies, gaps(mi, entropies), mig, mig_se, n_images, gaps_se, nmi_se)

    def dim_label(self, dim: int) -> str:
        """What a traversal row of dimension `dim` shows, e.g. "x (0.81 ± 0.02 of its entropy)"."""
        factor = self.dim_factors()[dim]
        if factor is None:
            return "no factor"
        k = self.factor_names.index(factor)
        se = "" if self.normalised_mi_se is None else f" ± {self.normalised_mi_se[dim, k]:.2f}"
        return f"{factor} ({self.normalised_mi[dim, k]:.2f}{se} of its entropy)"


def mutual_information_gap(
    codes: NDArray[np.floating], factors: NDArray[np.integer], factor_names: tuple[str, ...],
    n_bins: int = N_BINS, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0,
) -> Disentanglement:
    """MIG of (N, D) codes against (N, K) discrete factor levels, with a bootstrap standard error.

    Needs at least two dimensions (the gap compares the best with the runner-up). Factors
    with a single level carry no entropy and are left out of the mean.
    """
    codes, factors = np.asarray(codes), np.asarray(factors, dtype=np.int64)
    if codes.ndim != 2 or factors.ndim != 2 or len(codes) != len(factors) or codes.shape[1] < 2:
        raise ValueError(f"need (N, D >= 2) codes and (N, K) factors, got {codes.shape} and {factors.shape}")
    if len(factor_names) != factors.shape[1]:
        raise ValueError(f"{factors.shape[1]} factors but {len(factor_names)} names")
    varying = [k for k in range(factors.shape[1]) if len(np.unique(factors[:, k])) > 1]
    factors, factor_names = factors[:, varying], tuple(factor_names[k] for k in varying)
    binned = discretise(codes, n_bins)

    def estimate(rows: NDArray[np.int64] | slice) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        ent = np.array([entropy(factors[rows, k]) for k in range(factors.shape[1])])
        return mi_matrix(binned[rows], factors[rows]), ent

    mi, ent = estimate(slice(None))
    factor_gaps = gaps(mi, ent)
    rng = np.random.default_rng(seed)
    boot_gaps, boot_nmi = [], []
    for _ in range(n_bootstrap):
        rows = rng.integers(0, len(codes), len(codes))
        b_mi, b_ent = estimate(rows)
        b_ent = np.maximum(b_ent, 1e-12)
        boot_gaps.append(gaps(b_mi, b_ent))
        boot_nmi.append(b_mi / b_ent)
    if n_bootstrap > 1:
        gaps_se, nmi_se = np.std(boot_gaps, axis=0, ddof=1), np.std(boot_nmi, axis=0, ddof=1)
        se = float(np.std(np.mean(boot_gaps, axis=1), ddof=1))
    else:
        gaps_se, nmi_se, se = None, None, float("nan")
    return Disentanglement(
        factor_names, mi, ent, factor_gaps, float(np.mean(factor_gaps)), se, len(codes), gaps_se, nmi_se,
    )
