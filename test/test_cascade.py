"""Cascades: x16 as two x4 DSRNet stages, built, saved, loaded, warm-started and run like one network."""
import numpy as np
import pytest
import torch

from dsr_ros.net import CascadeDSRNet, DSRNet, DSRNetConfig, build_dsrnet
from dsr_ros.train.recipe import RecipeError, recipe_from_dict
from dsr_ros.train.trainer import TrainingError, warm_start
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import WeightsError, card_for, load_model, read_card, save_model

TINY = {"features": 4, "shallow": 4, "units": 1}


def tiny(scale: int, cascade: int = 1) -> torch.nn.Module:
    torch.manual_seed(scale * 10 + cascade)
    return build_dsrnet(DSRNetConfig(scale=scale, cascade=cascade, **TINY)).eval()


def test_lite_x16_is_two_x4_stages_and_other_scales_one_network():
    x16 = build_dsrnet(DSRNetConfig.from_variant("lite", 16))
    assert isinstance(x16, CascadeDSRNet) and [s.scale for s in x16.stages] == [4, 4]
    assert x16.stages[0].config == DSRNetConfig.from_variant("lite", 4)
    for scale in (2, 4, 8):
        assert type(build_dsrnet(DSRNetConfig.from_variant("lite", scale))) is DSRNet


@pytest.mark.parametrize("scale,cascade,stage", [(16, 2, 4), (16, 4, 2), (8, 3, 2), (4, 2, 2), (8, 1, 8)])
def test_stage_scale_is_the_cascade_th_root(scale, cascade, stage):
    assert DSRNetConfig(scale=scale, cascade=cascade).stage_scale == stage


@pytest.mark.parametrize("scale,cascade", [(8, 2), (16, 3), (2, 2), (16, 0), (16, 5)])
def test_impossible_cascades_fail_naming_scale_and_stages(scale, cascade):
    with pytest.raises(ValueError, match="cascade must be within|is not a product of"):
        build_dsrnet(DSRNetConfig(scale=scale, cascade=cascade))


def test_one_dsrnet_refuses_a_cascade_config():
    with pytest.raises(ValueError, match="build_dsrnet"):
        DSRNet(DSRNetConfig(scale=16, cascade=2))


def test_a_cascade_is_its_stages_applied_in_turn_and_stays_scale_equivariant():
    net = tiny(16, 2)
    lr = torch.randn(2, 1, 5, 6) * 0.3
    with torch.no_grad():
        out = net(lr)
        assert out.shape == (2, 1, 80, 96)
        torch.testing.assert_close(out, net.stages[1](net.stages[0](lr)))
        # a constant on log depth is a global scale factor: k·depth in, k·depth out
        torch.testing.assert_close(net(lr + 0.7), out + 0.7, rtol=0, atol=1e-5)
        features = net.forward_features(lr)
    torch.testing.assert_close(features.depth, out)
    assert len(features.features) == 1 and features.features[0].shape[-2:] == (80, 96)  # the last stage's


def test_a_cascade_file_round_trips_with_its_card(tmp_path):
    net = tiny(16, 2)
    path = save_model(tmp_path / "x16.safetensors", net, card_for(net))
    card = read_card(path)
    assert card.architecture == "DSRNet" and card.config["cascade"] == 2 and card.scale == 16
    loaded, _ = load_model(path, expected_scale=16)
    assert isinstance(loaded, CascadeDSRNet)
    lr = torch.randn(1, 1, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(loaded(lr), net(lr))


def test_a_card_whose_cascade_does_not_match_its_tensors_is_refused(tmp_path):
    from safetensors.torch import save_file

    net = tiny(16, 2)
    card = card_for(net)
    card.config["cascade"] = 1  # the tensors are two stages', the card says one x16 network
    tensors = {k: v.contiguous() for k, v in net.state_dict().items()}
    from dsr_ros.weights import CARD_KEY, FORMAT, FORMAT_KEY

    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata={CARD_KEY: card.to_json(), FORMAT_KEY: FORMAT})
    with pytest.raises(WeightsError):
        load_model(tmp_path / "bad.safetensors", expected_scale=16)


def test_warm_start_copies_an_x4_file_into_every_stage(tmp_path):
    x4 = tiny(4)
    start = save_model(tmp_path / "x4.safetensors", x4, card_for(x4))
    cascade = tiny(16, 2)
    warm_start(cascade, str(start), 16)
    lr = torch.randn(1, 1, 5, 5) * 0.2
    with torch.no_grad():
        torch.testing.assert_close(cascade(lr), x4(x4(lr)))
    x8 = tiny(8)
    wrong = save_model(tmp_path / "x8.safetensors", x8, card_for(x8))
    with pytest.raises(WeightsError, match="scale"):
        warm_start(tiny(16, 2), str(wrong), 16)
    other = tiny(4, 2)  # an x4 cascade of x2 stages does not fit an x4 file's single stage... nor its tensors
    with pytest.raises((TrainingError, WeightsError)):
        warm_start(other, str(start), 4)


def test_the_upsampler_runs_a_cascade_end_to_end_with_holes():
    net = tiny(16, 2)
    up = Upsampler.from_model(net)
    lr = np.random.default_rng(0).uniform(1.0, 3.0, (3, 4)).astype(np.float32)
    lr[0, 0] = np.nan
    out = up.upsample(lr)
    assert out.shape == (48, 64) and np.isnan(out[:16, :16]).all() and np.isfinite(out[16:, 16:]).all()
    np.testing.assert_allclose(up.upsample(2 * lr), 2 * out, rtol=1e-5)


def test_recipes_check_the_cascade():
    assert recipe_from_dict({"model": {"scale": 16, "cascade": 2}}).model.cascade == 2
    with pytest.raises(RecipeError, match="model.cascade: scale 16 is not a product of 3"):
        recipe_from_dict({"model": {"scale": 16, "cascade": 3}})
