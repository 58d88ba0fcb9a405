"""Streamlit glue shared by the pages: cached loaders (`loaders`), session keys and the typed
hand-off of a latent point (`state`), the sidebar model picker (`picker`), figure builders
with one label palette (`figures`), image helpers (`images`) and the components.v2 widgets
with their message formats (`components`, JS in `ui/js/`). No VAE logic lives here: that is
`vae_core`, which never imports Streamlit."""
