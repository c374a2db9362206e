"""Data-parallel plumbing for `torchrun`: process group from the environment, DDP wrapping.

Every trained network is wrapped in DistributedDataParallel, which starts all ranks from rank 0's
weights and averages gradients during backward. `FeatureForward` routes DSRNet's and DENet's
`forward_features` through DDP's `forward`, so distillation's passes are synchronised too.
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


class FeatureForward(nn.Module):
    """`forward(x, features=True)` is the network's `forward_features(x)`, else its `forward(x)`.

    DDP only hooks `forward`; this view lets one DDP wrapper serve both kinds of pass.
    `boundary_grad` is passed on to `forward_features`.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, features: bool = False, boundary_grad: bool = True):
        return self.net.forward_features(x, boundary_grad=boundary_grad) if features else self.net(x)


def data_parallel(module: nn.Module, world: World, device: torch.device, find_unused: bool) -> nn.Module:
    """`module` in DistributedDataParallel under torchrun, itself in a single process.

    `find_unused` is needed for DSRNet and DENet: a plain `forward` skips the boundary heads.
    """
    if world.size == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None,
                                   find_unused_parameters=find_unused)
