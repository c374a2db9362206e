"""Data-parallel plumbing for `torchrun`: process group from the environment, gradient averaging.

Gradients are all-reduced explicitly after backward rather than through DDP's forward hooks,
because distillation calls `forward_features` (not `forward`) and the trained network changes
every role-exchange round; the arithmetic is DDP's (mean over ranks), so ranks stay identical.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_world() -> World:
    """Join the process group torchrun describes (nccl on CUDA, else gloo); single process otherwise."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return World(rank=dist.get_rank(), size=dist.get_world_size())


def training_device(world: World) -> torch.device:
    """This process's GPU (cuda:LOCAL_RANK) when CUDA is available, else the CPU."""
    if torch.cuda.is_available():
        index = int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count()
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device("cpu")


def broadcast_parameters(modules: list[nn.Module], world: World) -> None:
    """Make every rank start from rank 0's weights."""
    if world.size > 1:
        for module in modules:
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, src=0)


def average_gradients(modules: list[nn.Module], world: World) -> None:
    """Replace each gradient by its mean over ranks (every rank runs the same graph, so the same
    parameters lack a gradient everywhere and are skipped, as in one process)."""
    if world.size == 1:
        return
    for module in modules:
        for p in module.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world.size
