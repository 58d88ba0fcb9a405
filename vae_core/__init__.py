"""vae-explorer's library: models, losses, data, training, checkpoints, projections.

Pure PyTorch/NumPy; the Streamlit pages only call into it.
"""
from .checkpoints import (
    Checkpoint, CheckpointEntry, CheckpointError, CheckpointMeta, LatentCodes, list_checkpoints, load_checkpoint,
    save_checkpoint,
)
from .config import ModelConfig, TrainConfig
from .data import DataError, ImageData, load_dataset, train_test_split
from .device import pick_device
from .losses import (
    ImportanceEstimate, importance_log_px, kl_closed_form, kl_monte_carlo, kl_per_dim, loss_parts,
    reconstruction_loss, elbo,
)
from .models import VAE, ConvVAE, MLPVAE, build_model

__version__ = "0.1.0"

__all__ = [
    "Checkpoint", "CheckpointEntry", "CheckpointError", "CheckpointMeta", "ConvVAE", "DataError", "ImageData",
    "ImportanceEstimate", "LatentCodes", "MLPVAE",
    "ModelConfig", "TrainConfig", "VAE", "build_model", "elbo", "importance_log_px", "kl_closed_form",
    "kl_monte_carlo", "kl_per_dim", "list_checkpoints", "load_checkpoint", "load_dataset", "loss_parts",
    "pick_device", "reconstruction_loss", "save_checkpoint", "train_test_split",
]
