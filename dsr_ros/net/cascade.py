"""A cascade of DSRNet stages: x16 as x4 then x4, each stage refining the previous one's output.

A single x16 stage sees 40x30 pixels of a 640x480 output; two x4 stages each see a frame four
times finer than their output and need a receptive field only a quarter as wide in scene terms.
Each stage is exactly scale-equivariant on log depth, so the chain is too.
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from dsr_ros.net.dsrnet import DSRNet, DSRNetConfig, DSRNetOutput, FeatureNet


class CascadeDSRNet(FeatureNet):
    """LR log depth → HR log depth through `config.cascade` DSRNets of `config.stage_scale` each."""

    def __init__(self, config: DSRNetConfig) -> None:
        super().__init__()
        if config.rgb_guide:
            raise ValueError("rgb_guide needs a single-stage DSRNet: a cascade's later stages have no colour image at their scale")
        if config.input_kinds:
            raise ValueError("input_kinds needs a single-stage DSRNet: a cascade's later stages get no kind planes")
        stage = replace(config, scale=config.stage_scale, cascade=1)
        self.config = config
        self.stages = nn.ModuleList(DSRNet(stage) for _ in range(config.cascade))

    @property
    def scale(self) -> int:
        return self.config.scale

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        for stage in self.stages[:-1]:
            lr = self._next_input(stage(lr), lr)
        return self.stages[-1](lr)

    def _run(self, lr: torch.Tensor, with_boundary: bool, boundary_grad: bool = True) -> DSRNetOutput:
        """Features and boundary depths are the last stage's: it produces the output."""
        for stage in self.stages[:-1]:
            lr = self._next_input(stage(lr), lr)
        return self.stages[-1]._run(lr, with_boundary, boundary_grad)

    def _next_input(self, depth: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """A stage's output as the next stage's input; with `mask_input`, beside the mask upsampled by nearest."""
        if not self.config.mask_input:
            return depth
        mask = F.interpolate(previous[:, 1:2], scale_factor=self.config.stage_scale, mode="nearest")
        return torch.cat([depth, mask], dim=1)


def build_dsrnet(config: DSRNetConfig) -> FeatureNet:
    """The network a config describes: one DSRNet, or a cascade of them when `config.cascade` > 1."""
    if config.stage_scale == config.scale:
        return DSRNet(config)
    return CascadeDSRNet(config)
