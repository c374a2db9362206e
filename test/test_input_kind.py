"""Input-kind conditioning: the network, its training batches, warm start, the Upsampler, eval, promote, CLI and node."""
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from dsr_ros.cli import main
from dsr_ros.net import DSRNetConfig, build_dsrnet
from dsr_ros.train.data import BatchSource
from dsr_ros.train.evaluate import evaluate, heldout_scenes
from dsr_ros.train.recipe import RecipeError, recipe_from_dict
from dsr_ros.train.trainer import evaluate_and_export, train, warm_start
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import WeightsError, card_for, load_model, save_model

TINY = {"features": 4, "shallow": 4, "units": 1}
KINDS = ("bicubic", "nearest", "tof")


def _net(kinds: tuple[str, ...] = KINDS, scale: int = 2, mask: bool = False, trained: bool = True) -> torch.nn.Module:
    """A tiny DSRNet; `trained` gives its kind table weights, as training would (a new one does nothing)."""
    torch.manual_seed(0)
    net = build_dsrnet(DSRNetConfig(scale=scale, mask_input=mask, input_kinds=kinds, **TINY)).eval()
    if trained and kinds:
        with torch.no_grad():
            net.kind.table.weight.normal_(0.0, 0.5)
    return net


def _planes(kind: int | None, n: int = 1, h: int = 8, w: int = 10, kinds: int = len(KINDS)) -> torch.Tensor:
    planes = torch.zeros(n, kinds, h, w)
    if kind is not None:
        planes[:, kind] = 1.0
    return planes


def test_a_new_kind_table_leaves_the_network_it_was_grown_from_unchanged(tmp_path):
    plain = _net(kinds=())
    path = save_model(tmp_path / "plain.safetensors", plain, card_for(plain))
    grown = _net(trained=False)
    warm_start(grown, str(path), 2)
    lr = torch.randn(2, 1, 8, 10) * 0.2
    with torch.no_grad():
        for kind in (None, 0, 2):
            torch.testing.assert_close(grown(torch.cat([lr, _planes(kind, 2)], 1)), plain(lr))


def test_dense_conditioning_modulates_every_lr_block_and_down_projection_and_also_starts_as_an_identity(tmp_path):
    from dsr_ros.net.dsrnet import kind_places

    config = DSRNetConfig(scale=4, lr_blocks=2, units=3, input_kinds=KINDS, kind_dense=True)
    assert [name for name, _ in kind_places(config)] == ["first", "second", "lr0", "lr1", "features", "up0", "up1",
                                                         "up2", "down0", "down1"]
    assert [name for name, _ in kind_places(replace(config, kind_dense=False))] == ["first", "features", "up0", "up1",
                                                                                   "up2"]
    plain = build_dsrnet(replace(config, input_kinds=(), kind_dense=False, features=4, shallow=4)).eval()
    path = save_model(tmp_path / "plain.safetensors", plain, card_for(plain))
    dense = build_dsrnet(replace(config, features=4, shallow=4)).eval()
    warm_start(dense, str(path), 4)
    lr = torch.randn(1, 1, 6, 7) * 0.2
    with torch.no_grad():
        torch.testing.assert_close(dense(torch.cat([lr, _planes(2, h=6, w=7)], 1)), plain(lr))
        dense.kind.table.weight.normal_(0.0, 0.5)
        assert (dense(torch.cat([lr, _planes(2, h=6, w=7)], 1)) - plain(lr)).abs().max() > 1e-3
    with pytest.raises(RecipeError, match="kind_dense"):
        recipe_from_dict({"model": {"kind_dense": True}})


def test_each_told_kind_changes_the_output_and_depth_stays_scale_equivariant():
    net = _net(mask=True)
    lr, mask = torch.randn(1, 1, 8, 10) * 0.2, torch.ones(1, 1, 8, 10)
    with torch.no_grad():
        outs = [net(torch.cat([lr, mask, _planes(k)], 1)) for k in (None, 0, 1, 2)]
        shifted = net(torch.cat([lr + 0.7, mask, _planes(1)], 1))  # log depth + c: every depth times e^c
    assert outs[0].shape == (1, 1, 16, 20) and net.config.in_channels == 2 + len(KINDS)
    assert all((a - b).abs().max() > 1e-3 for i, a in enumerate(outs) for b in outs[i + 1:])
    torch.testing.assert_close(shifted, outs[2] + 0.7, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="input_kinds needs a single-stage"):
        build_dsrnet(DSRNetConfig(scale=16, cascade=2, input_kinds=KINDS, **TINY))
    with pytest.raises(ValueError, match="distinct names"):
        build_dsrnet(DSRNetConfig(scale=2, input_kinds=("tof", "tof"), **TINY))


def test_training_batches_tell_each_crop_its_degradation_or_nothing():
    def batch(degradations, kinds, unknown=0.0, size=2):
        data = recipe_from_dict({"data": {"patch": 32, "degradations": degradations, "unknown_kind": unknown},
                                 "model": {"input_kinds": kinds, "scale": 4}}).data
        return BatchSource(data, 4, kinds=tuple(kinds))(3, 0, size)

    told = batch(["tof"], ["bicubic", "tof"])
    assert told.lr.shape == (2, 3, 8, 8)
    np.testing.assert_array_equal(told.lr[:, 1:].amax((2, 3)).numpy(), [[0, 1], [0, 1]])
    assert torch.equal(told.lr[:, 1:].amin((2, 3)), told.lr[:, 1:].amax((2, 3)))  # constant planes
    plain = BatchSource(recipe_from_dict({"data": {"patch": 32, "degradations": ["tof"]}}).data, 4)(3, 0, 2)
    torch.testing.assert_close(told.lr[:, :1], plain.lr)  # the depth channel is what an untold network gets
    assert batch(["bicubic"], ["bicubic", "tof"]).lr[:, 1:, 0, 0].tolist() == [[1, 0], [1, 0]]
    assert batch(["tof"], ["bicubic", "tof"], unknown=1.0).lr[:, 1:].abs().sum() == 0
    mixed = batch(["bicubic", "tof"], ["bicubic", "tof"], unknown=0.5, size=40).lr[:, 1:, 0, 0]
    untold = int((mixed.sum(1) == 0).sum())
    assert 8 <= untold <= 32 and (mixed.sum(1) <= 1).all()  # about half, never two kinds at once
    assert (mixed[:, 0] > 0).any() and (mixed[:, 1] > 0).any()


def test_recipes_check_the_kinds_they_ask_for():
    def recipe(model, data):
        return recipe_from_dict({"model": {"scale": 4, **model}, "data": {"degradations": ["bicubic", "tof"], **data}})

    assert recipe({"input_kinds": ["tof"]}, {"unknown_kind": 0.3}).model.input_kinds == ["tof"]
    assert recipe({"input_kinds": ["stereo", "tof"]}, {}).model.input_kinds == ["stereo", "tof"]  # a fine-tune of some
    for model, data, message in [({"input_kinds": ["sonar"]}, {}, "model.input_kinds must be distinct degradation names"),
                                 ({"input_kinds": ["tof", "tof"]}, {}, "model.input_kinds"),
                                 ({}, {"unknown_kind": 0.2}, "data.unknown_kind"),
                                 ({"input_kinds": ["tof"]}, {"unknown_kind": 1.5}, "data.unknown_kind"),
                                 ({"input_kinds": ["tof"], "scale": 16, "cascade": 2}, {}, "single-stage")]:
        with pytest.raises(RecipeError, match=message):
            recipe(model, data)


def test_the_upsampler_feeds_the_told_kind_and_refuses_one_its_card_lacks(tmp_path):
    net = _net()
    path = save_model(tmp_path / "kinds.safetensors", net, card_for(net))
    upsampler = Upsampler.from_file(path, backend="torch", input_kind="nearest")
    assert upsampler.model_card.input_kinds == KINDS
    depth = np.full((8, 10), 2000, np.uint16)
    depth[:, 5:] = 1000
    batch, _, norms = upsampler._preprocess(depth[None])
    assert batch.shape == (1, 4, 8, 10)
    np.testing.assert_array_equal(batch[0, 1:], _planes(1)[0].numpy())
    with torch.no_grad():
        expected = np.exp(net(torch.from_numpy(batch)).numpy()[0, 0]) * norms[0].reference * 1000.0
    told = upsampler.upsample(depth)
    np.testing.assert_allclose(told, np.round(expected), atol=1)
    upsampler.input_kind = "unknown"
    assert upsampler.input_kind is None and upsampler._preprocess(depth[None])[0][0, 1:].sum() == 0
    assert np.abs(upsampler.upsample(depth).astype(int) - told).max() > 5
    with pytest.raises(ValueError, match=r"one of \['bicubic', 'nearest', 'tof'\] or unknown, got 'stereo'"):
        upsampler.input_kind = "stereo"
    plain = _net(kinds=())
    with pytest.raises(ValueError, match="this model is not told its input kind"):
        Upsampler.from_model(plain, card_for(plain), input_kind="tof")


def test_cards_keep_the_kinds_and_a_crafted_list_is_refused(tmp_path):
    net = _net()
    model, card = load_model(save_model(tmp_path / "k.safetensors", net, card_for(net)))
    assert card.input_kinds == KINDS and model.config.input_kinds == KINDS
    assert replace(DSRNetConfig(scale=2), input_kinds=("tof",), mask_input=True).in_channels == 3
    bad = card_for(net)
    bad.config["input_kinds"] = "tof"
    save_model(tmp_path / "bad.safetensors", net, bad)
    with pytest.raises(WeightsError, match="input_kinds must be a list"):
        load_model(tmp_path / "bad.safetensors")


def test_evaluation_tells_each_degradation_unless_asked_not_to():
    net = _net(kinds=("tof",), trained=False)
    with torch.no_grad():
        net.kind.table.weight[:] = 3.0  # told "tof", the features are far from the untold network's
    upsampler = Upsampler.from_model(net, card_for(net))
    scenes = heldout_scenes(1, 32, 5)
    told = evaluate(upsampler, scenes, ("bicubic", "tof"))
    untold = evaluate(upsampler, scenes, ("bicubic", "tof"), tell_kind=False)
    assert told["bicubic"]["model"] == untold["bicubic"]["model"]  # no such kind: untold either way
    assert abs(told["tof"]["model"] - untold["tof"]["model"]) > 1.0
    assert upsampler.input_kind is None  # evaluation leaves the upsampler as it found it


def test_a_kinds_recipe_trains_from_a_kind_less_file_and_says_so_in_its_card(tmp_path):
    plain = _net(kinds=())
    start = save_model(tmp_path / "start.safetensors", plain, card_for(plain))
    recipe = recipe_from_dict({
        "name": "kinds", "model": {"variant": "lite", "scale": 2, "input_kinds": ["stereo", "tof"], **TINY},
        "data": {"patch": 16, "batch_size": 2, "degradations": ["stereo", "tof"], "unknown_kind": 0.2},
        "train": {"steps": 6, "lr": 3e-3, "warmup_steps": 1, "checkpoint_every": 3, "log_every": 3, "seed": 3,
                  "init_from": str(start)},
        "eval": {"scenes": 1, "size": 32}, "output": {"dir": str(tmp_path / "run")}})
    table = evaluate_and_export(train(recipe, progress=False), recipe, progress=False)
    assert "| x2 degradation |" in table
    model, card = load_model(tmp_path / "run" / "model.safetensors")
    assert card.input_kinds == ("stereo", "tof") and model.config.in_channels == 3
    assert model.kind.table.weight.abs().sum() > 0  # it trained


def test_cli_upsample_tells_the_kind_and_names_the_option_when_the_model_lacks_it(tmp_path, capsys):
    net = _net()
    path = save_model(tmp_path / "kinds.safetensors", net, card_for(net))
    depth = np.random.default_rng(1).integers(500, 4000, (8, 10)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "in.png"), depth)
    assert main(["upsample", str(tmp_path / "in.png"), str(tmp_path / "tof.png"), "--model", str(path),
                 "--input-kind", "tof"]) == 0
    out = cv2.imread(str(tmp_path / "tof.png"), cv2.IMREAD_UNCHANGED).astype(int)
    expected = Upsampler.from_file(path, backend="torch", input_kind="tof").upsample(depth)
    assert np.abs(out - expected).max() <= 1
    assert np.abs(out - Upsampler.from_file(path, backend="torch").upsample(depth)).max() > 5
    plain = _net(kinds=())
    plain_path = save_model(tmp_path / "plain.safetensors", plain, card_for(plain))
    assert main(["upsample", str(tmp_path / "in.png"), str(tmp_path / "o.png"), "--model", str(plain_path),
                 "--input-kind", "tof"]) == 2
    assert "--input-kind: input_kind must be unknown: this model is not told its input kind" in capsys.readouterr().err


def test_the_node_configuration_names_input_kind_when_the_card_lacks_that_kind(tmp_path):
    from dsr_ros.ros.node import _load_upsampler
    from dsr_ros.ros.params import ConfigError, validate

    plain = _net(kinds=())
    path = save_model(tmp_path / "plain.safetensors", plain, card_for(plain))
    with pytest.raises(ConfigError, match=r"parameter 'input_kind' \('stereo'\): input_kind must be unknown"):
        _load_upsampler(validate({"model": str(path), "input_kind": "stereo", "backend": "torch", "device": "cpu"}))
    net = _net()
    told = _load_upsampler(validate({"model": str(save_model(tmp_path / "k.safetensors", net, card_for(net))),
                                     "input_kind": "tof", "backend": "torch", "device": "cpu"}))
    assert told.input_kind == "tof"
    with pytest.raises(ConfigError, match="input_kind"):
        validate({"input_kind": "sonar"})


def test_tensorrt_parity_inputs_tell_a_kinds_network_each_kind_and_none():
    from dsr_ros.engine.tensorrt_backend import parity_inputs

    frames = parity_inputs((1, 5, 8, 9), count=4, kinds=3)
    told = [x[0, 2:, 0, 0].tolist() for x in frames]
    assert told == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert all(set(np.unique(x[0, 1]).tolist()) <= {0.0, 1.0} for x in frames)  # the mask channel stays a mask
