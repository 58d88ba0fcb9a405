"""Reparameterization: the VAE maths, live on the chosen model.

eps ~ N(0, I) becomes z = mu + sigma * eps (animated in 1-D and 2-D), the KL term in closed
form against its Monte Carlo estimate, and, for 2-D models, the true posterior p(z|x) on a
grid against the encoder's q(z|x). The numbers come from vae_core.reparam and
vae_core.posterior; this file only wires widgets and draws.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from pages import common
from vae_core import VAE, Checkpoint, DataError
from vae_core.inference import decode_latents, encode_images, to_uint8
from vae_core.posterior import (
    Evidence, Extent, GridPosterior, ellipse_points, evidence, grid_posterior, posterior_moments, window_around,
)
from vae_core.reparam import (
    WORKED_KL, WORKED_Z, Frame1D, RunningKL, animation_frames_1d, cloud_frames_2d, format_number, kl_terms,
    mc_kl_running, normal_pdf, q_of_point, reparameterize_np, sigma_from_log_var,
)

LATENT_LOG_VAR_KEY = "latent_log_var"  # list[float], set by the Encode page next to common.LATENT_KEY
TABS = ("1-D animation", "2-D cloud", "KL term", "Bayes: p(z|x) vs q(z|x)")  # labels double as tab state
N_FRAMES = 30
N_CLOUD = 300
N_DECODED = 8
MU_RANGE, SIGMA_RANGE, EPS_RANGE = (-5.0, 5.0), (0.01, 3.0), (-3.5, 3.5)
PLAY_ARGS = {"frame": {"duration": 60, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
JUMP_ARGS = {"frame": {"duration": 0, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}}


# ---------------------------------------------------------------- formatting helpers
def _num(value: float, digits: int = 4) -> str:
    """A number for a LaTeX formula, negatives in parentheses so squares read right."""
    text = format_number(value, digits)
    return f"({text})" if text.startswith("-") else text


def _kl_latex(mu: float, sigma: float, kl: float, sub: str = "") -> str:
    """The closed-form KL of one dimension with its numbers filled in."""
    log_var = 2.0 * np.log(sigma)
    return (
        rf"\mathrm{{KL}}{sub} = \tfrac12\left(\mu{sub}^2 + \sigma{sub}^2 - \ln\sigma{sub}^2 - 1\right)"
        rf" = \tfrac12\left({_num(mu)}^2 + {_num(sigma)}^2 - {_num(log_var)} - 1\right) = {kl:.5f}"
    )


def _enlarge(image: np.ndarray, size: int = 112) -> np.ndarray:
    """Nearest-neighbour upscaling so 8x8 digits stay crisp instead of blurred by the browser."""
    image = to_uint8(np.asarray(image).reshape(image.shape[-2:]))
    k = max(1, size // image.shape[-1])
    return np.kron(image, np.ones((k, k), dtype=np.uint8))


def _animate(fig: go.Figure, labels: list[str]) -> go.Figure:
    """Play/Pause buttons and a scrubber: every frame is in the figure, so plotly.js plays
    them in the browser without a round trip to the server."""
    names = [frame.name for frame in fig.frames]
    fig.update_layout(
        updatemenus=[{
            "type": "buttons", "direction": "left", "x": 0.0, "y": -0.12, "xanchor": "left", "yanchor": "top",
            "buttons": [
                {"label": "▶ Play", "method": "animate", "args": [None, PLAY_ARGS]},
                {"label": "❚❚ Pause", "method": "animate", "args": [[None], JUMP_ARGS]},
            ],
        }],
        sliders=[{
            "active": 0, "x": 0.18, "len": 0.82, "y": -0.08, "currentvalue": {"prefix": "t = "},
            "steps": [
                {"label": label, "method": "animate", "args": [[name], JUMP_ARGS]} for name, label in zip(names, labels)
            ],
        }],
        margin={"b": 110},
    )
    return fig


# ---------------------------------------------------------------- the input: mu, log_var, image
def _pick_input(ckpt: Checkpoint) -> tuple[np.ndarray, np.ndarray, np.ndarray, str] | None:
    """(mu (D,), log_var (D,), image (H, W) for the Bayes panel, caption) of the chosen input."""
    model, d = ckpt.model, ckpt.config.latent_dim
    handed = st.session_state.get(common.LATENT_KEY)
    handed_ok = handed is not None and len(handed) == d
    if handed_ok:
        source = st.radio("Input", ["Data point", "Handed-over point"], key="rp_input_source", horizontal=True)
    else:
        source = "Data point"
        st.caption("Send a point from the Latent map, Explore or Encode page to study it here." if handed is None else
                   f"The latent point from another page has {len(handed)} dimensions; this model has {d}.")

    if source == "Handed-over point":
        log_var = st.session_state.get(LATENT_LOG_VAR_KEY)
        log_var = log_var if log_var is not None and len(log_var) == d else None
        mu, log_var_used, x_hat = q_of_point(model, np.asarray(handed), log_var)
        origin = st.session_state.get(common.LATENT_SOURCE_KEY, "another page")
        spread = "its encoder spread" if log_var is not None else "the encoder's spread for its decoded image"
        return mu, log_var_used, x_hat, f"Point from {origin}, with {spread}. Image: its decoding x̂ = decode(μ)."

    data = common.model_dataset(ckpt)
    if data is not None:
        index = st.number_input("Data point", 0, len(data) - 1, 0, key="rp_index")
        mu, log_var = encode_images(model, data.images[index : index + 1])
        label = data.class_names[int(data.labels[index])] if int(data.labels[index]) >= 0 else "unlabelled"
        return mu[0], log_var[0], data.images[index, 0].numpy(), f"{data.name} #{index} (label {label})"
    try:
        codes_mu, codes_log_var, labels = common.model_codes(ckpt)
    except DataError:
        st.warning("This model's data set is not on this machine and it stores no latent codes: "
                   "hand over a point from the Encode or Latent map page instead.")
        return None
    index = st.number_input("Data point", 0, len(codes_mu) - 1, 0, key="rp_index")
    mu, log_var = codes_mu[index].astype(np.float32), codes_log_var[index].astype(np.float32)
    x_hat = decode_latents(model, mu)[0]
    caption = f"Stored code #{index} (label {labels[index]}); the data set is not here, so the image is decode(μ)."
    return mu, log_var, x_hat, caption


def _show_encoder(mu: np.ndarray, log_var: np.ndarray, image: np.ndarray, caption: str) -> None:
    sigma = sigma_from_log_var(log_var)
    kl = kl_terms(mu, sigma)
    left, right = st.columns([1, 3])
    left.image(_enlarge(image), width=112)
    left.caption(caption)
    with right:
        st.dataframe(
            {"dim": np.arange(1, len(mu) + 1), "μ": mu, "log σ²": log_var, "σ": sigma, "KL (nats)": kl},
            hide_index=True, height=min(35 * (len(mu) + 1) + 3, 250),
        )
        dim = st.selectbox("Formula for dimension", range(len(mu)), format_func=lambda i: str(i + 1), key="rp_dim")
        st.latex(
            rf"\sigma_{{{dim + 1}}} = e^{{\log\sigma^2/2}} = e^{{{_num(log_var[dim])}/2}} = {format_number(sigma[dim])}"
        )
        st.latex(_kl_latex(float(mu[dim]), float(sigma[dim]), float(kl[dim]), sub=f"_{{{dim + 1}}}"))
        st.latex(rf"\mathrm{{KL}}(q(z|x)\,\|\,p(z)) = \sum_i \mathrm{{KL}}_i = {kl.sum():.5f}\ \text{{nats}}")


# ---------------------------------------------------------------- 1-D animation
def _set_1d(mu: float, sigma: float, eps: float) -> None:
    st.session_state.update(rp_mu=mu, rp_sigma=sigma, rp_eps=eps)


def _from_dim(mu: np.ndarray, sigma: np.ndarray) -> None:
    """Copy one encoder dimension into the sliders (clipped to their range, 2 decimals)."""
    i = st.session_state.get("rp_dim_1d", 0)
    st.session_state["rp_mu"] = round(float(np.clip(mu[i], *MU_RANGE)), 2)
    st.session_state["rp_sigma"] = round(float(np.clip(sigma[i], *SIGMA_RANGE)), 2)


def _sample_eps() -> None:
    st.session_state["rp_eps"] = round(float(np.clip(np.random.default_rng().standard_normal(), *EPS_RANGE)), 2)


@st.fragment
def _panel_1d(mu: np.ndarray, sigma: np.ndarray) -> None:
    if "rp_mu" not in st.session_state:
        st.session_state["rp_eps"] = WORKED_Z["eps"]
        _from_dim(mu, sigma)
    st.markdown("One dimension: the standard normal curve and the sampled ε are shifted by μ and "
                "scaled by σ until ε lands on **z = μ + σ·ε**, a sample of N(μ, σ²). Press ▶ Play.")
    controls, plot = st.columns([1, 3])
    with controls:
        st.slider("μ", *MU_RANGE, step=0.01, key="rp_mu")
        st.slider("σ", *SIGMA_RANGE, step=0.01, key="rp_sigma")
        st.slider("ε", *EPS_RANGE, step=0.01, key="rp_eps")
        st.button("Sample ε", key="sample_eps", icon=":material/casino:", on_click=_sample_eps)
        st.button("Worked example (μ=2, σ=0.5, ε=1)", key="preset_worked_example", on_click=_set_1d,
                  kwargs=WORKED_Z)
        st.selectbox("Encoder dimension", range(len(mu)), format_func=lambda i: str(i + 1), key="rp_dim_1d")
        st.button("Use its μ, σ", key="use_encoder_dim", on_click=_from_dim, args=(mu, sigma))
    m, s, e = st.session_state["rp_mu"], st.session_state["rp_sigma"], st.session_state["rp_eps"]
    frames = animation_frames_1d(m, s, e, N_FRAMES)
    z = float(reparameterize_np(m, s, e))
    with plot:
        st.plotly_chart(_figure_1d(frames), key="rp_anim_1d")
    st.markdown(f"ε = {format_number(e)} is carried to **z = {format_number(z)}** "
                f"(z = μ + σ·ε = {format_number(m)} + {format_number(s)} × {format_number(e)}).")
    st.latex(rf"z = \mu + \sigma\varepsilon = {_num(m)} + {_num(s)} \times {_num(e)} = {format_number(z)},"
             rf"\qquad \sigma = e^{{\log\sigma^2/2}}")


def _figure_1d(frames: list[Frame1D]) -> go.Figure:
    first, last = frames[0], frames[-1]
    y_max = 1.1 * max(frame.density.max() for frame in frames)

    def moving(frame: Frame1D) -> list[go.Scatter]:
        height = float(normal_pdf(frame.point, frame.mean, frame.std))
        return [
            go.Scatter(x=frame.x, y=frame.density, mode="lines", line={"width": 3}, name="N(mean_t, std_t²)"),
            go.Scatter(x=[frame.point, frame.point], y=[0, height], mode="lines+markers", name="the sample",
                       marker={"size": [13, 0], "color": "black"}, line={"dash": "dot", "color": "black"}),
        ]

    static = [
        go.Scatter(x=first.x, y=first.density, mode="lines", name="N(0, 1)", line={"color": "grey", "dash": "dash"}),
        go.Scatter(x=last.x, y=last.density, mode="lines", name="N(μ, σ²)", line={"color": "grey", "dash": "dot"}),
    ]
    fig = go.Figure(
        data=static + moving(first),
        frames=[go.Frame(data=moving(f), traces=[2, 3], name=str(i), layout={"title": {"text": f.label}})
                for i, f in enumerate(frames)],
        layout={"title": {"text": first.label}, "xaxis": {"range": [first.x[0], first.x[-1]], "title": "value"},
                "yaxis": {"range": [0, y_max], "title": "density"}, "height": 430},
    )
    return _animate(fig, [f"{t:.2f}" for t in np.linspace(0, 1, len(frames))])


# ---------------------------------------------------------------- 2-D animation
def _resample_cloud() -> None:
    st.session_state["rp_cloud_seed"] = st.session_state.get("rp_cloud_seed", 0) + 1


@st.fragment
def _panel_2d(model: VAE, mu: np.ndarray, sigma: np.ndarray) -> None:
    d = len(mu)
    st.markdown(f"{N_CLOUD} draws of ε ~ N(0, I) move along z = μ + σ·ε into the ellipse of q(z|x); "
                "rings: 1σ and 2σ (39 % and 86 % of the mass).")
    c1, c2, c3 = st.columns(3)
    a = c1.selectbox("Horizontal dimension", range(d), index=0, format_func=lambda i: str(i + 1), key="rp_dim_a")
    b = c2.selectbox("Vertical dimension", range(d), index=min(1, d - 1), format_func=lambda i: str(i + 1),
                     key="rp_dim_b")
    c3.button("Resample ε", key="rp_resample", icon=":material/casino:", on_click=_resample_cloud)
    if a == b:
        st.info("Pick two different dimensions.")
        return
    eps = np.random.default_rng(st.session_state.get("rp_cloud_seed", 0)).standard_normal((N_CLOUD, d))
    cloud = cloud_frames_2d(mu[[a, b]], sigma[[a, b]], eps[:, [a, b]], N_FRAMES)
    st.plotly_chart(_figure_2d(cloud, mu[[a, b]], sigma[[a, b]], (a, b)), key="rp_anim_2d")
    z = reparameterize_np(mu, sigma, eps[:N_DECODED])  # all D dimensions, not only the two shown
    images = decode_latents(model, z)
    st.image([_enlarge(img, 84) for img in images], width=84,
             caption=[f"({format_number(p[a], 2)}, {format_number(p[b], 2)})" for p in z])
    st.caption(f"Decoded: the first {N_DECODED} samples z of q(z|x) (captions: dimensions {a + 1}, {b + 1}).")


def _figure_2d(cloud: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, dims: tuple[int, int]) -> go.Figure:
    rings = []
    for k in (1, 2):
        prior = ellipse_points(np.zeros(2), np.ones(2), k)
        post = ellipse_points(mu2, sigma2, k)
        rings += [
            go.Scatter(x=prior[:, 0], y=prior[:, 1], mode="lines", name=f"N(0, I) {k}σ",
                       line={"color": "grey", "dash": "dash"}),
            go.Scatter(x=post[:, 0], y=post[:, 1], mode="lines", name=f"q(z|x) {k}σ",
                       line={"color": "crimson", "width": 3 - k}),
        ]
    lo = np.minimum(cloud.min(axis=(0, 1)), -2.2) - 0.2
    hi = np.maximum(cloud.max(axis=(0, 1)), 2.2) + 0.2
    n = len(cloud) - 1

    def points(t: int) -> go.Scatter:
        return go.Scatter(x=cloud[t, :, 0], y=cloud[t, :, 1], mode="markers", name="samples",
                          marker={"size": 5, "opacity": 0.7})

    labels = [f"{t / n:.2f}" for t in range(n + 1)]
    fig = go.Figure(
        data=rings + [points(0)],
        frames=[go.Frame(data=[points(t)], traces=[len(rings)], name=str(t),
                         layout={"title": {"text": f"t = {labels[t]}: mean t·μ, scale 1 + t(σ − 1)"}})
                for t in range(n + 1)],
        layout={
            "title": {"text": f"t = {labels[0]}: ε ~ N(0, I)"}, "height": 560,
            "xaxis": {"range": [lo[0], hi[0]], "title": f"z{dims[0] + 1}"},
            "yaxis": {"range": [lo[1], hi[1]], "title": f"z{dims[1] + 1}", "scaleanchor": "x"},
        },
    )
    return _animate(fig, labels)


# ---------------------------------------------------------------- KL panel
@st.cache_data(max_entries=32, show_spinner=False)
def _mc(mu: np.ndarray, sigma: np.ndarray, n_max: int, seed: int) -> RunningKL:
    return mc_kl_running(mu, sigma, n_max, seed)


@st.fragment
def _panel_kl(mu: np.ndarray, sigma: np.ndarray) -> None:
    kl = kl_terms(mu, sigma)
    bars = go.Figure(go.Bar(x=[f"z{i + 1}" for i in range(len(kl))], y=kl))
    bars.update_layout(title=f"Closed-form KL per dimension (total {kl.sum():.4f} nats)", height=320,
                       xaxis_title="dimension", yaxis_title="nats")
    st.plotly_chart(bars, key="rp_kl_bars")

    st.markdown("**Monte Carlo over ε.** KL = E over z ~ q of log q(z) − log p(z). "
                "Substituting z = μ + σε turns it into an expectation over ε ~ N(0, 1):")
    st.latex(r"z = \mu + \sigma\varepsilon,\quad \frac{d\varepsilon}{dz} = \frac{1}{\sigma},\quad "
             r"q(z)\,dz = \frac{1}{\sigma}\,\mathcal N\!\left(\tfrac{z-\mu}{\sigma};0,1\right)dz"
             r" = \mathcal N(\varepsilon;0,1)\,d\varepsilon")
    st.latex(r"\mathbb E_{z\sim q}\big[\log q(z) - \log p(z)\big]"
             r" = \mathbb E_{\varepsilon\sim\mathcal N(0,1)}\big[\log q(\mu+\sigma\varepsilon)"
             r" - \log p(\mu+\sigma\varepsilon)\big]")
    c1, c2, c3 = st.columns(3)
    target = c1.radio("Estimate", ["This input (all dimensions)", "Worked example μ=0.5, σ=0.8"], key="rp_mc_target")
    n_max = c2.select_slider("Samples N", [1_000, 10_000, 100_000], value=10_000, key="rp_mc_n")
    seed = int(c3.number_input("Seed", 0, 10_000, 0, key="rp_mc_seed"))
    m, s = (mu, sigma) if target.startswith("This") else (np.array([WORKED_KL["mu"]]), np.array([WORKED_KL["sigma"]]))
    run = _mc(np.asarray(m, dtype=np.float64), np.asarray(s, dtype=np.float64), n_max, seed)
    st.plotly_chart(_figure_mc(run), key="rp_mc_plot")
    st.caption(f"After N = {run.ns[-1]:,}: {run.running_mean[-1]:.4f} ± {2 * run.running_stderr[-1]:.4f} (2 s.e.) "
               f"against the closed form {run.closed_form:.5f}; the band narrows like 1/√N.")

    st.markdown("**Worked example** (one dimension, natural log):")
    worked = float(kl_terms(WORKED_KL["mu"], WORKED_KL["sigma"]))
    st.latex(_kl_latex(WORKED_KL["mu"], WORKED_KL["sigma"], worked))
    st.metric("KL for μ = 0.5, σ = 0.8", f"{worked:.5f}", border=True)
    st.caption(f"{worked:.6f} nats to six decimals. A popular revision guide prints “about 0.173”: that is a "
               "slip, not a rounding of this value.")


def _figure_mc(run: RunningKL) -> go.Figure:
    upper = run.running_mean + 2 * run.running_stderr
    lower = run.running_mean - 2 * run.running_stderr
    fig = go.Figure([
        go.Scatter(x=run.ns, y=upper, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"),
        go.Scatter(x=run.ns, y=lower, mode="lines", line={"width": 0}, fill="tonexty", name="± 2 standard errors",
                   fillcolor="rgba(99, 110, 250, 0.2)"),
        go.Scatter(x=run.ns, y=run.running_mean, mode="lines", name="running mean"),
        go.Scatter(x=[run.ns[0], run.ns[-1]], y=[run.closed_form] * 2, mode="lines", name="closed form",
                   line={"color": "crimson", "dash": "dash"}),
    ])
    fig.update_layout(height=380, xaxis={"type": "log", "title": "N (samples of ε)"}, yaxis_title="KL (nats)")
    return fig


# ---------------------------------------------------------------- Bayes panel
@st.cache_data(max_entries=32, show_spinner="Evaluating the decoder on the grid…")
def _bayes(
    _model: VAE, path: str, mtime_ns: int, image: np.ndarray, grid_n: int, around_q: bool,
) -> tuple[np.ndarray, np.ndarray, GridPosterior, tuple[np.ndarray, np.ndarray], Evidence]:
    """Keyed on checkpoint (path, mtime) and input image; the model itself is not hashed."""
    x = torch.as_tensor(image, dtype=torch.float32).reshape(1, *_model.config.image_shape)
    mu, log_var = encode_images(_model, x)
    mu2, sigma2 = mu[0], sigma_from_log_var(log_var[0])
    extent: Extent = window_around(mu2, sigma2) if around_q else (-4.0, 4.0, -4.0, 4.0)
    grid = grid_posterior(_model, x, grid_n, extent)
    return mu2, sigma2, grid, posterior_moments(grid), evidence(_model, x, 1000, seed=0)


@st.fragment
def _panel_bayes(ckpt: Checkpoint, image: np.ndarray) -> None:
    if ckpt.config.latent_dim != 2:
        st.info(f"The Bayes panel needs a model with a 2-D latent space (this one has {ckpt.config.latent_dim}): "
                "a grid over D dimensions needs n^D decoder calls. Pick a 2-D model in the sidebar.")
        return
    st.markdown("The true posterior p(z|x) ∝ p(x|z) p(z), from the decoder on a grid, against the encoder's "
                "Gaussian q(z|x) (rings: 1σ and 2σ).")
    c1, c2 = st.columns(2)
    grid_n = c1.select_slider("Grid", [40, 80, 120], value=80, key="rp_grid_n")
    window = c2.radio("Window", ["Around q (μ ± 4σ)", "Prior (±4)"], key="rp_window", horizontal=True)
    mu2, sigma2, grid, (post_mean, post_sd), ev = _bayes(
        ckpt.model, str(ckpt.path), ckpt.path.stat().st_mtime_ns, np.asarray(image, dtype=np.float32),
        grid_n, window.startswith("Around"),
    )
    fig = go.Figure(go.Heatmap(x=grid.xs, y=grid.ys, z=grid.posterior, colorscale="Viridis",
                               colorbar={"title": "p(z|x)"}))
    for k in (1, 2):
        ring = ellipse_points(mu2, sigma2, k)
        fig.add_scatter(x=ring[:, 0], y=ring[:, 1], mode="lines", name=f"q(z|x) {k}σ",
                        line={"color": "red", "dash": "solid" if k == 1 else "dash"})
    fig.add_scatter(x=[mu2[0]], y=[mu2[1]], mode="markers", name="encoder μ", marker={"color": "red", "size": 9})
    fig.add_scatter(x=[post_mean[0]], y=[post_mean[1]], mode="markers", name="posterior mean",
                    marker={"color": "cyan", "size": 10, "symbol": "diamond", "line": {"color": "black", "width": 1}})
    fig.update_layout(height=560, xaxis_title="z1", yaxis={"title": "z2", "scaleanchor": "x"},
                      legend={"orientation": "h", "y": -0.15})
    st.plotly_chart(fig, key="rp_bayes_map")

    m1, m2, m3, m4 = st.columns(4)
    m1.metric("ELBO", f"{ev.elbo:.3f}", help=f"Mean over 1,000 draws of ε, ± {ev.elbo_stderr:.3f} (1 s.e.)")
    m2.metric("log p(x), importance sampled", f"{ev.log_px:.3f}", help="1,000 samples from q (Burda et al. 2016)")
    m3.metric("Gap = KL(q ‖ p(z|x))", f"{ev.gap:.3f}")
    m4.metric("log p(x), grid", f"{grid.log_px_grid:.3f}", help="log-sum-exp of log p(x|z) + log p(z) over the "
              "grid, plus the log cell area")
    st.caption(
        f"Nats. Posterior mean ({post_mean[0]:.3f}, {post_mean[1]:.3f}), sd ({post_sd[0]:.3f}, {post_sd[1]:.3f}); "
        f"encoder μ ({mu2[0]:.3f}, {mu2[1]:.3f}), σ ({sigma2[0]:.3f}, {sigma2[1]:.3f}). "
        "log p(x) − ELBO = KL(q(z|x) ‖ p(z|x)) ≥ 0: what the Gaussian encoder misses of the true posterior."
    )


# ---------------------------------------------------------------- page
st.title("Reparameterization")
st.markdown(
    "The encoder gives μ and log σ² for each latent dimension; a sample is **z = μ + σ·ε** "
    "with σ = exp(log σ² / 2) "
    "and ε ~ N(0, I). The randomness sits in ε, so gradients reach μ and σ."
)
ckpt = common.model_or_notice()
if ckpt is None:
    st.stop()
picked = _pick_input(ckpt)
if picked is None:
    st.stop()
mu, log_var, image, caption = picked
sigma = sigma_from_log_var(log_var)
_show_encoder(mu, log_var, image, caption)

# Lazy tabs: only the open one runs, so a new input costs no decoder grid until the Bayes tab is opened.
tab_1d, tab_2d, tab_kl, tab_bayes = st.tabs(list(TABS), key="rp_tab", on_change="rerun")
if tab_1d.open:
    with tab_1d:
        _panel_1d(mu, sigma)
if tab_2d.open:
    with tab_2d:
        _panel_2d(ckpt.model, mu, sigma)
if tab_kl.open:
    with tab_kl:
        _panel_kl(mu, sigma)
if tab_bayes.open:
    with tab_bayes:
        _panel_bayes(ckpt, image)
