"""Weight files: round trip with model card, rejection of wrong scale, architecture and corrupt files."""
import json

import pytest
import torch
from safetensors.torch import save_file

from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.weights import WeightsError, card_for, load_model, read_card, save_model, shipped_model_path


def tiny(scale=2):
    torch.manual_seed(0)
    return DSRNet(DSRNetConfig(scale=scale, features=4, shallow=4, units=1, variant="tiny"))


def test_round_trip_keeps_weights_and_card(tmp_path):
    model = tiny()
    card = card_for(model, metrics={"rmse": 1.5}, training={"command": "dsr train"})
    path = save_model(tmp_path / "m.safetensors", model, card)
    loaded, loaded_card = load_model(path, expected_scale=2)
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    assert loaded_card.metrics == {"rmse": 1.5}
    assert loaded_card.config == model.config.to_dict()
    assert read_card(path).scale == 2
    assert not list(tmp_path.glob(".*tmp")), "atomic write leaves no temporary file"


def test_wrong_scale_names_expected_and_found(tmp_path):
    path = save_model(tmp_path / "m.safetensors", tiny(4), card_for(tiny(4)))
    with pytest.raises(WeightsError, match="scale mismatch: expected x8, found x4"):
        load_model(path, expected_scale=8)


def test_wrong_architecture_names_expected_and_found(tmp_path):
    model = tiny()
    card = card_for(model)
    card.architecture = "DENet"
    path = save_model(tmp_path / "m.safetensors", model, card)
    with pytest.raises(WeightsError, match="expected DSRNet, found DENet"):
        load_model(path)


@pytest.mark.parametrize("cut", [0, 7, 100, -50])
def test_truncated_file_gives_clear_error(tmp_path, cut):
    path = save_model(tmp_path / "m.safetensors", tiny(), card_for(tiny()))
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:cut])
    with pytest.raises(WeightsError, match="not a readable safetensors weight file"):
        load_model(path)


def test_garbage_and_missing_files(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(WeightsError, match="not a readable"):
        load_model(bad)
    with pytest.raises(WeightsError, match="not found"):
        load_model(tmp_path / "nope.safetensors")


def test_file_without_card_or_with_mismatched_tensors(tmp_path):
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(WeightsError, match="no dsr_ros model card"):
        load_model(plain)
    model = tiny()
    card = card_for(model)
    card.config = {**card.config, "features": 8}
    path = save_model(tmp_path / "m.safetensors", model, card)
    with pytest.raises(WeightsError, match="shapes do not match|do not match the card"):
        load_model(path)
    meta = json.loads(card.to_json())
    assert meta["config"]["features"] == 8


def test_unknown_shipped_model_lists_what_is_shipped():
    with pytest.raises(WeightsError, match=r"no shipped model dsrnet_huge_x4.safetensors .*shipped: "):
        shipped_model_path(4, "huge")
