"""What the network's representation promises: scale-equivariant, blind to far pixels, the same in training and inference."""
import numpy as np
import pytest
import torch

from dsr_ros.depth import LogDepth
from dsr_ros.engine.base import InferenceEngine
from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.train.data import make_pair
from dsr_ros.train.degrade import degrade
from dsr_ros.train.scenes3d import scene3d_for_seed
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import card_for


def _random_model(scale: int) -> Upsampler:
    torch.manual_seed(scale)
    model = DSRNet(DSRNetConfig(scale=scale)).eval()
    for p in model.parameters():  # well away from the zero-ish init, so the test means something
        p.data.add_(torch.randn_like(p) * 0.05)
    return Upsampler.from_model(model, backend="torch")


def _frame(h: int = 30, w: int = 40) -> np.ndarray:
    rng = np.random.default_rng(1)
    frame = np.full((h, w), 2.0, np.float32) + rng.normal(0, 0.02, (h, w)).astype(np.float32)
    frame[8:20, 10:25] = 1.2
    frame[2, 3] = np.nan
    return frame


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
def test_doubling_depth_doubles_the_output(scale):
    up = _random_model(scale)
    frame = _frame()
    once, twice = up.upsample(frame), up.upsample(2 * frame)
    ok = np.isfinite(once)
    assert ok.mean() > 0.9
    np.testing.assert_allclose(twice[ok], 2 * once[ok], rtol=5e-3)


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
def test_one_far_pixel_leaves_the_rest_of_the_output_alone(scale):
    up = _random_model(scale)
    frame = _frame()
    with_far = frame.copy()
    with_far[0, 0] = 9.0
    diff_mm = np.abs(up.upsample(with_far) - up.upsample(frame)) * 1000
    far_away = diff_mm[16 * scale :, 16 * scale :]
    assert np.nanpercentile(far_away, 99) <= 1.0 and np.nanmax(far_away) <= 1.0


class _Oracle(InferenceEngine):
    """Returns the training target of the frame it is given: what a perfect network would output."""

    name = "oracle"

    def __init__(self, scale: int, target: np.ndarray) -> None:
        super().__init__(scale)
        self.target = target

    def infer(self, batch: np.ndarray) -> np.ndarray:
        return self.target[None, None].astype(np.float32)


@pytest.mark.parametrize("kind", ["bicubic", "stereo"])
def test_training_targets_decode_to_the_true_depth_through_the_upsampler(kind):
    """Ties training to inference: a network that outputs exactly its training target gives back the
    HR depth. Normalising targets differently from how the Upsampler denormalises fails this."""
    hr = scene3d_for_seed(7, 64, 64).depth
    scale = 4
    _, target, norm = make_pair(hr, scale, kind, np.random.default_rng(0))
    lr = degrade(hr, scale, kind, np.random.default_rng(0))
    oracle = Upsampler(_Oracle(scale, np.nan_to_num(target)), card_for(DSRNet(DSRNetConfig(scale=scale))),
                       fill_holes=True)
    out = oracle.upsample(lr)
    ok = np.isfinite(hr)
    np.testing.assert_allclose(out[ok], hr[ok], rtol=1e-5)
    assert LogDepth.of(lr, np.isfinite(lr)).reference == pytest.approx(norm.reference)


def test_upsampler_input_is_the_training_input():
    hr = scene3d_for_seed(3, 64, 64).depth
    lr_input, _, _ = make_pair(hr, 4, "tof", np.random.default_rng(2))

    class Capture(_Oracle):
        def infer(self, batch):
            self.seen = batch[0, 0].copy()
            return np.zeros((1, 1, 64, 64), np.float32)

    engine = Capture(4, np.zeros((64, 64)))
    Upsampler(engine, card_for(DSRNet(DSRNetConfig(scale=4)))).upsample(degrade(hr, 4, "tof", np.random.default_rng(2)))
    np.testing.assert_allclose(engine.seen, lr_input, atol=1e-6)
