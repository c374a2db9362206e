"""Training losses: task losses (L1, SSIM), cross-task distillation and the structure loss.

All take N×1×H×W depth tensors in the network's units (log ratio to the LR frame's median depth,
see depth.LogDepth), with NaN marking invalid ground truth.

Affinity memory: each affinity matrix is P²×P² per sample, so one network's matrices cost
N·units·P⁴·4 bytes in float32 (twice that for student and teacher, again for autograd).
The default P = 16 gives 256×256 = 256 KiB per sample per unit: 16 samples × 2 units = 8 MiB,
independent of the patch size (a 96×96 patch unpooled would be 9216² floats = 324 MiB each).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from dsr_ros.depth import MAX_LOG_RATIO
from dsr_ros.net.dsrnet import DSRNetOutput

AFFINITY_POOL = 16


def valid_mask(target: torch.Tensor) -> torch.Tensor:
    """Pixels with finite ground truth."""
    return torch.isfinite(target)


def masked_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |pred − target| over valid target pixels (0 with gradient if none are valid)."""
    mask = valid_mask(target)
    diff = (pred - torch.where(mask, target, pred.detach())).abs()
    return (diff * mask).sum() / mask.sum().clamp(min=1)


def ratio_l1(pred_log: torch.Tensor, target_log: torch.Tensor) -> torch.Tensor:
    """DSRNet's task loss: L1 between depths as ratios to the frame's median (exp of log ratios).

    Unlike L1 on log depth, far pixels weigh in proportion to their depth, as they do in RMSE (mm).
    """
    clipped = pred_log.clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO)
    return masked_l1(torch.exp(clipped), torch.exp(target_log))


def ratio_mse(pred_log: torch.Tensor, target_log: torch.Tensor) -> torch.Tensor:
    """Squared error between depths as ratios to the frame's median: what RMSE (mm) scores.

    Where an edge's position is ambiguous (point-sampled input), the minimiser hedges between the
    two sides instead of betting on one, as RMSE rewards; L1 (`ratio_l1`) bets.
    """
    mask = valid_mask(target_log)
    pred = torch.exp(pred_log.clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO))
    diff = pred - torch.where(mask, torch.exp(target_log), pred.detach())
    return (diff.square() * mask).sum() / mask.sum().clamp(min=1)


#: DSRNet's task losses by recipe name (`train.loss`).
TASK_LOSSES = {"l1": ratio_l1, "mse": ratio_mse}


def _gaussian_window(size: int, sigma: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim_map(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5,
             data_range: float = 1.0) -> torch.Tensor:
    """Per-pixel SSIM of single-channel images (Wang et al. 2004: gaussian window, reflect pad)."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    w = _gaussian_window(window, sigma, x.device, x.dtype)
    pad = window // 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(t, (pad, pad, pad, pad), mode="reflect"), w)

    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM over valid target pixels; invalid pixels take the prediction's value first."""
    mask = valid_mask(target)
    filled = torch.where(mask, target, pred.detach())
    return (ssim_map(pred, filled) * mask).sum() / mask.sum().clamp(min=1)


def de_loss(pred: torch.Tensor, target: torch.Tensor, lam: float = 0.85) -> torch.Tensor:
    """DENet's task loss L_DE = λ(1 − SSIM)/2 + (1 − λ)·L1 (λ = 0.85, the usual monodepth value)."""
    return lam * (1 - ssim(pred, target)) / 2 + (1 - lam) * masked_l1(pred, target)


def output_distillation(student: DSRNetOutput, teacher: DSRNetOutput) -> torch.Tensor:
    """L_O = mean_n ||D_s^n − D_t^n||_1 over the per-unit boundary depths; the teacher is frozen."""
    _check_units(student.boundary, teacher.boundary, "boundary")
    pairs = zip(student.boundary, teacher.boundary, strict=True)
    return torch.stack([(s - t.detach()).abs().mean() for s, t in pairs]).mean()


def affinity(features: torch.Tensor, pool: int = AFFINITY_POOL) -> torch.Tensor:
    """A(F) = softmax(R(F) R(F)ᵀ) over pixels of F pooled to pool×pool: N×P²×P².

    The dot products are divided by √C (as in attention) so the softmax does not saturate as
    the feature width changes.
    """
    pooled = F.adaptive_avg_pool2d(features, pool)
    r = pooled.flatten(2).transpose(1, 2)  # N×P²×C
    return torch.softmax(r @ r.transpose(1, 2) / r.shape[-1] ** 0.5, dim=-1)


def affinity_distillation(student: DSRNetOutput, teacher: DSRNetOutput, pool: int = AFFINITY_POOL) -> torch.Tensor:
    """L_A = mean_n of the per-row L1 distance between affinities (each row a distribution, in [0, 2])."""
    _check_units(student.features, teacher.features, "features")
    terms = [(affinity(s, pool) - affinity(t.detach(), pool)).abs().sum(-1).mean()
             for s, t in zip(student.features, teacher.features, strict=True)]
    return torch.stack(terms).mean()


def distillation(student: DSRNetOutput, teacher: DSRNetOutput, gamma: float, pool: int = AFFINITY_POOL) -> torch.Tensor:
    """L_distill = L_O + γ·L_A."""
    return output_distillation(student, teacher) + gamma * affinity_distillation(student, teacher, pool)


def sobel_magnitude(depth: torch.Tensor) -> torch.Tensor:
    """Gradient magnitude by 3×3 Sobel (replicate padding), NaN where any neighbour is invalid."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=depth.device, dtype=depth.dtype)
    kernels = torch.stack([kx, kx.T])[:, None]
    mask = valid_mask(depth).to(depth.dtype)
    padded = F.pad(torch.nan_to_num(depth, nan=0.0, posinf=0.0, neginf=0.0), (1, 1, 1, 1), mode="replicate")
    g = F.conv2d(padded, kernels)
    mag = torch.sqrt(g[:, :1] ** 2 + g[:, 1:] ** 2)
    ok = F.max_pool2d(F.pad(1 - mask, (1, 1, 1, 1), mode="replicate"), 3, stride=1) == 0
    return torch.where(ok, mag, torch.full_like(mag, float("nan")))


def structure_loss(structure: torch.Tensor, d_hr: torch.Tensor) -> torch.Tensor:
    """L_struc: L1 between SPNet's structure map and |∇D_hr| (Sobel) on valid pixels."""
    return masked_l1(structure, sobel_magnitude(d_hr))


def _check_units(a: list[torch.Tensor], b: list[torch.Tensor], what: str) -> None:
    if not a or len(a) != len(b):
        raise ValueError(f"distillation needs the same non-zero number of {what} on both sides, "
                         f"got {len(a)} and {len(b)} (call forward_features)")
