"""Latent map speed on 10,000 MNIST codes (mnist-conv-16d's stored mu), figures against bars.

1. PCA map: `fit_projection(codes, "pca")`, median of 20.                    bar < 0.1 s
2. t-SNE: ours (`fit_projection(codes, "tsne")`: openTSNE, exact neighbours, FFT grid
   of 2 map units per interval) against openTSNE's defaults and scikit-learn's TSNE on
   the same codes, side by side: wall and CPU time, and trustworthiness (k=10) on one
   shared random subsample of 3,000 codes (the full 10k x 10k distances are too big).
                                    bars: ours < 10 s wall; trust no worse than sklearn's - 0.01
3. Decoding one click: `click_at` (the nearest code within an 8-pixel hit radius on a
   600-pixel map) and `decode_at` (map back + decode), median of 200 random clicks on
   the PCA and t-SNE maps, one torch thread as app.py sets.                 bar < 5 ms
4. The cache: `model_projection` in a real script run (AppTest), run twice: the first run
   fits, the rerun is served from the cache (its time, and the number of fits: 1); and a
   rerun of the whole Latent map page with a click, as a click costs at most. Maps go to a
   temporary disk cache (VAE_EXPLORER_MAP_CACHE), empty at the start; bench/large_map.py
   times reading them back.

5. UMAP (umap-learn, as the app fits it: exact neighbours given to it, 1 thread) against our
   t-SNE on the same codes, side by side: wall and CPU time and trustworthiness (k=10, the
   same 3,000-code subsample as 2.) at 10,000 codes and, with --large, at 100,000 codes
   (bench/large_map.py's: the MNIST test split and 9 jittered copies of each image, encoded
   by mnist-conv-16d). Before any fit, numba compiles UMAP's functions: the first UMAP in a
   process pays for it. So the first UMAP row is a warm-up of 2,000 codes whose time is the
   compile, and 6. says what a user waits for.
6. With --compile: that first-use cost in fresh processes, `import umap`, a first fit of
   2,000 codes and a first placement (33 codes), cold (an empty NUMBA_CACHE_DIR) and again
   with the cache the cold run left; wall and CPU seconds.

Wall times depend on the machine's load; CPU times (this process, all its threads) much
less so. Both are printed, with the load average.

    .venv/bin/python bench/map_speed.py
    .venv/bin/python bench/map_speed.py --no-sklearn   # skip scikit-learn's TSNE (slow)
    nice -n 15 .venv/bin/python bench/map_speed.py --no-sklearn --large --compile   # 5. at 100k too, and 6.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from sklearn.manifold import trustworthiness  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import vae_core.map_cache as map_cache_module  # noqa: E402
from vae_core import load_checkpoint  # noqa: E402
from vae_core.projection import Click, click_at, decode_at, fit_projection  # noqa: E402

MODEL = "mnist-conv-16d"
PCA_BAR_S, TSNE_BAR_S, TRUST_MARGIN, DECODE_BAR_MS = 0.1, 10.0, 0.01, 5.0
TRUST_SAMPLE, TRUST_K = 3000, 10


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall s, CPU s of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def bench_pca(codes: np.ndarray) -> None:
    fit_projection(codes, "pca")  # warm-up
    times = [timed(lambda: fit_projection(codes, "pca"))[1] for _ in range(20)]
    t = float(np.median(times))
    print(f"1. PCA map of {len(codes):,} codes: {t * 1000:.1f} ms (median of 20)   bar < {PCA_BAR_S * 1000:.0f} ms  "
          f"{verdict(t < PCA_BAR_S)}")


def bench_tsne(codes: np.ndarray, with_sklearn: bool) -> Any:
    """Prints the side-by-side table; returns our fitted t-SNE projection."""
    from openTSNE import TSNE as OpenTSNE
    from sklearn.manifold import TSNE as SklearnTSNE

    sample = np.random.default_rng(0).choice(len(codes), TRUST_SAMPLE, replace=False)
    references: dict[str, Callable[[], np.ndarray]] = {
        "openTSNE defaults (Annoy kNN, 1 unit/interval)": lambda: np.asarray(OpenTSNE(n_jobs=1, random_state=0).fit(codes)),
    }
    if with_sklearn:
        references["scikit-learn TSNE (Barnes-Hut, defaults)"] = lambda: SklearnTSNE(random_state=0).fit_transform(codes)
    print(f"2. t-SNE of {len(codes):,} codes ({len(sample):,}-code subsample for trustworthiness, k={TRUST_K}):")
    print(f"   {'':48s} {'wall s':>8s} {'CPU s':>8s} {'trust':>7s}")

    def row(name: str, embedding: np.ndarray, wall: float, cpu: float) -> float:
        trust = trustworthiness(codes[sample], embedding[sample], n_neighbors=TRUST_K)
        print(f"   {name:48s} {wall:8.1f} {cpu:8.1f} {trust:7.4f}", flush=True)
        return float(trust)

    ours, o_wall, o_cpu = timed(lambda: fit_projection(codes, "tsne", seed=0))
    o_trust = row("ours (openTSNE, exact kNN, 2 units/interval)", ours.embedding, o_wall, o_cpu)
    compared = []
    for name, run in references.items():
        embedding, wall, cpu = timed(run)
        compared.append((name, wall, cpu, row(name, embedding, wall, cpu)))
    print(f"   ours: {o_wall:.1f} s wall, bar < {TSNE_BAR_S:.0f} s  {verdict(o_wall < TSNE_BAR_S)}"
          f" (CPU {o_cpu:.1f} s  {verdict(o_cpu < TSNE_BAR_S)})")
    for name, wall, cpu, trust in compared:
        check = f"  {verdict(o_trust >= trust - TRUST_MARGIN)}" if name.startswith("scikit") else ""
        print(f"   {name}: {wall / o_wall:.1f}x our wall time, {cpu / o_cpu:.1f}x our CPU time; "
              f"our trust {o_trust - trust:+.4f} (bar > -{TRUST_MARGIN}){check}")
    return ours


def bench_decode(ckpt: Any, codes: np.ndarray, tsne: Any) -> None:
    torch.set_num_threads(1)  # as app.py does for every script run
    rng = np.random.default_rng(1)
    print("3. Decoding one click (hit test + map back + decode), median / p95 of 200 random clicks, 1 torch thread:")
    for name, projection in (("PCA", fit_projection(codes, "pca")), ("t-SNE", tsne)):
        lo, hi = projection.embedding.min(axis=0), projection.embedding.max(axis=0)
        rx, ry = (hi - lo) * 8 / 600  # the page's 8-pixel hit radius on a map about 600 pixels wide
        clicks = lo + rng.random((205, 2)) * (hi - lo)

        def one_click(xy: np.ndarray) -> np.ndarray:
            click = click_at(projection.embedding, xy[0], xy[1], rx, ry)
            return decode_at(ckpt.model, projection, np.array(click.xy))[1]

        ms = [timed(lambda xy=xy: one_click(xy))[1] * 1000 for xy in clicks]
        ms = ms[5:]  # warm-up
        med = float(np.median(ms))
        print(f"   {name:6s} {med:6.2f} / {np.percentile(ms, 95):6.2f} ms   bar < {DECODE_BAR_MS:.0f} ms  "
              f"{verdict(med < DECODE_BAR_MS)}")


def projection_script() -> None:
    """Run by AppTest: one cached model_projection call, timed."""
    import time

    import streamlit as st

    from ui.loaders import load_model, model_projection

    ckpt = load_model(st.session_state["bench_path"])
    start = time.perf_counter()
    model_projection(ckpt, st.session_state["bench_method"])
    st.session_state["bench_s"] = time.perf_counter() - start


def bench_cache(weights: Path) -> None:
    import ui.loaders as loaders

    fits: list[str] = []
    real = map_cache_module.fit_projection

    def counting(*args: Any, **kwargs: Any) -> Any:
        fits.append(args[1])
        return real(*args, **kwargs)

    map_cache_module.fit_projection = counting  # count the fits behind the caches
    print("4. The cache: model_projection in a script run (AppTest), first run then a rerun:")
    try:
        for method in ("pca", "tsne"):
            loaders._projection_job.clear()
            fits.clear()
            at = AppTest.from_function(projection_script, default_timeout=600)
            at.session_state["bench_path"], at.session_state["bench_method"] = str(weights), method
            at.run()
            first = at.session_state["bench_s"]
            at.run()
            again = at.session_state["bench_s"]
            assert not at.exception, at.exception
            print(f"   {method:5s} first call {first * 1000:9.1f} ms, rerun {again * 1000:6.3f} ms "
                  f"({first / again:,.0f}x), fits: {len(fits)}  {verdict(len(fits) == 1)}")
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
        at.session_state["model_path"] = str(weights)
        at.session_state["latent_map_method"] = "tsne"
        at.run()
        at.switch_page("pages/latent_map.py")
        at.run()
        at.session_state["latent_map_click"] = Click((0.0, 0.0), None)
        times = [timed(at.run)[1] for _ in range(5)]
        assert not at.exception, at.exception
        print(f"   whole Latent map page rerun with a click (t-SNE map, 10k points, from the cache): "
              f"{np.median(times) * 1000:.0f} ms median of 5; fits: {len(fits)}")
    finally:
        map_cache_module.fit_projection = real


def trust(codes: np.ndarray, embedding: np.ndarray) -> float:
    """Trustworthiness (k=TRUST_K) on a fixed random subsample of TRUST_SAMPLE codes."""
    sample = np.random.default_rng(0).choice(len(codes), min(TRUST_SAMPLE, len(codes)), replace=False)
    return float(trustworthiness(codes[sample], embedding[sample], n_neighbors=TRUST_K))


def bench_umap(codes: np.ndarray, label: str) -> None:
    """UMAP against our t-SNE on the same codes, fitted one after the other."""
    tsne, tsne_wall, tsne_cpu = timed(lambda: fit_projection(codes, "tsne", seed=0))
    umap, u_wall, u_cpu = timed(lambda: fit_projection(codes, "umap", seed=0))
    t_trust, u_trust = trust(codes, tsne.embedding), trust(codes, umap.embedding)
    for name, wall, cpu, value in (("t-SNE (ours, openTSNE)", tsne_wall, tsne_cpu, t_trust),
                                   ("UMAP (umap-learn, exact kNN)", u_wall, u_cpu, u_trust)):
        print(f"   {label:>7s} {name:30s} {wall:8.1f} {cpu:8.1f} {value:7.4f}", flush=True)
    print(f"   {label:>7s} UMAP / t-SNE: {u_wall / tsne_wall:.2f}x the wall time, {u_cpu / tsne_cpu:.2f}x the CPU time, "
          f"trust {u_trust - t_trust:+.4f}", flush=True)


def large_codes() -> np.ndarray:
    """bench/large_map.py's 100,000 codes (encoded here, in a temporary folder)."""
    from bench.large_map import build_big_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        weights = build_big_checkpoint(Path(tmp))
        return load_checkpoint(weights).codes.mu.astype(np.float64)  # type: ignore[union-attr]


FIRST_USE = """
import time, numpy as np
t = time.perf_counter(); c = time.process_time()
import umap  # noqa: F401
print(f"import {time.perf_counter() - t:.1f} {time.process_time() - c:.1f}")
from vae_core.projection import fit_projection
codes = np.random.default_rng(0).normal(size=(2000, 16))
t = time.perf_counter(); c = time.process_time()
projection = fit_projection(codes, "umap")
print(f"fit {time.perf_counter() - t:.1f} {time.process_time() - c:.1f}")
t = time.perf_counter(); c = time.process_time()
projection.transform(codes[:33] + 0.1)
print(f"place {time.perf_counter() - t:.1f} {time.process_time() - c:.1f}")
"""


def bench_first_use() -> None:
    print("6. UMAP's first use in a fresh process (numba compiles it), wall / CPU seconds:")
    with tempfile.TemporaryDirectory() as cache:
        for run in ("cold, empty numba cache", "again, with that cache"):
            env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(REPO)}
            out = subprocess.run([sys.executable, "-c", FIRST_USE], env=env, capture_output=True, text=True, check=True)
            parts = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
            print(f"   {run:24s} " + ", ".join(
                f"{step} {parts[step].split()[0]} / {parts[step].split()[1]} s" for step in ("import", "fit", "place"))
                + f"   (load {os.getloadavg()[0]:.1f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn's TSNE (the slowest run)")
    parser.add_argument("--large", action="store_true", help="5. at 100,000 codes too (minutes)")
    parser.add_argument("--compile", action="store_true", help="6. UMAP's first-use cost in fresh processes")
    parser.add_argument("--only-umap", action="store_true", help="5. (and 6.) alone")
    args = parser.parse_args()
    weights = REPO / "checkpoints" / f"{MODEL}.safetensors"
    if not weights.exists():
        sys.exit(f"{weights} not found: build it with `make checkpoints`")
    ckpt = load_checkpoint(weights)
    if ckpt.codes is None:
        sys.exit(f"{MODEL} stores no latent codes")
    codes = ckpt.codes.mu.astype(np.float64)
    print(f"{MODEL}: {codes.shape[0]:,} codes of {codes.shape[1]} dims; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    if not args.only_umap:
        bench_pca(codes)
        tsne = bench_tsne(codes, not args.no_sklearn)
        bench_decode(ckpt, codes, tsne)
        with tempfile.TemporaryDirectory() as maps:
            os.environ["VAE_EXPLORER_MAP_CACHE"] = maps  # an empty disk cache: the first run fits
            bench_cache(weights)
    print(f"5. UMAP against t-SNE ({TRUST_SAMPLE:,}-code subsample for trustworthiness, k={TRUST_K}); "
          f"load average {os.getloadavg()[0]:.1f}:")
    print(f"   {'codes':>7s} {'':30s} {'wall s':>8s} {'CPU s':>8s} {'trust':>7s}")
    _, warm_wall, warm_cpu = timed(lambda: fit_projection(codes[:2000], "umap", seed=0))
    print(f"   {'2,000':>7s} UMAP's first fit (numba compiles) {warm_wall:5.1f} {warm_cpu:8.1f}", flush=True)
    bench_umap(codes, f"{len(codes):,}")
    if args.compile:
        bench_first_use()
    if args.large:
        big = large_codes()
        bench_umap(big, f"{len(big):,}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
