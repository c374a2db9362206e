"""Residual calibration: how far the output may leave bicubic interpolation, fitted for RMSE on synthetic frames.

DSRNet's output is bicubic plus a residual. L1 training makes the residual bet on one side of an edge
that the input cannot place; RMSE rewards hedging between the sides. Scaling the reconstruction
convolution by α < 1 hedges (for a cascade every stage's), at no run-time cost. α is chosen on its own
synthetic v2 frames (seeds from CALIBRATION_SEED, disjoint from the training pool and the held-out set),
minimising the mean RMSE ÷ bicubic over the evaluation degradations; validation scenes never enter it.
"""
from __future__ import annotations

import copy

from torch import nn

from dsr_ros.net.dsrnet import FeatureNet
from dsr_ros.net.guide import GuideFusion
from dsr_ros.train.degrade import EVAL_DEGRADATIONS
from dsr_ros.train.evaluate import evaluate, heldout_scenes
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import ModelCard

CALIBRATION_SEED = 2_000_000  # the pool starts at 0, the held-out set at 1_000_000
ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def scale_residual(model: FeatureNet, alpha: float) -> FeatureNet:
    """A copy whose every `reconstruct` convolution and colour-guide output conv (weights, bias) is multiplied by `alpha`."""
    scaled = copy.deepcopy(model)
    convs = [m for name, m in scaled.named_modules() if name.split(".")[-1] == "reconstruct"]
    convs += [m.fuse[-1] for m in scaled.modules() if isinstance(m, GuideFusion)]  # the colour-guided residual
    if not convs:
        raise ValueError(f"{type(model).__name__} has no reconstruct convolution to scale")
    for block in convs:
        for layer in block.modules():
            if isinstance(layer, nn.Conv2d):
                layer.weight.data.mul_(alpha)
                if layer.bias is not None:
                    layer.bias.data.mul_(alpha)
    return scaled.eval()


def calibrate(model: FeatureNet, card: ModelCard, scenes: int = 24, size: int = 256, seed: int = CALIBRATION_SEED,
              alphas: tuple[float, ...] = ALPHAS, progress: bool = False) -> tuple[float, dict[float, dict[str, float]]]:
    """(best α, {α: {degradation: RMSE ÷ bicubic RMSE, "mean": their mean}}) on the calibration frames.

    A specialist (card: `specialist_kind`) is calibrated under its own kind only: it never runs under the others.
    """
    frames = heldout_scenes(scenes, size, seed)
    kinds = (card.specialist_kind,) if card.specialist_kind else EVAL_DEGRADATIONS
    ratios: dict[float, dict[str, float]] = {}
    for alpha in alphas:
        table = evaluate(Upsampler.from_model(scale_residual(model, alpha), card, backend="torch"), frames,
                         kinds, progress=progress)
        row = {kind: table[kind]["model"] / table[kind]["bicubic"] for kind in kinds}
        row["mean"] = sum(row.values()) / len(kinds)
        ratios[alpha] = row
    best = min(alphas, key=lambda a: ratios[a]["mean"])
    return best, ratios
