"""vae_core.map_cache: fitted maps kept on disk beside their checkpoint."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import vae_core.map_cache as map_cache
from vae_core.map_cache import MapCache, load_map, map_settings, save_map
from vae_core.projection import LinearProjection, TSNEProjection

from .test_projection import blobs


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    """Stands in for a checkpoint's weights file: the cache only reads its bytes."""
    path = tmp_path / "ckpts" / "tiny.safetensors"
    path.parent.mkdir()
    path.write_bytes(b"weights, version 1")
    return path


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The methods actually fitted behind the cache."""
    calls: list[str] = []
    real = map_cache.fit_projection

    def counting(codes: np.ndarray, method: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(method)
        return real(codes, method, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(map_cache, "fit_projection", counting)
    return calls


@pytest.mark.parametrize(("method", "settings"), [("pca", {}), ("raw", {"dims": (3, 1)})])
def test_a_linear_map_is_fitted_once_then_read_back_exactly(
    weights: Path, fits: list[str], method: str, settings: dict,
) -> None:
    codes, cache = blobs(d=5), MapCache(weights)
    first = cache.fit(codes, method, **settings)
    path = cache.path(codes, method, **settings)
    assert path.parent == weights.parent / ".cache" and path.name.startswith("tiny-") and path.is_file()
    seen: list[float] = []
    again = cache.fit(codes, method, progress=seen.append, **settings)  # a restarted server: a new object
    assert fits == [method] and seen == [1.0]
    assert isinstance(again, LinearProjection) and again.method == method
    for name in ("embedding", "origin", "components", "explained_variance_ratio"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    assert not list(path.parent.glob("*.tmp")), "the atomic write left its temporary file"


def test_a_tsne_map_read_back_maps_back_and_places_new_codes_like_the_fit(weights: Path, fits: list[str]) -> None:
    codes, cache = blobs(n_per=40), MapCache(weights)
    fitted = cache.fit(codes, "tsne", perplexity=15, seed=1)
    read = cache.fit(codes, "tsne", perplexity=15, seed=1)
    assert fits == ["tsne"] and isinstance(read, TSNEProjection)
    assert (read.perplexity, read.seed, read.k) == (15.0, 1, fitted.k)  # type: ignore[union-attr]
    np.testing.assert_array_equal(read.embedding, fitted.embedding)
    xy = fitted.embedding[:5] * 0.9
    np.testing.assert_allclose(read.to_latent(xy), fitted.to_latent(xy))
    placed = read.transform(codes[:10])
    extent = np.ptp(read.embedding)
    np.testing.assert_allclose(placed, read.embedding[:10], atol=0.02 * extent)
    np.testing.assert_allclose(placed, fitted.transform(codes[:10]), atol=0.02 * extent)
    np.testing.assert_array_equal(read.embedding, fitted.embedding)  # placing codes moves nothing


@pytest.mark.parametrize("damage", [
    lambda p: p.write_bytes(b"not an npz at all"),
    lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),  # truncated
    lambda p: np.savez(p, format=np.array(1), method=np.array("pca"), embedding=np.zeros((3, 2))),  # other codes
    lambda p: np.savez(p, format=np.array(99), method=np.array("pca")),  # a future layout
    lambda p: np.savez(p, format=np.array(1), method=np.array("pca"), embedding=np.array([object()], dtype=object)),
])
def test_a_damaged_or_foreign_file_is_ignored_refitted_and_replaced(weights: Path, fits: list[str], damage) -> None:  # type: ignore[no-untyped-def]
    codes, cache = blobs(d=4), MapCache(weights)
    good = cache.fit(codes, "pca")
    path = cache.path(codes, "pca")
    damage(path)
    again = cache.fit(codes, "pca")
    assert fits == ["pca", "pca"]
    np.testing.assert_array_equal(again.embedding, good.embedding)
    assert load_map(path, codes) is not None  # the refit replaced the bad file


def test_the_file_name_changes_with_every_setting_the_map_depends_on(weights: Path) -> None:
    codes, cache = blobs(d=4), MapCache(weights)
    names = {
        cache.path(codes, "pca").name,
        cache.path(codes, "raw", dims=(0, 1)).name,
        cache.path(codes, "raw", dims=(1, 0)).name,
        cache.path(codes, "tsne", perplexity=30, seed=0).name,
        cache.path(codes, "tsne", perplexity=20, seed=0).name,
        cache.path(codes, "tsne", perplexity=30, seed=1).name,
    }
    assert len(names) == 6
    # settings a method ignores do not change its name
    assert cache.path(codes, "pca", dims=(2, 3), perplexity=5, seed=9) == cache.path(codes, "pca")
    assert map_settings("tsne", perplexity=30.0, seed=0).startswith("tsne-p30-s0-")


def test_the_file_name_changes_with_the_checkpoints_content_and_its_codes(weights: Path, fits: list[str]) -> None:
    codes, cache = blobs(d=4), MapCache(weights)
    before = cache.path(codes, "pca")
    cache.fit(codes, "pca")
    weights.write_bytes(b"weights, version 2")  # retrained in place: same name, new content
    assert cache.path(codes, "pca") != before
    cache.fit(codes, "pca")
    assert fits == ["pca", "pca"], "a retrained checkpoint was served its old map"
    assert cache.path(codes + 1e-3, "pca") != cache.path(codes, "pca")


def test_an_unwritable_folder_keeps_the_map_in_memory_only(tmp_path: Path, weights: Path, fits: list[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache folder's parent should be")
    cache = MapCache(weights, folder=blocker / "maps")
    codes = blobs(d=4)
    projection = cache.fit(codes, "pca")  # no exception: the map is still made
    assert isinstance(projection, LinearProjection)
    assert not save_map(cache.path(codes, "pca"), projection)
    cache.fit(codes, "pca")
    assert fits == ["pca", "pca"]


def test_a_folder_of_its_own_holds_the_maps_of_any_checkpoint(tmp_path: Path, weights: Path) -> None:
    cache = MapCache(weights, folder=tmp_path / "maps")
    codes = blobs(d=4)
    cache.fit(codes, "pca")
    assert [p.parent for p in (tmp_path / "maps").iterdir()] == [tmp_path / "maps"]
    assert not (weights.parent / ".cache").exists()



def test_a_checkpoint_gone_from_disk_still_gets_its_map(weights: Path, fits: list[str]) -> None:
    cache = MapCache(weights)
    weights.unlink()
    assert isinstance(cache.fit(blobs(d=4), "pca"), LinearProjection) and fits == ["pca"]


def test_the_folder_keeps_its_bounds_evicting_the_least_recently_used(weights: Path, fits: list[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(map_cache, "MAX_CACHE_FILES", 2)
    cache, codes = MapCache(weights), blobs(d=4)
    for dims in ((0, 1), (1, 2)):
        cache.fit(codes, "raw", dims=dims)
    first = cache.path(codes, "raw", dims=(0, 1))
    os.utime(first, ns=(1, 1))  # long unused...
    cache.fit(codes, "raw", dims=(0, 1))  # ...until read again: touched, so kept
    cache.fit(codes, "raw", dims=(2, 3))  # the third map evicts the least recently used: (1, 2)
    names = sorted(p.name for p in first.parent.glob("*.npz"))
    assert names == sorted(cache.path(codes, "raw", dims=d).name for d in ((0, 1), (2, 3)))
    map_cache.evict_least_recently_used(first.parent, max_files=10, max_bytes=1)  # a byte bound too
    assert not list(first.parent.glob("*.npz"))


def test_a_file_declaring_more_than_a_map_holds_is_refused_before_it_is_unpacked(
    weights: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes, cache = blobs(d=4), MapCache(weights)
    path = cache.path(codes, "pca")
    path.parent.mkdir(parents=True)
    # small on disk, 160 MB unpacked (the attack scales this to gigabytes)
    np.savez_compressed(path, format=np.array(1), method=np.array("pca"), embedding=np.zeros((10_000_000, 2)))
    assert path.stat().st_size < 1 << 20
    loads: list[Path] = []
    monkeypatch.setattr(map_cache.np, "load", lambda *a, **k: loads.append(a[0]))
    assert load_map(path, codes) is None and loads == []
