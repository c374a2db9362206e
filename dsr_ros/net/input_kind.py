"""Input-kind conditioning: the network told how its LR depth was made (a resize, a decimation, a sensor).

A network trained on a mix of degradations cannot tell them apart and hedges between them; one trained
on a single kind is 10 % of bicubic's RMSE better under it (README, `lite3d_x4_only_*`). Here the kind
arrives as one-hot constant planes after the depth (and mask) channels, so `forward` keeps one tensor
argument for torch.export, ONNX and TensorRT; all-zero planes mean "unknown", the mixed network's case.
The planes set a per-channel scale and shift (FiLM) of the features at several places; both start at
zero, so a file without conditioning warm-starts exactly, and they never see depth, so a constant
added to the log depth still passes through unchanged.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: What the node, the CLI and the Upsampler call the untold case (all-zero planes).
UNKNOWN_KIND = "unknown"
#: The most kinds a config may name (a crafted card must not build a huge table).
MAX_INPUT_KINDS = 16


def check_input_kinds(kinds: tuple[str, ...]) -> None:
    """Fails unless `kinds` are distinct non-empty names, at most MAX_INPUT_KINDS of them."""
    if not isinstance(kinds, tuple) or not all(isinstance(k, str) and k for k in kinds):
        raise ValueError(f"input_kinds must be a list of non-empty names, got {kinds!r}")
    if len(set(kinds)) != len(kinds) or len(kinds) > MAX_INPUT_KINDS:
        raise ValueError(f"input_kinds must be at most {MAX_INPUT_KINDS} distinct names, got {list(kinds)}")


def kind_planes(kinds: tuple[str, ...], kind: str | None, size: tuple[int, int]) -> np.ndarray:
    """K×h×w float32 input planes: one-hot for `kind`, all zero for None ("unknown"); fails on a kind not in `kinds`."""
    planes = np.zeros((len(kinds), *size), np.float32)
    if kind is not None:
        if kind not in kinds:
            raise ValueError(f"input kind must be one of {list(kinds)} (or unknown), got {kind!r}")
        planes[kinds.index(kind)] = 1.0
    return planes


class KindModulation(nn.Module):
    """One-hot kind (N×K) → a (scale, shift) pair of N×C×1×1 tensors per modulated place of C channels."""

    def __init__(self, kinds: int, widths: list[int]) -> None:
        super().__init__()
        self.widths = list(widths)
        self.table = nn.Linear(kinds, 2 * sum(widths), bias=False)
        nn.init.zeros_(self.table.weight)

    def forward(self, onehot: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        params = self.table(onehot)[:, :, None, None]
        pairs, start = [], 0
        for width in self.widths:
            pairs.append((params[:, start : start + width], params[:, start + width : start + 2 * width]))
            start += 2 * width
        return pairs


def modulate(x: torch.Tensor, pair: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    """x·(1 + scale) + shift, or x itself when the network is not conditioned.

    One fused addcmul: on a CPU, separate multiply and add cost 4x as much on full-resolution features (BENCHMARKS.md).
    """
    if pair is None:
        return x
    scale, shift = pair
    return torch.addcmul(shift, x, 1.0 + scale)
