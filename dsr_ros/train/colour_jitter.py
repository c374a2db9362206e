"""Photometric jitter of the colour guide: a guided network trained on rendered colour must not rely on
the renderer's palette, shading law or noise-free pixels, only on where colour changes."""
from __future__ import annotations

import numpy as np

GAIN = (0.6, 1.4)  # per-channel white-balance and exposure gain
GAMMA = (0.6, 1.6)  # tone curve
GREY_SHARE = 0.2  # share of crops turned grey (a mono camera, or colour that carries no cue)
NOISE = 0.03  # largest sensor-noise standard deviation, unit RGB


def jitter_colour(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit H×W×3 RGB with random channel order, gains, gamma, greyscale and noise; values stay in [0, 1]."""
    out = rgb[..., rng.permutation(3)] * rng.uniform(*GAIN, size=3).astype(np.float32)
    out = np.clip(out, 0.0, 1.0) ** np.float32(rng.uniform(*GAMMA))
    if rng.random() < GREY_SHARE:
        out = np.repeat(out.mean(axis=2, keepdims=True), 3, axis=2)
    out = out + rng.normal(0.0, rng.uniform(0.0, NOISE), size=out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
