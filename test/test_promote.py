"""Promotion into models/: only a model that beats bicubic everywhere, with both tables in its card."""
import cv2
import numpy as np
import pytest
import torch

from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.train.promote import PromotionRefused, promote
from dsr_ros.train.scenes3d import scene3d_for_seed
from dsr_ros.weights import card_for, read_card, save_model, shipped_model_path


@pytest.fixture
def folder(tmp_path):
    """A validation folder of two small v2 scenes in the folder data set's format."""
    for name in ("rgb", "depth"):
        (tmp_path / "val" / name).mkdir(parents=True)
    for i in range(2):
        scene = scene3d_for_seed(3_000_000 + i, 64, 64)
        cv2.imwrite(str(tmp_path / "val" / "rgb" / f"s{i}.png"), (scene.rgb * 255).astype(np.uint8))
        cv2.imwrite(str(tmp_path / "val" / "depth" / f"s{i}.png"), np.nan_to_num(scene.depth * 1000).astype(np.uint16))
    return tmp_path / "val"


# 96 px: at 64 px these two seeds render edge-free close-ups, where bicubic's RMSE is 1-10 mm and a
# model trained for edges is within 1 mm of it either way; 96-px views of them hold depth edges
SMALL = {"scenes": 2, "size": 96, "seed": 1_000_000, "generator": "synthetic3d"}


def test_a_model_worse_than_bicubic_is_refused(tmp_path, folder):
    torch.manual_seed(0)
    net = DSRNet(DSRNetConfig(scale=4))
    with torch.no_grad():
        net.reconstruct[0].bias.fill_(0.3)  # every output 35 % too far: far worse than bicubic
    path = save_model(tmp_path / "bad.safetensors", net, card_for(net))
    with pytest.raises(PromotionRefused, match="does not beat bicubic"):
        promote(path, folder, tmp_path / "models", SMALL, progress=False)
    assert not (tmp_path / "models").exists()


def test_the_shipped_model_promotes_with_both_tables(tmp_path, folder):
    # two tiny scenes decide little under the aliased kernels (the real gate uses 24 + 16 scenes); the two
    # degradations here are ones where the shipped x4 wins by 15-30 %, so the test checks the writing path
    target, heldout, validated = promote(shipped_model_path(4), folder, tmp_path / "models", SMALL,
                                         ("bicubic", "stereo"), progress=False)
    assert target == tmp_path / "models" / "dsrnet_lite_x4.safetensors"
    card = read_card(target)
    assert card.metrics["promotion"]["validation"]["scenes"] == 2
    assert card.metrics["promotion"]["heldout_synthetic"]["table"]["stereo"]["model"]["rmse"] == pytest.approx(
        heldout["stereo"]["model"]["rmse"], abs=1e-3)
    assert all(rows["model"]["rmse"] < rows["bicubic"]["rmse"] for rows in validated.values())


def _shipped_x4_told(kinds: tuple[str, ...]) -> torch.nn.Module:
    """The shipped x4's network with a new input-kind table (new: it tells the network nothing yet)."""
    from dataclasses import replace

    from dsr_ros.net import build_dsrnet
    from dsr_ros.weights import load_model

    shipped, _ = load_model(shipped_model_path(4))
    net = build_dsrnet(replace(shipped.config, input_kinds=kinds)).eval()
    net.load_state_dict({k: v for k, v in shipped.state_dict().items() if not k.startswith("kind.")}, strict=False)
    return net


def test_a_model_told_its_input_kind_must_win_told_and_untold(tmp_path, folder):
    net = _shipped_x4_told(("bicubic", "stereo"))
    path = save_model(tmp_path / "told.safetensors", net, card_for(net))
    target, heldout, _ = promote(path, folder, tmp_path / "models", SMALL, ("bicubic", "stereo"), progress=False)
    promotion = read_card(target).metrics["promotion"]
    assert set(promotion) == {"heldout_synthetic", "validation", "heldout_synthetic_untold", "validation_untold"}
    assert promotion["heldout_synthetic"]["table"]["stereo"]["model"]["rmse"] == pytest.approx(
        heldout["stereo"]["model"]["rmse"], abs=1e-3)
    with torch.no_grad():
        net.kind.table.weight[:, 1] = 2.0  # told "stereo", every feature is pushed far off
    broken = save_model(tmp_path / "broken.safetensors", net, card_for(net))
    with pytest.raises(PromotionRefused, match=r"held-out synthetic stereo: DSRNet"):
        promote(broken, folder, tmp_path / "other", SMALL, ("bicubic", "stereo"), progress=False)
