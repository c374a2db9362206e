"""DENet: the RGB depth-estimation teacher whose features align with DSRNet's (training only)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from dsr_ros.net.blocks import BoundaryHead, ResidualBlock, conv
from dsr_ros.net.dsrnet import DSRNetConfig, DSRNetOutput, FeatureNet


@dataclass(frozen=True)
class DENetConfig:
    """Shape of a DENet: `stages` and `features` must match the DSRNet it teaches."""

    features: int
    shallow: int
    stages: int
    blocks: int = 2  # residual blocks per stage ("deeper" than one projection unit)

    @classmethod
    def pairing(cls, dsr: DSRNetConfig, blocks: int = 2) -> DENetConfig:
        """The DENet whose per-stage features have DSRNet's width and count."""
        return cls(features=dsr.features, shallow=dsr.shallow, stages=dsr.units, blocks=blocks)

    def to_dict(self) -> dict:
        return asdict(self)


class DENet(FeatureNet):
    """HR RGB (N×3×H×W in [0, 1]) → HR depth (N×1×H×W, in the normalised depth units).

    Three shallow convs, then `stages` stacks of residual blocks at full resolution; each stage's
    output is one feature map F_de^n (same shape as DSRNet's F_sr^n) with its own boundary head,
    and a reconstruction conv over all of them gives the depth.
    """

    def __init__(self, config: DENetConfig) -> None:
        super().__init__()
        if min(config.features, config.shallow, config.stages, config.blocks) < 1:
            raise ValueError(f"features, shallow, stages and blocks must be >= 1, got {config}")
        self.config = config
        f = config.features
        self.shallow = nn.Sequential(conv(3, config.shallow), conv(config.shallow, config.shallow),
                                     conv(config.shallow, f, kernel=1))
        self.stages = nn.ModuleList(
            nn.Sequential(*(ResidualBlock(f) for _ in range(config.blocks))) for _ in range(config.stages))
        self.heads = nn.ModuleList(BoundaryHead(f) for _ in range(config.stages))
        self.reconstruct = conv(f * config.stages, 1, act=False)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self._run(rgb, with_boundary=False).depth

    def _run(self, rgb: torch.Tensor, with_boundary: bool, boundary_grad: bool = True) -> DSRNetOutput:
        x = self.shallow(rgb)
        features: list[torch.Tensor] = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        depth = self.reconstruct(torch.cat(features, dim=1))
        with torch.set_grad_enabled(boundary_grad and torch.is_grad_enabled()):
            boundary = [head(feat) for head, feat in zip(self.heads, features, strict=True)] if with_boundary else []
        return DSRNetOutput(depth=depth, features=features, boundary=boundary)
