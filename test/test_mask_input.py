"""The validity mask as a second input channel: network, training batches, warm start and the Upsampler."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from dsr_ros.net import DSRNetConfig, build_dsrnet
from dsr_ros.train.data import BatchSource, make_pair
from dsr_ros.train.degrade import degrade
from dsr_ros.train.recipe import recipe_from_dict
from dsr_ros.train.scenes3d import scene3d_for_seed
from dsr_ros.train.trainer import evaluate_and_export, train, warm_start
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import card_for, load_model, save_model

TINY = {"features": 4, "shallow": 4, "units": 1}


def _net(scale: int = 2, mask: bool = True, **shape) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_dsrnet(DSRNetConfig(scale=scale, mask_input=mask, **{**TINY, **shape})).eval()


def _trained_mask_conv(net: torch.nn.Module) -> torch.nn.Module:
    """The mask conv given weights, as training would: a new one does nothing."""
    for module in net.modules():
        if type(module).__name__ == "MaskConv":
            with torch.no_grad():
                module.weight.normal_(0.0, 0.5)
    return net


def test_a_new_mask_conv_leaves_the_network_it_was_grown_from_unchanged(tmp_path):
    plain = _net(mask=False)
    path = save_model(tmp_path / "plain.safetensors", plain, card_for(plain))
    grown = _net(mask=True)
    warm_start(grown, str(path), 2)
    lr = torch.randn(2, 1, 12, 14) * 0.2
    mask = (torch.rand(2, 1, 12, 14) > 0.3).float()
    with torch.no_grad():
        torch.testing.assert_close(grown(torch.cat([lr, mask], 1)), plain(lr))


@pytest.mark.parametrize("scale", [2, 16])
def test_the_mask_changes_the_output_and_depth_stays_scale_equivariant(scale):
    net = _trained_mask_conv(_net(scale=scale, **({"cascade": 2} if scale == 16 else {})))
    lr = torch.randn(1, 1, 8, 10) * 0.2
    full, holed = torch.ones(1, 1, 8, 10), torch.ones(1, 1, 8, 10)
    holed[..., 3:5, 4:6] = 0
    with torch.no_grad():
        out_full, out_holed = net(torch.cat([lr, full], 1)), net(torch.cat([lr, holed], 1))
        shifted = net(torch.cat([lr + 0.7, holed], 1))  # log depth + c: every depth times e^c
    assert out_full.shape == (1, 1, 8 * scale, 10 * scale)
    assert (out_full - out_holed).abs().max() > 1e-3  # the network sees which pixels were filled
    torch.testing.assert_close(shifted, out_holed + 0.7, atol=1e-5, rtol=0)


def test_training_pairs_carry_the_mask_of_the_lr_holes():
    hr = scene3d_for_seed(11, 64, 64).depth
    plain, target, _ = make_pair(hr, 4, "stereo", np.random.default_rng(5))
    both, target_with, _ = make_pair(hr, 4, "stereo", np.random.default_rng(5), mask=True)
    holes = ~np.isfinite(degrade(hr, 4, "stereo", np.random.default_rng(5)))
    assert both.shape == (2, 16, 16) and holes.any()
    np.testing.assert_array_equal(both[0], plain)
    np.testing.assert_array_equal(both[1], (~holes).astype(np.float32))
    np.testing.assert_array_equal(target_with, target)
    data = recipe_from_dict({"data": {"patch": 64, "degradations": ["stereo"]}}).data
    batch = BatchSource(data, 4, mask=True)(3, 0, 2)
    assert batch.lr.shape == (2, 2, 16, 16) and set(torch.unique(batch.lr[:, 1]).tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(batch.lr[:, :1], BatchSource(data, 4)(3, 0, 2).lr)


def test_the_upsampler_feeds_the_mask_of_the_frames_holes(tmp_path):
    net = _trained_mask_conv(_net())
    path = save_model(tmp_path / "mask.safetensors", net, card_for(net))
    upsampler = Upsampler.from_file(path, backend="torch")
    assert upsampler.model_card.mask_input
    depth = np.full((12, 14), 2000, np.uint16)
    depth[:, 7:] = 1000
    depth[4:6, 3:5] = 0  # a hole the sensor reported
    out = upsampler.upsample(depth)
    model, _ = load_model(path)
    batch, valid, norms = upsampler._preprocess(depth[None])
    assert batch.shape == (1, 2, 12, 14)
    np.testing.assert_array_equal(batch[0, 1], valid[0].astype(np.float32))
    with torch.no_grad():
        expected = np.exp(model(torch.from_numpy(batch)).numpy()[0, 0]) * norms[0].reference * 1000.0
    shown = (out > 0) & np.isfinite(expected)
    np.testing.assert_allclose(out[shown], np.round(expected[shown]), atol=1)
    assert (out[8:12, 6:10] == 0).all()  # the hole stays a hole


def test_a_mask_recipe_trains_from_a_mask_less_file_and_says_so_in_its_card(tmp_path):
    plain = _net(mask=False)
    start = save_model(tmp_path / "start.safetensors", plain, card_for(plain))
    recipe = recipe_from_dict({
        "name": "mask", "model": {"variant": "lite", "scale": 2, "mask_input": True, **TINY},
        "data": {"patch": 16, "batch_size": 2, "degradations": ["stereo"], "truth_shadows": 0.5},
        "train": {"steps": 6, "lr": 3e-3, "warmup_steps": 1, "checkpoint_every": 3, "log_every": 3, "seed": 3,
                  "init_from": str(start)},
        "eval": {"scenes": 1, "size": 32}, "output": {"dir": str(tmp_path / "run")}})
    table = evaluate_and_export(train(recipe, progress=False), recipe, progress=False)  # held-out eval via the Upsampler
    assert "| x2 degradation |" in table
    model, card = load_model(tmp_path / "run" / "model.safetensors")
    assert card.config["mask_input"] is True and model.config.in_channels == 2
    assert model.mask_conv.weight.abs().sum() > 0  # it trained


def test_old_cards_have_no_mask_and_a_crafted_one_must_say_true_or_false(tmp_path):
    from dsr_ros.weights import WeightsError

    plain = _net(mask=False)
    card = card_for(plain)
    card.config.pop("mask_input")
    path = save_model(tmp_path / "old.safetensors", plain, card)
    assert not load_model(path)[1].mask_input
    bad = card_for(_net())
    bad.config["mask_input"] = "yes"
    save_model(tmp_path / "bad.safetensors", _net(), bad)
    with pytest.raises(WeightsError, match="mask_input and kind_dense must be true or false"):
        load_model(tmp_path / "bad.safetensors")
    assert replace(DSRNetConfig(scale=2), mask_input=True).in_channels == 2


def test_tensorrt_parity_inputs_give_a_mask_network_a_real_mask():
    from dsr_ros.engine.tensorrt_backend import parity_inputs

    for x in parity_inputs((1, 2, 8, 9)):
        assert x.shape == (1, 2, 8, 9) and set(np.unique(x[0, 1]).tolist()) <= {0.0, 1.0} and x[0, 1].mean() > 0.8
        assert len(np.unique(x[0, 0])) > 2  # depth-like log ratios in channel 0
    assert parity_inputs((2, 1, 8, 9))[0].shape == (2, 1, 8, 9)
