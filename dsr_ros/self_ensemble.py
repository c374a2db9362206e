"""Self-ensemble: run the network on mirrored copies of each frame and average the un-mirrored outputs.

A mirrored frame is as plausible a scene as the original (training crops are mirrored too), so the
copies disagree mostly where the network guesses, at depth edges; averaging their log depths (the
geometric mean of the depths) lowers RMSE there when each input pixel is centred on its footprint
(README: under every-s-th-pixel decimation at x2 and x4 it loses). The copies run as one larger batch;
on a CPU that costs more than the copy count (BENCHMARKS.md).
"""
from __future__ import annotations

import numpy as np

SELF_ENSEMBLES = (1, 2, 4)  # 1: off; 2: and the left-right mirror; 4: and the up-down and both mirrors
_MIRRORS = ((False, False), (False, True), (True, False), (True, True))  # (up-down, left-right)


def check_copies(copies: int) -> int:
    """The copy count if it is one of SELF_ENSEMBLES; a ValueError naming the allowed counts otherwise."""
    if copies not in SELF_ENSEMBLES or isinstance(copies, bool):
        raise ValueError(f"self_ensemble must be one of {list(SELF_ENSEMBLES)} copies, got {copies!r}")
    return copies


def _mirror(array: np.ndarray, up_down: bool, left_right: bool) -> np.ndarray:
    """`array` (…×H×W) flipped along its last two axes as asked (a view)."""
    if up_down:
        array = array[..., ::-1, :]
    if left_right:
        array = array[..., ::-1]
    return array


def mirrored_batch(batch: np.ndarray, copies: int) -> np.ndarray:
    """N×C×H×W network input → (copies·N)×C×H×W: the batch, then each mirror of it in turn."""
    if copies == 1:
        return batch
    return np.concatenate([_mirror(batch, *m) for m in _MIRRORS[:copies]], axis=0)


def merged_output(raw: np.ndarray, copies: int) -> np.ndarray:
    """(copies·N)×1×H×W network output (log-depth ratios, cropped to the frame) → N×1×H×W, the mean of
    the copies each mirrored back."""
    if copies == 1:
        return raw
    frames = raw.shape[0] // copies
    total = np.zeros((frames, *raw.shape[1:]), np.float32)
    for k, m in enumerate(_MIRRORS[:copies]):
        total += _mirror(raw[k * frames:(k + 1) * frames], *m)
    total *= np.float32(1.0 / copies)
    return total
