"""RGB guidance: packing the colour image, the guided network, its training batches, warm start and the Upsampler."""
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dsr_ros.colour import guide_input, pack_rgb, resize_rgb, unit_rgb
from dsr_ros.net import DSRNetConfig, build_dsrnet
from dsr_ros.train.calibrate import scale_residual
from dsr_ros.train.colour_jitter import jitter_colour
from dsr_ros.train.data import BatchSource, _item
from dsr_ros.train.evaluate import evaluate, heldout_scenes
from dsr_ros.train.recipe import RecipeError, recipe_from_dict
from dsr_ros.train.trainer import evaluate_and_export, train, warm_start
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import card_for, load_model, save_model

TINY = {"features": 4, "shallow": 4, "units": 1}


def _net(scale: int = 2, guide: int = 3, **shape) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_dsrnet(DSRNetConfig(scale=scale, rgb_guide=guide, **{**TINY, **shape})).eval()


def _trained_guide(net: torch.nn.Module) -> torch.nn.Module:
    """The fusion's zero output conv given weights, as training would: a new one adds nothing."""
    with torch.no_grad():
        net.guide.fuse[-1][0].weight.normal_(0.0, 0.5)
    return net


def test_packing_is_torchs_space_to_depth_and_the_network_unpacks_it_exactly():
    rgb = np.random.default_rng(0).random((12, 20, 3), dtype=np.float32)
    packed = pack_rgb(rgb, 4)
    expected = F.pixel_unshuffle(torch.from_numpy(rgb.transpose(2, 0, 1))[None], 4)[0].numpy()
    np.testing.assert_array_equal(packed, expected)
    np.testing.assert_array_equal(F.pixel_shuffle(torch.from_numpy(packed)[None], 4)[0].numpy(), rgb.transpose(2, 0, 1))
    with pytest.raises(ValueError, match="whole number of 4x4 blocks"):
        pack_rgb(rgb[:10], 4)


def test_colour_images_of_any_type_and_size_become_unit_rgb_at_the_output_size():
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, 32:] = 255
    assert unit_rgb(image).dtype == np.float32 and unit_rgb(image).max() == 1.0
    assert unit_rgb(image.astype(np.uint16) * 257).max() == 1.0
    assert unit_rgb(np.full((2, 2, 3), 7.0)).max() == 1.0  # float is clipped to [0, 1]
    for bad in (np.zeros((4, 4)), np.zeros((4, 4, 4)), np.zeros((4, 4, 3), np.int32)):
        with pytest.raises(ValueError, match="colour image"):
            unit_rgb(bad)
    small = resize_rgb(unit_rgb(image), 24, 32)  # shrinking averages
    assert small.shape == (24, 32, 3) and small[:, :15].max() == 0 and small[:, 17:].min() == 1
    assert resize_rgb(small, 48, 64).shape == (48, 64, 3)
    assert guide_input(image, (6, 8), 4).shape == (48, 6, 8)  # 640x480-like colour for a 4x smaller output


def test_a_new_guide_starts_within_a_hair_of_the_depth_only_network_it_was_grown_from(tmp_path):
    plain = _net(guide=0)
    path = save_model(tmp_path / "plain.safetensors", plain, card_for(plain))
    grown = _net(guide=3)
    warm_start(grown, str(path), 2)
    lr = torch.randn(2, 1, 6, 7) * 0.2
    rgb = torch.rand(2, 12, 6, 7)
    with torch.no_grad():
        start, before = grown(torch.cat([lr, rgb], 1)), plain(lr)
    torch.testing.assert_close(start, before, atol=2e-3, rtol=0)  # log depth: 0.2 % at most
    assert (start - before).abs().max() > 0  # not zero: the guide's branch gets gradients from the first step


@pytest.mark.parametrize("mask", [False, True])
def test_colour_changes_the_output_and_depth_stays_scale_equivariant(mask):
    net = _trained_guide(_net(scale=4, mask_input=mask))
    assert net.config.in_channels == 1 + mask + 48
    lr = torch.randn(1, 1, 6, 8) * 0.2
    valid = torch.ones(1, int(mask), 6, 8)
    grey, edge = torch.full((1, 48, 6, 8), 0.5), torch.full((1, 48, 6, 8), 0.5)
    edge[..., 4:] = 1.0
    with torch.no_grad():
        out_grey, out_edge = net(torch.cat([lr, valid, grey], 1)), net(torch.cat([lr, valid, edge], 1))
        shifted = net(torch.cat([lr + 0.7, valid, edge], 1))  # log depth + c: every depth times e^c
    assert out_grey.shape == (1, 1, 24, 32)
    assert (out_grey - out_edge).abs().max() > 1e-3  # the network sees the colour
    torch.testing.assert_close(shifted, out_edge + 0.7, atol=1e-5, rtol=0)


def test_a_guide_needs_a_single_stage_and_a_recipe_says_so():
    with pytest.raises(ValueError, match="single-stage"):
        build_dsrnet(DSRNetConfig(scale=16, cascade=2, rgb_guide=4))
    for model in ({"scale": 16, "cascade": 2, "rgb_guide": 4}, {"scale": 4, "rgb_guide": -1}):
        with pytest.raises(RecipeError, match="model.rgb_guide"):
            recipe_from_dict({"model": model})


def test_training_batches_pack_the_crops_colour_as_the_upsampler_does():
    data = recipe_from_dict({"data": {"patch": 32, "degradations": ["tof"]}}).data
    guided, plain = BatchSource(data, 4, guide=True)(3, 0, 2), BatchSource(data, 4)(3, 0, 2)
    assert guided.lr.shape == (2, 49, 8, 8)
    torch.testing.assert_close(guided.lr[:, :1], plain.lr)
    for i in range(2):  # the same channels the Upsampler builds from this crop's colour image
        expected = guide_input(guided.rgb[i].numpy().transpose(1, 2, 0), (8, 8), 4)
        np.testing.assert_array_equal(guided.lr[i, 1:].numpy(), expected)


def test_the_upsampler_feeds_the_frames_colour_and_refuses_a_missing_or_unwanted_one(tmp_path):
    net = _trained_guide(_net(scale=2))
    path = save_model(tmp_path / "guided.safetensors", net, card_for(net))
    upsampler = Upsampler.from_file(path, backend="torch")
    assert upsampler.rgb_guided
    depth = np.full((6, 8), 2000, np.uint16)
    depth[:, 4:] = 1000
    depth[2, 2] = 0
    colour = np.zeros((24, 32, 3), np.uint8)  # registered colour at twice the output size
    colour[:, 16:] = (200, 40, 40)
    out = upsampler.upsample(depth, rgb=colour)
    batch, valid, norms = upsampler._preprocess(depth[None], [colour])
    np.testing.assert_array_equal(batch[0, 1:], guide_input(colour, (6, 8), 2))
    with torch.no_grad():
        expected = np.exp(load_model(path)[0](torch.from_numpy(batch)).numpy()[0, 0]) * norms[0].reference * 1000.0
    shown = out > 0
    np.testing.assert_allclose(out[shown], np.round(expected[shown]), atol=1)
    assert (out[4:6, 4:6] == 0).all()  # the hole stays a hole
    assert (upsampler.upsample(depth, rgb=colour[:, ::-1]) != out).any()  # other colour, other depth
    assert upsampler.upsample(np.stack([depth, depth]), rgb=np.stack([colour, colour])).shape == (2, 12, 16)
    with pytest.raises(ValueError, match="RGB-guided"):
        upsampler.upsample(depth)
    with pytest.raises(ValueError, match="one image per depth frame"):
        upsampler.upsample(np.stack([depth, depth]), rgb=colour[None])
    plain = Upsampler.from_model(_net(guide=0), backend="torch")
    with pytest.raises(ValueError, match="depth-only"):
        plain.upsample(depth, rgb=colour)


def test_calibration_scales_the_colour_residual_too():
    net = _trained_guide(_net(scale=2))
    lr = torch.cat([torch.randn(1, 1, 6, 7) * 0.2, torch.rand(1, 12, 6, 7)], 1)
    with torch.no_grad():
        bicubic = F.interpolate(lr[:, :1], scale_factor=2, mode="bicubic", align_corners=False)
        torch.testing.assert_close(scale_residual(net, 0.0)(lr), bicubic)


def test_a_guided_recipe_trains_from_a_depth_only_file_and_is_evaluated_with_colour(tmp_path):
    plain = _net(guide=0)
    start = save_model(tmp_path / "start.safetensors", plain, card_for(plain))
    recipe = recipe_from_dict({
        "name": "guided", "model": {"variant": "lite", "scale": 2, "rgb_guide": 3, **TINY},
        "data": {"patch": 16, "batch_size": 2, "degradations": ["bicubic"]},
        "train": {"steps": 6, "lr": 3e-3, "warmup_steps": 1, "checkpoint_every": 3, "log_every": 3, "seed": 3,
                  "init_from": str(start)},
        "eval": {"scenes": 1, "size": 32}, "output": {"dir": str(tmp_path / "run")}})
    table = evaluate_and_export(train(recipe, progress=False), recipe, progress=False)  # held-out scenes carry colour
    assert "| x2 degradation |" in table
    model, card = load_model(tmp_path / "run" / "model.safetensors")
    assert card.rgb_guided and card.config["rgb_guide"] == 3 and model.config.in_channels == 13
    assert model.guide.fuse[-1][0].weight.abs().sum() > 0  # it trained
    with pytest.raises(ValueError, match="colour images"):
        evaluate(Upsampler.from_model(model, card, backend="torch"), [scene.depth for scene in heldout_scenes(1, 32, 5)])


def test_old_cards_are_depth_only_and_a_crafted_guide_must_be_an_integer(tmp_path):
    from dsr_ros.weights import WeightsError

    plain = _net(guide=0)
    card = card_for(plain)
    card.config.pop("rgb_guide")
    assert not load_model(save_model(tmp_path / "old.safetensors", plain, card))[1].rgb_guided
    bad = card_for(_net())
    bad.config["rgb_guide"] = "3"
    save_model(tmp_path / "bad.safetensors", _net(), bad)
    with pytest.raises(WeightsError, match="rgb_guide must be integers|must be integers"):
        load_model(tmp_path / "bad.safetensors")
    assert replace(DSRNetConfig(scale=2), rgb_guide=4).in_channels == 13


def test_colour_jitter_changes_the_palette_but_keeps_the_edges_and_the_unit_range():
    rgb = np.zeros((32, 32, 3), np.float32)
    rgb[:, 16:] = (0.9, 0.2, 0.4)
    rgb[:, :16] = (0.1, 0.5, 0.3)
    outs = [jitter_colour(rgb, np.random.default_rng(seed)) for seed in range(20)]
    np.testing.assert_array_equal(outs[3], jitter_colour(rgb, np.random.default_rng(3)))  # seeded
    assert all(o.dtype == np.float32 and o.shape == rgb.shape and 0 <= o.min() and o.max() <= 1 for o in outs)
    assert np.std([o[0, 20] for o in outs], axis=0).min() > 0.05  # the palette is not learnable
    for o in outs:  # the step from one side to the other stays far above the noise within a side
        step = np.abs(o[:, 17:].mean((0, 1)) - o[:, :15].mean((0, 1))).max()
        assert step > 3 * o[:, :15].std(axis=(0, 1)).max()


def test_jitter_touches_only_the_colour_channels_and_needs_a_guided_model():
    rng_scene = np.random.default_rng(1)
    rgb = (rng_scene.random((32, 32, 3)) * 255).astype(np.uint8)
    depth = np.full((32, 32), 2.0, np.float32)
    depth[:, 16:] = 4.0
    plain = _item(rgb, depth, 4, ["bicubic"], np.random.default_rng(5), guide=True)[0]
    jittered = _item(rgb, depth, 4, ["bicubic"], np.random.default_rng(5), guide=True, jitter=1.0)[0]
    np.testing.assert_array_equal(plain[:1], jittered[:1])
    assert np.abs(plain[1:] - jittered[1:]).mean() > 0.01
    base = {"model": {"scale": 4}, "data": {"colour_jitter": 0.5}}
    with pytest.raises(RecipeError, match="needs model.rgb_guide"):
        recipe_from_dict(base)
    with pytest.raises(RecipeError, match="colour_jitter must be a probability"):
        recipe_from_dict({"model": {"scale": 4, "rgb_guide": 4}, "data": {"colour_jitter": 1.5}})
    assert recipe_from_dict({"model": {"scale": 4, "rgb_guide": 4}, "data": {"colour_jitter": 0.5}}).data.colour_jitter == 0.5


def test_the_node_core_refuses_a_guided_model_it_could_feed_no_colour():
    from ros_helpers import FACTORY

    from dsr_ros.ros.core import NodeCore

    with pytest.raises(ValueError, match="RGB-guided"):
        NodeCore(Upsampler.from_model(_net()), FACTORY)
    assert NodeCore(Upsampler.from_model(_net(guide=0)), FACTORY).upsampler.scale == 2
