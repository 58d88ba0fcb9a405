"""Slider latency on the Explore page: the server-side work behind one slider move.

Moving a latent slider reruns only the page's `slider_panel` fragment: decode the point,
encode the enlarged image as PNG for st.image, and place the marker on the small latent
map (its position, sent as JSON to the map_events component; the map itself is drawn once). Bar: median and p95 under 30 ms for
the shipped models digits-mlp-2d and mnist-conv-16d, over 200 random slider moves.

Three measurements per model, side by side:
1. the fragment's work, stage by stage, with the page's own functions and Streamlit's
   own marshalling (`image_to_url` as st.image calls it; the marker's JSON as the
   component's data);
2. the fragment in a real script run (AppTest): the Sliders tab with `slider_panel` minus
   the same tab without it, so widgets, session state and the media store count too;
3. a full AppTest rerun of the whole app on the Explore page (what every move would cost
   without the fragment), for comparison;
and the decode with one torch thread (what app.py sets for every script run) against
torch's default of one per core, which on a busy 2-core machine waits for a second core.
Measurements 1 and 2 run with one thread, as the app does.

    .venv/bin/python bench/slider_latency.py                 # 200 moves per model
    .venv/bin/python bench/slider_latency.py --moves 20      # a smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from streamlit.elements.lib.image_utils import image_to_url  # noqa: E402
from streamlit.elements.lib.layout_utils import LayoutConfig  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from ui.small_map import SLIDER_LIMIT, Codes, SmallMap, map_background, small_map_method  # noqa: E402
from ui.sliders import IMAGE_PX, SLIDER_STEP, TOP_DIMS, decoded_png_array  # noqa: E402
from vae_core import load_checkpoint  # noqa: E402
from vae_core.latent_ops import rank_dims  # noqa: E402
from vae_core.projection import fit_projection  # noqa: E402

MODELS = ("digits-mlp-2d", "mnist-conv-16d")
BAR_MS = 30.0
WARMUP = 5  # moves run first and not recorded
DEFAULT_THREADS = torch.get_num_threads()  # before main() sets one, as app.py does


def random_moves(model_name: str, n: int, seed: int = 0) -> list[tuple[int, float]]:
    """n (dim, value) moves of the sliders the page shows first, each to a new value on the
    slider's grid."""
    codes = load_checkpoint(REPO / "checkpoints" / model_name).codes
    d = codes.mu.shape[1]
    shown = rank_dims(codes.mu, codes.log_var)[:TOP_DIMS] if d > TOP_DIMS else np.arange(d)
    grid = np.round(np.arange(-SLIDER_LIMIT, SLIDER_LIMIT + SLIDER_STEP / 2, SLIDER_STEP), 2)
    rng = np.random.default_rng(seed)
    current = dict.fromkeys(shown.tolist(), 0.0)
    moves = []
    for dim in rng.choice(shown, n):
        value = float(rng.choice(grid[grid != current[dim]]))
        current[dim] = value
        moves.append((int(dim), value))
    return moves


def summary(ms: list[float]) -> str:
    return f"{np.median(ms):6.2f} / {np.percentile(ms, 95):6.2f}"


def stage_times(model_name: str, moves: list[tuple[int, float]]) -> dict[str, list[float]]:
    """Measurement 1: each stage of the fragment's work, per move after the warm-up, in ms."""
    ckpt = load_checkpoint(REPO / "checkpoints" / model_name)
    mu, log_var, labels = ckpt.codes.mu, ckpt.codes.log_var, ckpt.codes.labels
    d = ckpt.config.latent_dim
    codes = Codes(mu, labels, ckpt.metadata.class_names, rank_dims(mu, log_var))
    projection = fit_projection(codes.mu, small_map_method(d))
    small_map = SmallMap(projection, map_background(codes.mu, codes.labels, len(codes.class_names), projection))
    layout = LayoutConfig(width=IMAGE_PX)
    z = np.zeros(d)
    times: dict[str, list[float]] = {"decode": [], "png": [], "map": [], "total": []}
    for i, (dim, value) in enumerate(moves):
        z[dim] = value
        t0 = time.perf_counter()
        image = decoded_png_array(ckpt.model, z)
        t1 = time.perf_counter()
        image_to_url(image, layout, False, "RGB", "PNG", f"bench-{i}")
        t2 = time.perf_counter()
        json.dumps({"marker": [float(v) for v in small_map.xy(z)[0]]})
        t3 = time.perf_counter()
        if i >= WARMUP:
            for key, dt in (("decode", t1 - t0), ("png", t2 - t1), ("map", t3 - t2), ("total", t3 - t0)):
                times[key].append(dt * 1e3)
    return times


def _panel_script(model_path: str, with_panel: bool) -> None:
    """Run by AppTest as a script: the Sliders tab of the page with or without its fragment."""
    import torch

    from ui.loaders import load_model
    from ui.small_map import load_inputs
    from ui.sliders import slider_controls, slider_panel

    torch.set_num_threads(1)  # as app.py does for every script run
    ckpt = load_model(model_path)
    codes, small_map = load_inputs(ckpt)
    dims = slider_controls(ckpt, codes)
    if with_panel:
        slider_panel(ckpt, dims, small_map)


def _timed_run(at: AppTest) -> float:
    t0 = time.perf_counter()
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    return (time.perf_counter() - t0) * 1e3


def apptest_times(model_name: str, moves: list[tuple[int, float]]) -> dict[str, list[float]]:
    """Measurements 2 and 3, in ms per move after the warm-up: the three AppTests take turns
    on each move so that background load hits them alike."""
    path = str(REPO / "checkpoints" / f"{model_name}.safetensors")
    panel, floor = (
        AppTest.from_function(_panel_script, args=(path, with_panel), default_timeout=60).run()
        for with_panel in (True, False)
    )
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    app.session_state["model_path"] = path
    app.run()
    app.switch_page("pages/explore.py")
    app.run()
    for at in (panel, floor, app):
        if at.exception:
            raise RuntimeError(at.exception[0].message)
    times: dict[str, list[float]] = {"floor": [], "panel": [], "full": []}
    for i, (dim, value) in enumerate(moves):
        panel.slider(key=f"z_{dim}").set_value(value)
        app.slider(key=f"z_{dim}").set_value(value)
        row = {"panel": _timed_run(panel), "floor": _timed_run(floor), "full": _timed_run(app)}
        if i >= WARMUP:
            for key, ms in row.items():
                times[key].append(ms)
    times["fragment"] = list(np.array(times["panel"]) - np.median(times["floor"]))
    return times


def decode_threads(model_name: str, moves: list[tuple[int, float]]) -> dict[int, list[float]]:
    """Decode only, with one torch thread and with torch's default, taking turns per move:
    how much of the decode time is waiting for a second core."""
    model = load_checkpoint(REPO / "checkpoints" / model_name).model
    z = np.zeros(model.latent_dim)
    times: dict[int, list[float]] = {1: [], DEFAULT_THREADS: []}
    try:
        for i, (dim, value) in enumerate(moves):
            z[dim] = value
            for threads in times:
                torch.set_num_threads(threads)
                t0 = time.perf_counter()
                decoded_png_array(model, z)
                if i >= WARMUP:
                    times[threads].append((time.perf_counter() - t0) * 1e3)
    finally:
        torch.set_num_threads(1)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=200, help="slider moves per model and measurement")
    parser.add_argument("--no-apptest", action="store_true", help="skip the AppTest measurements (2 and 3)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as app.py does for every script run
    models = [m for m in MODELS if (REPO / "checkpoints" / f"{m}.safetensors").exists()]
    for missing in sorted(set(MODELS) - set(models)):
        print(f"{missing}: checkpoint not found, skipped")
    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, 1 thread (as in the app), {os.cpu_count()} CPUs, load average "
          f"{load:.1f}{' (busy machine: expect inflated figures)' if load > (os.cpu_count() or 1) / 2 else ''}")
    print(f"{args.moves} slider moves per model; every cell is median / p95 in ms; bar {BAR_MS:.0f} ms\n")
    print("1. The fragment's work, stage by stage")
    print(f"{'model':<16} {'decode':>15} {'PNG':>15} {'marker + JSON':>15} {'fragment work':>15}")
    results = {}
    for name in models:
        moves = random_moves(name, WARMUP + args.moves)
        results[name] = (moves, stage_times(name, moves))
        stages = results[name][1]
        print(f"{name:<16} " + " ".join(f"{summary(stages[k]):>15}" for k in ("decode", "png", "map", "total")))
    verdicts = {name: {"fragment work": stages["total"]} for name, (_, stages) in results.items()}
    if not args.no_apptest:
        print("\n2-3. In AppTest script runs: the panel alone vs the whole app (full rerun)")
        print(f"{'model':<16} {'empty script':>15} {'panel script':>15} {'panel - empty':>15} {'full rerun':>15} "
              f"{'full / panel':>12}")
        for name, (moves, _) in results.items():
            runs = apptest_times(name, moves)
            ratio = np.median(runs["full"]) / np.median(runs["panel"])
            print(f"{name:<16} " + " ".join(f"{summary(runs[k]):>15}" for k in ("floor", "panel", "fragment", "full"))
                  + f" {ratio:>11.1f}x")
            verdicts[name]["in a script run"] = runs["fragment"]
    print(f"\nDecode + enlarge only: 1 thread (the app) vs torch's default of {DEFAULT_THREADS}")
    for name, (moves, _) in results.items():
        by_threads = decode_threads(name, moves)
        print(f"{name:<16} " + "   ".join(f"{n} thread{'s' * (n > 1)}: {summary(ms)}" for n, ms in by_threads.items()))
    print()
    for name, series in verdicts.items():
        for what, ms in series.items():
            median, p95 = np.median(ms), np.percentile(ms, 95)
            print(f"{name:<16} {what:<16} median {'PASS' if median < BAR_MS else 'FAIL'} ({median:.2f} ms), "
                  f"p95 {'PASS' if p95 < BAR_MS else 'FAIL'} ({p95:.2f} ms) against {BAR_MS:.0f} ms")


if __name__ == "__main__":
    main()
