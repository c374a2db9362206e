"""Builds the Upsampler the node and `dsr bag` run, importing the inference stack (torch) only when called."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dsr_ros.upsampler import Upsampler


def make_upsampler(
    model: str = "",
    scale: int = 4,
    variant: str = "lite",
    device: str = "cpu",
    backend: str = "auto",
    precision: str = "fp32",
    fill_holes: bool = False,
    depth_range: tuple[float, float] | None = None,
    threads: int = 0,
    self_ensemble: int = 1,
    input_kind: str = "unknown",
) -> Upsampler:
    """A weight file when `model` is set (its card decides the scale), else the shipped model for scale+variant;
    told `input_kind` (a ValueError beginning "input_kind" when its card does not list that kind).

    Sets the process's CPU thread count first (`threads`, 0: dsr_ros.threads' default policy).
    """
    from dsr_ros.threads import apply_threads
    from dsr_ros.upsampler import Upsampler

    apply_threads(threads)
    options = {"device": device, "backend": backend, "precision": precision, "fill_holes": fill_holes,
               "depth_range": depth_range, "self_ensemble": self_ensemble}
    upsampler = Upsampler.from_file(model, **options) if model else \
        Upsampler.from_pretrained(scale=scale, variant=variant, **options)
    upsampler.input_kind = input_kind
    return upsampler


def torch_threads() -> int:
    """The CPU thread count torch runs with now (what `threads` resolved to)."""
    import torch

    return torch.get_num_threads()
