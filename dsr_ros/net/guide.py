"""RGB guidance for DSRNet: HR colour features fused into the HR features that make the output.

A mixed LR pixel on a thin structure is ambiguous from depth alone (a wide stick at middle depth
or a narrow one near); the registered colour image shows the width. The colour image travels in
the network's single input tensor as its space-to-depth rearrangement on the LR grid, so every
engine (torch, ONNX, TensorRT) keeps one input. The fusion's last conv starts near zero: a guided
network warm-started from a depth-only file starts within a fraction of a millimetre of that file's network.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dsr_ros.net.blocks import conv

OUTPUT_INIT_STD = 1e-4  # the fusion's output conv: small enough to keep a warm start, large enough to pass gradients


def guide_channels(scale: int) -> int:
    """Input channels the colour image takes on the LR grid: 3 colours × scale² sub-pixels."""
    return 3 * scale * scale


class GuideFusion(nn.Module):
    """(HR depth features, LR-packed RGB) → a log-depth residual at HR; near zero until trained.

    Colour features see RGB only and depth features are blind to a constant added to log depth,
    so the residual is too: the network stays exactly scale-equivariant.
    """

    def __init__(self, depth_features: int, guide_features: int, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.colour = nn.Sequential(conv(3, guide_features), conv(guide_features, guide_features))
        self.fuse = nn.Sequential(conv(depth_features + guide_features, guide_features, kernel=1),
                                  conv(guide_features, guide_features), conv(guide_features, 1, act=False))
        last = self.fuse[-1][0]
        nn.init.normal_(last.weight, std=OUTPUT_INIT_STD)  # not zero: a zero conv passes no gradient to the branch
        nn.init.zeros_(last.bias)

    def forward(self, hr_features: torch.Tensor, packed_rgb: torch.Tensor) -> torch.Tensor:
        rgb = F.pixel_shuffle(packed_rgb, self.scale) - 0.5
        return self.fuse(torch.cat([hr_features, self.colour(rgb)], dim=1))
