"""Home: the VAE on one screen (Bayes, the approximate posterior, the loss, the
reparameterization trick), the current model, and a way into every page."""
from __future__ import annotations

import streamlit as st

from ui.style import stacking
from ui.warmup import warm_up

LINKS = [  # (page, what it does, icon as in app.py); page links do not wrap: at most ~45 characters,
    # so the columns below stack where the main area is narrow (a 150 px column cut them at 800 px)
    ("pages/train.py", "Train: digits, MNIST or your IDX files", ":material/model_training:"),
    ("pages/latent_map.py", "Latent map: click anywhere to decode", ":material/scatter_plot:"),
    ("pages/explore.py", "Explore: sliders, interpolation, traversals", ":material/tune:"),
    ("pages/reparameterization.py", "Reparameterization: ε → z, KL, p(z|x)", ":material/casino:"),
    ("pages/encode.py", "Encode your own images: q(z|x)", ":material/upload:"),
    ("pages/compare.py", "Compare two models on the same images", ":material/compare:"),
]

st.title("Variational autoencoders, explored")
st.markdown(
    "A VAE learns to squeeze an image $x$ into a few numbers $z$ (its **latent code**) and to "
    "rebuild the image from them. Unlike a plain autoencoder, it learns a *distribution* over $z$, "
    "so every point of the latent space decodes to a plausible image. The pages of this app let you "
    "look at each piece of that idea on a real trained model."
)

theory, model_col = stacking("home").columns([3, 2], gap="large")
with theory:
    st.subheader("From Bayes to the ELBO")
    st.markdown("We would like the **posterior**: which codes $z$ explain an image $x$. Bayes' rule gives it")
    st.latex(r"p(z \mid x) = \frac{p(x \mid z)\, p(z)}{p(x)}, \qquad p(z) = \mathcal{N}(0, I)")
    st.markdown(
        "but the evidence $p(x) = \\int p(x \\mid z)\\, p(z)\\, dz$ is an integral over every code: "
        "**intractable**. So an encoder network approximates the posterior with a Gaussian"
    )
    st.latex(r"q(z \mid x) = \mathcal{N}\big(\mu(x),\ \operatorname{diag} \sigma^2(x)\big) \approx p(z \mid x)")
    st.markdown("and both networks are trained to minimise the negative ELBO, per image:")
    st.latex(
        r"\mathcal{L}(x) = \underbrace{-\,\mathbb{E}_{q(z \mid x)}\big[\log p(x \mid z)\big]}"
        r"_{\text{reconstruction (BCE or MSE)}}"
        r" \;+\; \underbrace{\mathrm{KL}\big(q(z \mid x)\,\|\,p(z)\big)}_{\text{keeps codes near the prior}}"
    )
    st.markdown(
        "With a Bernoulli decoder the reconstruction term is the binary cross-entropy (BCE) of the pixels, "
        "with a Gaussian one the squared error (MSE). The KL term between two Gaussians has a closed form:"
    )
    st.latex(
        r"\mathrm{KL}\big(q(z \mid x)\,\|\,\mathcal{N}(0, I)\big)"
        r" = \frac12 \sum_{i=1}^{D} \left(\mu_i^2 + \sigma_i^2 - \log \sigma_i^2 - 1\right)"
    )

    st.subheader("The reparameterization trick")
    st.markdown(
        "Sampling $z \\sim q(z \\mid x)$ is not differentiable, so the randomness is moved into a "
        "fixed noise $\\varepsilon$. Our encoder outputs $\\mu$ and the **log variance** "
        "$\\log \\sigma^2$ (not $\\sigma$, not $\\log \\sigma$), which can be any real number:"
    )
    st.latex(
        r"\sigma = \exp\!\left(\tfrac12 \log \sigma^2\right), \qquad \varepsilon \sim \mathcal{N}(0, I),"
        r" \qquad z = \mu + \sigma \odot \varepsilon"
    )
    st.markdown("Gradients reach $\\mu$ and $\\sigma$ through $z$. A worked example in one dimension:")
    st.latex(r"\mu = 2,\ \ \sigma = 0.5\ (\log\sigma^2 = 2\ln 0.5 \approx -1.386),\ \ \varepsilon = 1")
    st.latex(r"\Rightarrow\ z = 2 + 0.5 \cdot 1 = 2.5")  # one line with the above is too wide for the column

with model_col:
    st.subheader("The current model")
    if warm_up().pending:  # a fresh server's first visit: the modules load, then the app reruns
        st.caption("Loading the model and its decoder…")
    else:
        from ui.home_model import model_panel  # here: it imports torch, which the text above need not wait for

        model_panel()

    st.subheader("Where to go")
    for path, label, icon in LINKS:
        st.page_link(path, label=label, icon=icon)
