"""The Reparameterization page's four panels: eps -> z animated in 1-D and in 2-D, the KL term in
closed form against its Monte Carlo estimate, and the evidence with, for 2-D models, the true
posterior p(z|x) against q(z|x). Each is a fragment: its widgets rerun it alone. The numbers come
from vae_core.reparam and vae_core.posterior, the figures from ui.reparam_figures."""
from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core import Checkpoint
from vae_core.inference import decode_latents
from vae_core.likelihoods import describe_likelihood
from vae_core.posterior import GridPosterior, posterior_moments
from vae_core.reparam import (
    WORKED_KL, WORKED_Z, animation_frames_1d, cloud_frames_2d, format_number, kl_terms, reparameterize_np,
    sample_path, sigma_from_log_var,
)

from .browser_decoder import frames_decoder
from .images import crisp
from .loaders import bayes_numbers, mc_kl
from .reparam_figures import figure_1d, figure_2d, figure_bayes, figure_kl_bars, figure_mc, kl_latex, latex_number
from .style import stacking

N_FRAMES = 30
N_CLOUD = 300
N_DECODED = 8
FRAME_PX = 140  # the sample decoded per animation frame
MU_RANGE, SIGMA_RANGE, EPS_RANGE = (-5.0, 5.0), (0.01, 3.0), (-3.5, 3.5)


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
def panel_1d(ckpt: Checkpoint, mu: np.ndarray, sigma: np.ndarray) -> None:
    if "rp_mu" not in st.session_state:
        st.session_state["rp_eps"] = WORKED_Z["eps"]
        _from_dim(mu, sigma)
    st.markdown("One dimension: the standard normal curve and the sampled ε are shifted by μ and "
                "scaled by σ until ε lands on **z = μ + σ·ε**, a sample of N(μ, σ²). Press ▶ Play.")
    controls, plot = stacking("reparam-1d").columns([1, 3])
    with controls:
        st.slider("μ", *MU_RANGE, step=0.01, key="rp_mu")
        st.slider("σ", *SIGMA_RANGE, step=0.01, key="rp_sigma")
        st.slider("ε", *EPS_RANGE, step=0.01, key="rp_eps")
        st.button("Sample ε", key="sample_eps", icon=":material/casino:", on_click=_sample_eps)
        st.button("Worked example (μ=2, σ=0.5, ε=1)", key="preset_worked_example", on_click=_set_1d,
                  kwargs=WORKED_Z)
        st.selectbox("Encoder dimension", range(len(mu)), format_func="z[{}]".format, key="rp_dim_1d")
        st.button("Use its μ, σ", key="use_encoder_dim", on_click=_from_dim, args=(mu, sigma))
    m, s, e = st.session_state["rp_mu"], st.session_state["rp_sigma"], st.session_state["rp_eps"]
    frames = animation_frames_1d(m, s, e, N_FRAMES)
    z = float(reparameterize_np(m, s, e))
    with plot:
        st.plotly_chart(figure_1d(frames), key="rp_anim_1d")
    i = st.session_state.get("rp_dim_1d", 0)
    mu_d, sigma_d, eps_d = mu.astype(np.float64), sigma.astype(np.float64), np.zeros(len(mu))
    mu_d[i], sigma_d[i], eps_d[i] = m, s, e
    if frames_decoder(ckpt, "rp_decode_1d", sample_path(mu_d, sigma_d, eps_d, N_FRAMES), FRAME_PX,
                      chart_key="rp_anim_1d"):
        st.caption(f"decode(z) of every frame as it plays: z[{i}] follows the animation, every other "
                   "dimension moves from 0 to its encoder μ (ε = 0 there).")
    st.markdown(f"ε = {format_number(e)} is carried to **z = {format_number(z)}** "
                f"(z = μ + σ·ε = {format_number(m)} + {format_number(s)} × {format_number(e)}).")
    st.latex(rf"z = \mu + \sigma\varepsilon = {latex_number(m)} + {latex_number(s)} \times {latex_number(e)} = {format_number(z)},"
             rf"\qquad \sigma = e^{{\log\sigma^2/2}}")


# ---------------------------------------------------------------- 2-D animation
def _resample_cloud() -> None:
    st.session_state["rp_cloud_seed"] = st.session_state.get("rp_cloud_seed", 0) + 1


@st.fragment
def panel_2d(ckpt: Checkpoint, mu: np.ndarray, sigma: np.ndarray) -> None:
    d = len(mu)
    st.markdown(f"{N_CLOUD} draws of ε ~ N(0, I) move along z = μ + σ·ε into the ellipse of q(z|x); "
                "rings: 1σ and 2σ (39 % and 86 % of the mass).")
    c1, c2, c3 = st.columns(3)
    a = c1.selectbox("Horizontal dimension", range(d), index=0, format_func="z[{}]".format, key="rp_dim_a")
    b = c2.selectbox("Vertical dimension", range(d), index=min(1, d - 1), format_func="z[{}]".format,
                     key="rp_dim_b")
    c3.button("Resample ε", key="rp_resample", icon=":material/casino:", on_click=_resample_cloud)
    if a == b:
        st.info("Pick two different dimensions.")
        return
    eps = np.random.default_rng(st.session_state.get("rp_cloud_seed", 0)).standard_normal((N_CLOUD, d))
    cloud = cloud_frames_2d(mu[[a, b]], sigma[[a, b]], eps[:, [a, b]], N_FRAMES)
    st.plotly_chart(figure_2d(cloud, mu[[a, b]], sigma[[a, b]], (a, b)), key="rp_anim_2d")
    if frames_decoder(ckpt, "rp_decode_2d", sample_path(mu, sigma, eps[0], N_FRAMES), FRAME_PX,
                      chart_key="rp_anim_2d"):
        st.caption("decode(z) of the first sample in every frame as it plays (all dimensions move, not only "
                   "the two shown).")
    z = reparameterize_np(mu, sigma, eps[:N_DECODED])  # all D dimensions, not only the two shown
    images = decode_latents(ckpt.model, z)
    st.image(list(crisp(images, 84)), width=84,
             caption=[f"({format_number(p[a], 2)}, {format_number(p[b], 2)})" for p in z])
    st.caption(f"Decoded: the first {N_DECODED} samples z of q(z|x) (captions: z[{a}], z[{b}]).")


# ---------------------------------------------------------------- KL panel
@st.fragment
def panel_kl(mu: np.ndarray, sigma: np.ndarray) -> None:
    kl = kl_terms(mu, sigma)
    st.plotly_chart(figure_kl_bars(kl), key="rp_kl_bars")

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
    run = mc_kl(np.asarray(m, dtype=np.float64), np.asarray(s, dtype=np.float64), n_max, seed)
    st.plotly_chart(figure_mc(run), key="rp_mc_plot")
    st.caption(f"After N = {run.ns[-1]:,}: {run.running_mean[-1]:.4f} ± {2 * run.running_stderr[-1]:.4f} (2 s.e.) "
               f"against the closed form {run.closed_form:.5f}; the band narrows like 1/√N.")

    st.markdown("**Worked example** (one dimension, natural log):")
    worked = float(kl_terms(WORKED_KL["mu"], WORKED_KL["sigma"]))
    st.latex(kl_latex(WORKED_KL["mu"], WORKED_KL["sigma"], worked))
    st.metric("KL for μ = 0.5, σ = 0.8", f"{worked:.5f}", border=True)
    st.caption(f"{worked:.6f} nats to six decimals. A popular revision guide prints “about 0.173”: that is a "
               "slip, not a rounding of this value.")


# ---------------------------------------------------------------- Bayes panel
@st.fragment
def panel_bayes(ckpt: Checkpoint, image: np.ndarray, mu: np.ndarray, log_var: np.ndarray) -> None:
    grid, ev = bayes_numbers(ckpt, np.asarray(image, dtype=np.float32), mu, log_var)
    if grid is not None:
        _posterior_map(grid, mu, log_var)
    else:
        st.info(f"This model has {ckpt.config.latent_dim} latent dimensions: the exact posterior would need n^D "
                "decoder calls on a grid, so log p(x) is only estimated here (IWAE). Pick a 2-D model in the "
                "sidebar to see p(z|x) itself.")
    k = ev.iwae.n_samples
    iwae, iwae_se, ess = float(ev.iwae.log_px[0]), float(ev.iwae.stderr[0]), float(ev.iwae.ess[0])
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("ELBO", f"{ev.elbo:.2f} ± {ev.elbo_stderr:.2f}",
              help=f"Mean of log p(x|z) − KL(q ‖ p(z)) over {k:,} draws of z ~ q(z|x), ± 1 standard error.")
    if ev.log_px_exact:
        m2.metric("log p(x), exact (grid)", f"{ev.log_px:.2f}",
                  help="Quadrature of p(x|z) p(z) over the grid that finds the posterior; within 0.05 nats of a "
                       "fine ±6 reference (bench/posterior_grid.py).")
        m3.metric("Gap log p(x) − ELBO", f"{ev.gap:.2f} ± {ev.gap_stderr:.2f}",
                  help="= KL(q(z|x) ‖ p(z|x)); its error is the ELBO's.")
        m4.metric("KL(q ‖ p(z|x)), grid", f"{ev.kl_grid:.2f}",
                  help="The same KL by quadrature over q's ±6σ box, with no sampling: a cross-check of the gap.")
    else:
        m2.metric("log p(x), estimated (IWAE)", f"{iwae:.2f} ± {iwae_se:.2f}",
                  help=f"Importance sampling with K = {k:,} draws from q (Burda et al. 2016), ± 1 standard error.")
        m3.metric("Gap, estimated", f"{ev.gap:.2f} ± {ev.gap_stderr:.2f}", help="IWAE log p(x) − ELBO.")
        m4.metric("Effective sample size", f"{ess:,.0f} of {k:,}", help="(Σw)² / Σw² of the importance weights.")
    heavy = bool(ev.iwae.heavy_tailed()[0])
    estimate = (f"IWAE estimate of log p(x) (K = {k:,}): {iwae:.2f} ± {iwae_se:.2f}, effective sample size "
                f"{ess:,.0f} of {k:,}")
    if ev.log_px_exact:
        st.caption(f"{estimate}: an estimate, shown against the exact value above.")
    if heavy:
        st.warning(f"The importance weights are heavy-tailed (effective sample size {ess:,.0f} of {k:,}): the "
                   "IWAE estimate and its error bar are unreliable for this input (p(z|x) is wider than q or "
                   "not where q is).")
    st.caption(f"Nats per image of p(x|z) = {describe_likelihood(ckpt.config)}. "
               "log p(x) − ELBO = KL(q(z|x) ‖ p(z|x)) ≥ 0: what the Gaussian q misses of the true posterior.")


def _posterior_map(grid: GridPosterior, mu: np.ndarray, log_var: np.ndarray) -> None:
    """A 2-D model's p(z|x) on the grid that finds it, against the q shown above."""
    mu2, sigma2 = mu[:2], sigma_from_log_var(log_var[:2])
    post_mean, post_sd = posterior_moments(grid)
    st.markdown("The true posterior p(z|x) ∝ p(x|z) p(z), from the decoder on a grid, against the Gaussian "
                "q(z|x) in the table above (rings: 1σ and 2σ).")
    st.plotly_chart(figure_bayes(grid, mu2, sigma2, post_mean), key="rp_bayes_map")
    x0, x1, y0, y1 = grid.extent
    st.caption(
        f"The grid ({len(grid.xs)}×{len(grid.ys)} cells over z[0] ∈ [{x0:.2f}, {x1:.2f}], z[1] ∈ [{y0:.2f}, {y1:.2f}]) "
        f"was placed by a search of the prior's ±5 box; {grid.mass_outside:.1e} of p(z|x) lies outside it "
        "(counted in log p(x)). "
        f"Posterior mean ({post_mean[0]:.3f}, {post_mean[1]:.3f}), sd ({post_sd[0]:.3f}, {post_sd[1]:.3f}); "
        f"q's μ ({mu2[0]:.3f}, {mu2[1]:.3f}), σ ({sigma2[0]:.3f}, {sigma2[1]:.3f})."
    )
