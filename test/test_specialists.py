"""Specialists: networks trained on one input kind, found beside the shipped model and run when told that kind."""
from pathlib import Path

import numpy as np
import pytest
import torch

from dsr_ros import weights
from dsr_ros.net import DSRNetConfig, build_dsrnet
from dsr_ros.train.promote import PromotionRefused, promote
from dsr_ros.train.recipe import recipe_from_dict
from dsr_ros.train.scenes3d import scene3d_for_seed
from dsr_ros.train.trainer import specialist_kind, warm_start
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import WeightsError, card_for, read_card, save_model, shipped_specialists

TINY = {"features": 4, "shallow": 4, "units": 1}


def _tiny(seed: int, kinds: tuple[str, ...] = ()) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = build_dsrnet(DSRNetConfig(scale=2, input_kinds=kinds, **TINY)).eval()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.normal_(0.0, 0.3)  # a distinct output per seed (a new network's last conv is zero)
    return net


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models folder holding a general x2 (told bicubic or nearest) and a specialist for nearest, alone searched."""
    folder = tmp_path / "models"
    folder.mkdir()
    general = _tiny(0, ("bicubic", "nearest"))
    save_model(folder / "dsrnet_lite_x2.safetensors", general, card_for(general))
    specialist = _tiny(1)
    save_model(folder / "dsrnet_lite_x2.nearest.safetensors", specialist, card_for(specialist, specialist_kind="nearest"))
    monkeypatch.setattr(weights, "models_dirs", lambda: [folder])
    return folder


def test_a_single_degradation_recipe_makes_a_specialist_and_a_mix_or_a_told_network_does_not():
    assert specialist_kind(recipe_from_dict({"data": {"degradations": ["tof", "tof"]}})) == "tof"
    assert specialist_kind(recipe_from_dict({"data": {"degradations": ["tof", "stereo"]}})) == ""
    assert specialist_kind(recipe_from_dict({"model": {"input_kinds": ["tof"]}, "data": {"degradations": ["tof"]}})) == ""


def test_a_specialist_starts_from_the_files_untold_network(tmp_path):
    told = _tiny(0, ("bicubic", "nearest"))
    path = save_model(tmp_path / "told.safetensors", told, card_for(told))
    plain = build_dsrnet(DSRNetConfig(scale=2, **TINY)).eval()
    warm_start(plain, str(path), 2)
    lr = torch.randn(1, 1, 8, 10) * 0.2
    with torch.no_grad():
        untold = told(torch.cat([lr, torch.zeros(1, 2, 8, 10)], 1))
        assert (told(torch.cat([lr, torch.ones(1, 1, 8, 10), torch.zeros(1, 1, 8, 10)], 1)) - untold).abs().max() > 1e-3
        torch.testing.assert_close(plain(lr), untold)


def test_told_the_specialists_kind_the_upsampler_runs_it_and_any_other_kind_runs_the_general(models, tmp_path):
    lr = scene3d_for_seed(5, 24, 32).depth
    up = Upsampler.from_pretrained(scale=2, backend="torch")
    assert up.input_kinds == ("bicubic", "nearest") and up.specialist_kinds == ("nearest",)
    general = Upsampler.from_file(models / "dsrnet_lite_x2.safetensors", backend="torch")
    alone = Upsampler.from_file(models / "dsrnet_lite_x2.nearest.safetensors", backend="torch")
    untold = up.upsample(lr)
    np.testing.assert_array_equal(untold, general.upsample(lr))
    up.input_kind = "nearest"
    assert up.model_card.specialist_kind == "nearest"
    np.testing.assert_array_equal(up.upsample(lr), alone.upsample(lr))
    assert np.nanmax(np.abs(up.upsample(lr) - untold)) > 1e-3
    up.input_kind = "bicubic"  # told through the general network's kind table
    general.input_kind = "bicubic"
    np.testing.assert_array_equal(up.upsample(lr), general.upsample(lr))
    up.input_kind = "unknown"
    np.testing.assert_array_equal(up.upsample(lr), untold)
    with pytest.raises(ValueError, match="input_kind must be one of"):
        up.input_kind = "tof"


def test_a_specialist_whose_card_names_another_kind_is_refused(models):
    (models / "dsrnet_lite_x2.nearest.safetensors").rename(models / "dsrnet_lite_x2.tof.safetensors")
    with pytest.raises(WeightsError, match="not the x2 one for 'tof'"):
        shipped_specialists(2)
    assert shipped_specialists(4) == {}


def test_the_node_loader_told_the_kind_serves_the_specialist(models):
    from dsr_ros.ros.loading import make_upsampler

    up = make_upsampler(scale=2, backend="torch", input_kind="nearest")
    assert up.model_card.specialist_kind == "nearest"
    assert make_upsampler(scale=2, backend="torch").model_card.specialist_kind == ""


def _validation_folder(root: Path) -> Path:
    import cv2

    for name in ("rgb", "depth"):
        (root / name).mkdir(parents=True)
    for i in range(2):
        scene = scene3d_for_seed(3_000_000 + i, 64, 64)
        cv2.imwrite(str(root / "rgb" / f"s{i}.png"), (scene.rgb * 255).astype(np.uint8))
        cv2.imwrite(str(root / "depth" / f"s{i}.png"), np.nan_to_num(scene.depth * 1000).astype(np.uint16))
    return root


def test_promoting_a_specialist_needs_it_to_beat_the_general_model_told_its_kind(tmp_path):
    folder = _validation_folder(tmp_path / "val")
    small = {"scenes": 2, "size": 96, "seed": 1_000_000, "generator": "synthetic3d"}
    shipped = tmp_path / "models"
    shipped.mkdir()
    general = weights.shipped_model_path(4)
    (shipped / general.name).write_bytes(general.read_bytes())
    # The shipped general network itself, labelled a specialist: it cannot beat itself.
    model, card = weights.load_model(general)
    same = build_dsrnet(DSRNetConfig(**{**card.config, "input_kinds": ()}))
    warm_start(same, str(general), 4)
    path = save_model(tmp_path / "same.safetensors", same, card_for(same, specialist_kind="stereo"))
    with pytest.raises(PromotionRefused, match="the general model told stereo"):
        promote(path, folder, shipped, small, progress=False)
    assert sorted(p.name for p in shipped.iterdir()) == [general.name]
    # Against a general model made far worse (every output 35 % too far), the same network earns its place.
    with torch.no_grad():
        model.reconstruct[0].bias.fill_(0.3)
    save_model(shipped / general.name, model, card)
    target, heldout, validated = promote(path, folder, shipped, small, progress=False)
    assert target == shipped / "dsrnet_lite_x4.stereo.safetensors"
    promotion = read_card(target).metrics["promotion"]
    assert set(promotion["validation"]["table"]) == {"stereo"} and promotion["general"] == general.name
    for table in (heldout, validated):
        rows = table["stereo"]
        assert rows["model"]["rmse"] < min(rows["bicubic"]["rmse"], rows["general"]["rmse"])
