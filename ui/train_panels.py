"""The Train page's panels around a run: how it ended, Save or Discard, and every job on the
server. A run belongs to the session that started it; only that session stops, saves or
discards it, and everyone sees every run's progress."""
from __future__ import annotations

import streamlit as st

from vae_core.checkpoints import CheckpointExistsError, checkpoint_paths, checkpoint_version
from vae_core.jobs import JobState, StopReason, TrainingJob
from vae_core.naming import sanitize_checkpoint_name

from .loaders import job_registry, user_dir
from .plain import plain
from .sessions import session_id
from .state import select_model_next_run

JOB_KEY = "train_job_id"  # str: this session's job in the registry
SAVED_KEY = "train_saved"  # str: the path just saved, confirmed once after the rerun
NAME_KEY = "train_save_name"
SEEN_KEY = "train_seen_versions"  # checkpoint name -> the version of it this person was shown


def duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def outcome(job: TrainingJob) -> bool:
    """Say how the run ended; True if there is a model worth saving."""
    if job.state is JobState.FAILED:
        st.error(job.error)
        return False
    if not job.has_model:
        st.info("Stopped before the first step: there is no model to save.")
        return False
    epochs = job.epochs()
    best = min(epochs, key=lambda e: e.val_loss) if epochs else None
    summary = "" if best is None else (
        f" Best validation loss {best.val_loss:.2f} nats per image at epoch {best.epoch}; that model is the one "
        "saved, with its ELBO and log p(x) measured on the test split.")
    if job.state is JobState.FINISHED:
        st.success(f"Finished {len(epochs)} epochs in {duration(epochs[-1].elapsed_s)}.{summary}")
    elif job.stop_reason is StopReason.TIME_LIMIT:
        st.info(f"Stopped at the server's time limit ({duration(job.time_limit_s or 0)}) after {len(epochs)} "
                f"full epochs.{summary or ' The weights so far are kept.'}")
    else:
        st.info(f"Stopped after {len(epochs)} full epochs.{summary or ' The weights so far are kept.'}")
    return True


def _version_seen(stem: str, overwrite: bool) -> str | None:
    """The version of checkpoint `stem` this person saw: refreshed on each draw until they tick
    Overwrite, then frozen, so Save replaces only the checkpoint they agreed to replace."""
    seen = st.session_state.setdefault(SEEN_KEY, {})
    if not overwrite or stem not in seen:
        seen[stem] = checkpoint_version(user_dir() / stem)
    return seen[stem]


def save_panel(job: TrainingJob) -> None:
    """Name the model and save it into the user's folder, or discard it; never overwrite without a tick."""
    folder = user_dir()
    name = st.text_input("Checkpoint name", key=NAME_KEY, max_chars=100)
    try:
        stem = sanitize_checkpoint_name(name)
    except ValueError as err:
        st.error(str(err))
        return
    if stem != name.strip():
        st.caption(f"Will be saved as {plain(stem)}.")
    if job.saved_as == checkpoint_paths(folder / stem)[0]:
        st.caption(f"This run is saved as {plain(stem)}. Give another name to save a copy.")
        return  # the file it just wrote is no clash to warn about
    overwrite = st.session_state.get("train_overwrite", False)
    version = _version_seen(stem, overwrite)
    if version is not None:
        st.warning(f"A checkpoint named {plain(stem)} already exists in {plain(folder)}.")
        overwrite = st.checkbox("Overwrite it", key="train_overwrite")
    save, discard = st.columns(2)
    if discard.button("Discard", key="train_discard", help="Forget this model without saving it."):
        job_registry().discard(job.id, session_id())
        st.session_state.pop(JOB_KEY, None)
        st.rerun()
    if not save.button("Save", key="train_save", type="primary", disabled=version is not None and not overwrite):
        return
    try:
        path = job.save(stem, folder, overwrite=overwrite, expected_version=version)
    except CheckpointExistsError as err:  # someone saved under this name since the page was drawn
        st.session_state[SEEN_KEY].pop(stem, None)
        st.error(f"{err} Tick Overwrite it to replace it, or choose another name.")
        return
    except ValueError as err:
        st.error(str(err))
        return
    except OSError as err:
        st.error(f"The checkpoint could not be written to {plain(folder)}: {err.strerror}.")
        return
    st.session_state[SAVED_KEY] = str(path)
    select_model_next_run(path)
    st.rerun()  # the sidebar picker is drawn before this page: rerun so it lists the new model


def server_jobs() -> None:
    """Every run on this server, whose it is and how far it got."""
    summaries = job_registry().summaries()
    running = sum(s.state is JobState.RUNNING for s in summaries)
    me = session_id()
    with st.expander(f"Training on this server: {running} running of at most {job_registry().max_running}"):
        if not summaries:
            st.caption("Nothing has been trained since the server started.")
            return
        st.dataframe(
            {
                "whose": ["yours" if s.owner == me else "another visitor's" for s in summaries],
                "model": [s.label for s in summaries],
                "state": [s.stop_reason.value if s.stop_reason else s.state.value for s in summaries],
                "progress": [s.progress.fraction for s in summaries],
            },
            hide_index=True,
            column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0)},
        )
