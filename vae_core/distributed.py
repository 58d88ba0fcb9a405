"""PyTorch's own distributed engine, as torchrun sets it up: one process per rank.

`torchrun --nproc_per_node=N -m vae_core.train ...` exports RANK, WORLD_SIZE and
LOCAL_RANK; we join the process group (nccl on GPUs, gloo on CPU), wrap the model in
DistributedDataParallel, give each rank its shard of every epoch, and sum metrics
across ranks. Without torchrun everything here is a no-op for a single process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone logs and writes checkpoints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_from_env(device_preference: str | None = None) -> tuple[DistInfo, torch.device | None]:
    """Join the process group torchrun describes; returns (info, this rank's device or None).

    A plain `python -m vae_core.train` has no WORLD_SIZE, so it stays single-process.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo(), None
    info = DistInfo(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    use_cuda = torch.cuda.is_available() and device_preference in (None, "cuda")
    if use_cuda:
        torch.cuda.set_device(info.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return info, torch.device("cuda", info.local_rank) if use_cuda else torch.device("cpu")


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def shard(perm: Tensor, info: DistInfo) -> Tensor:
    """This rank's equal-length slice of an epoch's permutation (same seed on every rank).

    Equal lengths keep every rank on the same number of steps, so no rank waits forever
    in an all-reduce; the few left-over images change every epoch with the permutation.
    """
    if not info.enabled:
        return perm
    per_rank = perm.shape[0] // info.world_size
    return perm[info.rank * per_rank:(info.rank + 1) * per_rank]


def all_reduce_sum(t: Tensor, info: DistInfo) -> Tensor:
    """Sum a metrics tensor over ranks (in place, returned for chaining)."""
    if info.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
