"""Building blocks of the networks: DBPN-style back-projection units and plain conv layers."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dsr_ros.camera import SCALES

# DBPN's (kernel, stride, padding) for the projection convolutions at each supported scale.
PROJECTION_GEOMETRY: dict[int, tuple[int, int, int]] = dict(zip(SCALES, [(6, 2, 2), (8, 4, 2), (12, 8, 2), (20, 16, 2)],
                                                                strict=True))


def conv(in_ch: int, out_ch: int, kernel: int = 3, act: bool = True) -> nn.Sequential:
    """A same-size convolution, optionally followed by PReLU (DBPN's activation)."""
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2)]
    if act:
        layers.append(nn.PReLU(out_ch))
    return nn.Sequential(*layers)


class DifferenceConv(nn.Conv2d):
    """A 3x3 conv whose kernels sum to zero, with edge padding: blind to a constant added to its input.

    DSRNet's first layer: on log depth, a constant is a global scale factor, so the network sees
    only depth ratios and is exactly scale-equivariant; no far pixel can rescale what it sees.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(in_ch, out_ch, 3, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight - self.weight.mean(dim=(1, 2, 3), keepdim=True)
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), weight, self.bias)


def projection_geometry(scale: int) -> tuple[int, int, int]:
    """Kernel, stride and padding for a scale; fails naming the supported scales."""
    if scale not in PROJECTION_GEOMETRY:
        raise ValueError(f"scale must be one of {sorted(PROJECTION_GEOMETRY)}, got {scale}")
    return PROJECTION_GEOMETRY[scale]


class _Projection(nn.Module):
    """One strided conv (down) or transposed conv (up) with PReLU; exact ×scale sizes."""

    def __init__(self, channels: int, scale: int, up: bool) -> None:
        super().__init__()
        k, s, p = projection_geometry(scale)
        layer = nn.ConvTranspose2d if up else nn.Conv2d
        self.op = layer(channels, channels, k, stride=s, padding=p)
        self.act = nn.PReLU(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.op(x))


class UpProjection(nn.Module):
    """LR features → HR features, corrected by the back-projected LR residual (DBPN)."""

    def __init__(self, channels: int, scale: int) -> None:
        super().__init__()
        self.up1 = _Projection(channels, scale, up=True)
        self.down = _Projection(channels, scale, up=False)
        self.up2 = _Projection(channels, scale, up=True)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        hr0 = self.up1(lr)
        residual = self.down(hr0) - lr
        return hr0 + self.up2(residual)


class DownProjection(nn.Module):
    """HR features → LR features, corrected by the re-upsampled HR residual (DBPN)."""

    def __init__(self, channels: int, scale: int) -> None:
        super().__init__()
        self.down1 = _Projection(channels, scale, up=False)
        self.up = _Projection(channels, scale, up=True)
        self.down2 = _Projection(channels, scale, up=False)

    def forward(self, hr: torch.Tensor) -> torch.Tensor:
        lr0 = self.down1(hr)
        residual = self.up(lr0) - hr
        return lr0 + self.down2(residual)


class BoundaryHead(nn.Module):
    """Two convs mapping a unit's HR features to a depth map (output-space distillation)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv(channels, max(channels // 2, 4)), conv(max(channels // 2, 4), 1, act=False))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.body(features)


class ResidualBlock(nn.Module):
    """Two 3x3 convs with an identity skip (used where DENet replaces projection units)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv(channels, channels), conv(channels, channels, act=False))
        self.act = nn.PReLU(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class MaskConv(nn.Conv2d):
    """A 3x3 conv of the LR validity mask, zero-initialised and without bias: nothing until trained.

    Edge padding like DifferenceConv's, so a frame's border does not look like a hole.
    """

    def __init__(self, out_ch: int) -> None:
        super().__init__(1, out_ch, 3, padding=0, bias=False)
        nn.init.zeros_(self.weight)

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(mask, (1, 1, 1, 1), mode="replicate"), self.weight)


class LowResBlock(nn.Module):
    """x + conv(PReLU(conv(x))) with the second conv zero-initialised: an identity when new.

    A network grown by these blocks starts as the network it was grown from (warm start).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv(channels, channels), conv(channels, channels, act=False))
        nn.init.zeros_(self.body[1][0].weight)
        nn.init.zeros_(self.body[1][0].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)
