"""Train: choose data and a model, train it in the background with live curves, keep it.

The work runs in a `vae_core.jobs.TrainingJob` thread; this page only reads it. A fragment
redraws the live part once a second while the job trains, so the rest of the page (and
every other session) stays responsive, and leaving the page does not stop the training:
the session keeps the job's id and the server keeps the jobs.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.figures import loss_figure
from ui.images import enlarge_to
from ui.loaders import MNIST_DIR, dataset, job_registry
from ui.plain import plain
from ui.replay import learning_map
from ui.sessions import session_id
from ui.style import stacking
from ui.train_panels import JOB_KEY, NAME_KEY, SAVED_KEY, duration, outcome, save_panel, server_jobs
from vae_core import DataError, ImageData, ModelConfig, TrainConfig
from vae_core.data import SHAPES_SIZE
from vae_core.jobs import JobLimitError, TrainingJob, data_folder, data_roots
from vae_core.inference import to_uint8
from vae_core.latent_ops import tile_images
from vae_core.likelihoods import describe_likelihood

REFRESH_S = 1.0
N_RECONSTRUCTIONS = 8
RECONSTRUCTION_PX = 48  # per image, enlarged without blur
DATASETS = {
    "digits": "Digits (scikit-learn, 8×8, offline)",
    "mnist": "MNIST (28×28)",
    "fashion-mnist": "Fashion-MNIST (28×28)",
    "idx": "IDX files in a folder on this machine",
    "shapes": "Shapes (64×64 colour, drawn; six known factors)",
}
SHAPES_SIZES = [1000, 2000, 4000, 6000, 8000, 12000]
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
BATCH_SIZES = [32, 64, 128, 256, 512]
HIDDEN_DIMS = [32, 64, 128, 256, 512]
LIKELIHOODS = {"bernoulli": "Bernoulli", "continuous-bernoulli": "Continuous Bernoulli", "gaussian": "Gaussian"}
SIGMAS = {"global": "learned, one for all pixels", "pixel": "learned, one per pixel", "fixed": "fixed"}


# ---------------------------------------------------------------- settings
def _choose_data() -> tuple[str, str | None, ImageData | None, tuple[int, int, int]] | None:
    """(data set, folder, preloaded data or None, image shape); None when unusable (reason shown).

    Data that is on this machine is loaded here, once per server (cached), to check it and so
    that its imports (sklearn imports pandas) never run in a job's thread while plotly reads a
    half-imported pandas here; a download is left to the job so that it cannot block the page.
    """
    name = st.selectbox("Data set", list(DATASETS), format_func=DATASETS.get, key="train_dataset")
    if name == "digits":
        data = dataset(name, None)
        return name, None, data, data.image_shape
    if name == "shapes":
        size = st.select_slider("Images to draw", SHAPES_SIZES, SHAPES_SIZE, key="train_shapes_size",
                                format_func=lambda n: f"{n:,}")
        data = dataset(name, None, None, size)
        st.caption(f"{len(data):,} shapes; each image's shape, hue, scale, rotation, x and y are known, so the "
                   "saved model gets its Mutual Information Gap against them. Use the conv architecture.")
        return name, None, data, data.image_shape
    if name == "mnist" and any(MNIST_DIR.glob("*-images-idx3-ubyte*")):
        data = dataset(name, str(MNIST_DIR))
        st.caption(f"{len(data):,} images from the IDX files in {MNIST_DIR}.")
        return name, str(MNIST_DIR), data, data.image_shape
    if name in ("mnist", "fashion-mnist"):
        st.caption("Downloaded once into ~/.cache/vae-explorer (needs the network). "
                   "Offline? Choose *IDX files in a folder* and give the folder of its .gz files.")
        return name, None, None, (1, 28, 28)
    text = st.text_input("Folder with IDX files", key="train_idx_dir", placeholder="mnist")
    if not text.strip():
        st.info("Enter the folder that holds the IDX files, e.g. train-images-idx3-ubyte.gz and "
                "train-labels-idx1-ubyte.gz (the t10k pair alone is fine), under "
                f"{plain(', '.join(map(str, data_roots())))}.")
        return None
    try:
        folder = data_folder(text)
        data = dataset("idx", str(folder))
    except DataError as err:
        st.error(f"This folder cannot be used: {plain(err)}")
        return None
    labelled = "labelled" if bool((data.labels >= 0).all()) else "unlabelled"
    st.caption(f"{len(data):,} {labelled} images of {data.image_shape[1]}×{data.image_shape[2]} in {folder}.")
    return "idx", str(folder), data, data.image_shape


def _settings(busy: bool) -> None:
    """The form: data, model, optimiser; Start launches a job (disabled while one trains)."""
    choice = _choose_data()
    arch = st.radio("Architecture", ["mlp", "conv"], horizontal=True, key="train_arch",
                    format_func=str.upper,
                    help="The convolutional model takes 28×28, 32×32 and 64×64 images, gray or colour.")
    latent_dim = st.slider("Latent dimensions", 2, 64, 2, key="train_latent_dim")
    hidden_dim = st.select_slider("Hidden width", HIDDEN_DIMS, 128, key="train_hidden_dim")
    likelihood = _choose_likelihood()
    beta = st.number_input("β (weight of the KL term)", 0.0, 20.0, 1.0, 0.1, key="train_beta",
                           help="1 is the plain ELBO; more pushes the codes towards the prior.")
    epochs = st.number_input("Epochs", 1, 1000, 30, key="train_epochs")
    lr = st.select_slider("Learning rate", LEARNING_RATES, 1e-3, key="train_lr", format_func=lambda v: f"{v:g}")
    batch_size = st.select_slider("Batch size", BATCH_SIZES, 128, key="train_batch_size")
    if choice is None:
        st.button("Start training", key="train_start", disabled=True)
        return
    name, data_dir, data, shape = choice
    try:
        model_cfg = ModelConfig(arch=arch, image_shape=shape, latent_dim=latent_dim, hidden_dim=hidden_dim,
                                **likelihood)
        train_cfg = TrainConfig(dataset=name, data_dir=data_dir, epochs=int(epochs), batch_size=batch_size,
                                lr=lr, beta=float(beta), dataset_size=len(data) if name == "shapes" else None)
    except ValueError as err:
        st.error(f"These settings cannot be trained: {err}.")
        st.button("Start training", key="train_start", disabled=True)
        return
    if st.button("Start training", key="train_start", type="primary", disabled=busy,
                 help="A model is training: stop it first." if busy else None):
        _start(model_cfg, train_cfg, data)


def _choose_likelihood() -> dict[str, object]:
    """The decoder's p(x|z) as ModelConfig fields: which distribution, its sigma, binarised data."""
    recon = st.radio("Decoder likelihood p(x|z)", list(LIKELIHOODS), horizontal=True, key="train_recon",
                     format_func=LIKELIHOODS.get,
                     help="Bernoulli: a probability of binarised pixels (a cross-entropy, not a density, on grey "
                          "ones). Continuous Bernoulli: a density on [0, 1]. Gaussian: a density with its σ.")
    chosen: dict[str, object] = {"recon": recon}
    if recon == "gaussian":
        chosen["sigma"] = st.radio("σ of the Gaussian", list(SIGMAS), horizontal=True, key="train_sigma",
                                   format_func=SIGMAS.get)
        if chosen["sigma"] == "fixed":
            chosen["fixed_sigma"] = float(st.number_input("σ", 0.01, 1.0, 0.1, 0.01, key="train_fixed_sigma"))
    chosen["binarize"] = st.checkbox("Binarise the pixels (at 1/2)", value=recon == "bernoulli", key="train_binarize",
                                     help="As the standard MNIST likelihood benchmarks do; the Bernoulli is then a "
                                          "true probability of each image.")
    return chosen


def _start(model_cfg: ModelConfig, train_cfg: TrainConfig, data: ImageData | None) -> None:
    try:  # this session's previous model, if unsaved, is kept as a draft by the registry
        job = job_registry().start(model_cfg, train_cfg, data, owner=session_id())
    except JobLimitError as err:
        st.error(str(err))
        return
    st.session_state[JOB_KEY] = job.id
    st.session_state[NAME_KEY] = f"my-{train_cfg.dataset}-{model_cfg.arch}-{model_cfg.latent_dim}d"
    st.rerun()  # redraw with the live view ticking


# ---------------------------------------------------------------- the live view
def _curves(job: TrainingJob) -> None:
    curve, epochs = job.curve(), job.epochs()
    x, val_x = [p.epoch for p in curve], [m.epoch for m in epochs]
    beta = job.train_config.beta
    if beta == 1.0:
        total = loss_figure("Loss = reconstruction + KL (the negative ELBO)", x, [p.loss for p in curve], val_x,
                            [m.val_loss for m in epochs])
    else:
        total = loss_figure(f"Loss = reconstruction + β·KL (β = {beta:g}); dashed: the negative ELBO", x,
                            [p.loss for p in curve], val_x, [m.val_loss for m in epochs],
                            dashed=("−ELBO", [p.recon + p.kl for p in curve], [m.val_recon + m.val_kl for m in epochs]))
    st.plotly_chart(total, key="train_chart_total")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            loss_figure("Reconstruction −log p(x|z)", x, [p.recon for p in curve], val_x, [m.val_recon for m in epochs]),
            key="train_chart_recon",
        )
    with right:
        st.plotly_chart(
            loss_figure("KL(q(z|x) ‖ p(z))", x, [p.kl for p in curve], val_x, [m.val_kl for m in epochs]),
            key="train_chart_kl",
        )
    st.caption(f"Nats per image; p(x|z) = {describe_likelihood(job.model_config)}. Train: each step's batch, "
               "one draw of z per image. Validation: a split of the training data, which chooses the best epoch; "
               "the test split is read only when the model is saved.")


def _reconstructions(job: TrainingJob) -> None:
    images = job.latest_reconstructions(N_RECONSTRUCTIONS)
    if images is None:
        return
    n = images.shape[1]
    grid = tile_images(enlarge_to(images.reshape(2 * n, *images.shape[2:]), RECONSTRUCTION_PX), ncols=n)
    st.image(to_uint8(grid),
             caption="Top: validation images, as the model sees them. Bottom: their reconstructions (the mean "
                     "of p(x|z) at z = μ) by the current weights.")


def _live_view(job_id: str, was_running: bool) -> None:
    """Progress, Stop, curves and reconstructions; a fragment, ticking while the job trains."""
    job = job_registry().get(job_id)
    if job is None:
        st.info("This training run is no longer on the server; start a new one.")
        return
    if was_running and not job.running:
        st.rerun()  # it just ended: redraw the whole page (outcome, Save) and stop ticking
    m, t = job.model_config, job.train_config
    st.caption(f"{DATASETS[t.dataset]} · {m.arch.upper()} · latent {m.latent_dim} · hidden {m.hidden_dim} · "
               f"{describe_likelihood(m)} · β {t.beta:g} · lr {t.lr:g} · batch {t.batch_size}")
    p = job.progress()
    if job.running:
        bar, stop = st.columns([5, 1], vertical_alignment="center")
        text = "Loading the data…" if p.epoch == 0 else (
            f"Epoch {p.epoch}/{p.epochs} · {p.fraction:.0%} · ETA {duration(p.eta_s or 0.0)} · "
            f"{p.images_per_s:,.0f} images/s")
        bar.progress(p.fraction, text=text)
        if stop.button("Stop", key="train_stop", help="Stop now and keep the best model so far."):
            job_registry().stop(job.id, session_id())
    if job.running or job.curve():  # a run that failed before its first step has nothing to draw
        _curves(job)
        learning_map(job)
        _reconstructions(job)


# ---------------------------------------------------------------- the page
st.title("Train")
st.caption("Train a VAE in the background: the curves update live, you can leave the page and come "
           "back, and Stop keeps the best model so far. Saved models appear in the sidebar picker.")
saved = st.session_state.pop(SAVED_KEY, None)
if saved:
    st.success(f"Saved as {plain(Path(saved).stem)} in {plain(Path(saved).parent)}; "
               "it is now the model picked in the sidebar.")

job = job_registry().get(st.session_state.get(JOB_KEY))
running = job is not None and job.running
settings_col, live_col = stacking("train").columns([1, 2], gap="large")  # 1/3 of 800 px cut "Binarise th…"
with settings_col:
    _settings(busy=running)
    if job is not None and job.unsaved:
        st.caption("Starting a new run keeps your unsaved model as a draft (listed in the picker).")
    server_jobs()
with live_col:
    if job is None:
        st.info("Choose the settings and press **Start training**. On the digits a few dozen epochs "
                "take seconds; MNIST takes minutes on a CPU.")
    else:
        st.fragment(run_every=REFRESH_S if running else None)(_live_view)(job.id, running)
        if not running and outcome(job):
            save_panel(job)
