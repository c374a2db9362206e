"""Weight files: round trip with model card, rejection of wrong scale, architecture and corrupt files."""
import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.weights import ModelCard, WeightsError, card_for, load_model, read_card, save_model, shipped_model_path


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


def _crafted(path, config: dict) -> None:
    """A few hundred bytes: one tiny tensor and a card that asks for a network of `config`."""
    card = ModelCard(architecture="DSRNet", config=config)
    save_file({"shallow.0.weight": torch.zeros(1)}, str(path), metadata={"model_card": card.to_json(),
                                                                        "format": "dsr_ros.weights/1"})


def test_a_crafted_small_file_cannot_make_the_loader_allocate(tmp_path):
    huge = tmp_path / "huge.safetensors"
    _crafted(huge, {"scale": 16, "features": 4096, "shallow": 4096, "units": 64, "variant": "lite"})
    assert huge.stat().st_size < 1000
    script = ("import resource, sys\nfrom dsr_ros.weights import WeightsError, load_model\n"
              "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              f"try:\n    load_model({str(huge)!r})\nexcept WeightsError as exc:\n    print(exc)\n"
              "print('grew_mb', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120).stdout
    assert "more than the 50 M a dsr_ros model may have" in out
    assert int(out.split("grew_mb")[-1]) < 100, out  # building it for real would take tens of GB


def test_a_card_asking_for_endless_lr_blocks_is_refused(tmp_path):
    deep = tmp_path / "deep.safetensors"
    _crafted(deep, {"scale": 4, "features": 16, "shallow": 32, "units": 2, "variant": "lite", "lr_blocks": 10**7})
    with pytest.raises(WeightsError, match="lr_blocks must be within 0..64"):
        load_model(deep)


def test_cards_without_lr_blocks_load_as_networks_without_them(tmp_path):
    net = DSRNet(DSRNetConfig(scale=4))
    card = card_for(net)
    del card.config["lr_blocks"]  # as written before LR blocks existed
    path = save_model(tmp_path / "old.safetensors", net, card)
    loaded, _ = load_model(path)
    assert loaded.config.lr_blocks == 0 and len(loaded.lr_body) == 0


def test_header_shapes_are_checked_before_any_network_is_built(tmp_path):
    small = tmp_path / "small.safetensors"
    _crafted(small, {"scale": 4, "features": 16, "shallow": 32, "units": 2, "variant": "lite"})
    with pytest.raises(WeightsError, match="missing"):
        load_model(small)
    net = DSRNet(DSRNetConfig(scale=4))
    state = {k: v.clone() for k, v in net.state_dict().items()}
    state["reconstruct.0.weight"] = torch.zeros(1, 16, 3, 3)  # 16 channels where the card's network has 32
    wrong = tmp_path / "wrong.safetensors"
    save_file(state, str(wrong), metadata={"model_card": card_for(net).to_json(), "format": "dsr_ros.weights/1"})
    with pytest.raises(WeightsError, match=r"reconstruct.0.weight is \[1, 16, 3, 3\]"):
        load_model(wrong)
