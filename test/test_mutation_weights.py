"""dsr_ros.weights at its edges: the cases `make mutation` showed test_weights.py did not pin down.

Every file is a real safetensors file in tmp_path; the shipped-model search runs over real folders laid
out like a source checkout, an installed package and ROS share/ prefixes.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from dsr_ros import weights
from dsr_ros.depth import NORMALISATION
from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.weights import ModelCard, WeightsError, card_for, load_model, read_card, save_model


def tiny() -> DSRNet:
    """A DSRNet of a few hundred parameters."""
    torch.manual_seed(0)
    return DSRNet(DSRNetConfig(scale=2, features=4, shallow=4, units=1, variant="tiny"))


def parameter_count(config: DSRNetConfig) -> int:
    """How many numbers the card's network holds, from the public shape list."""
    return sum(int(torch.Size(s).numel()) for s in weights.expected_shapes(config).values())


def with_card(path: Path, model: DSRNet, card_text: str) -> Path:
    """A weight file holding `model`'s tensors and an arbitrary card text."""
    save_file(dict(model.state_dict()), str(path), metadata={"model_card": card_text, "format": weights.FORMAT})
    return path


# --- the card ----------------------------------------------------------------------------------------

def test_card_json_is_canonical_whatever_order_its_dicts_were_built_in() -> None:
    """Two equal cards serialise to the same text: keys are sorted at every level."""
    config = tiny().config.to_dict()
    reordered = dict(reversed(list(config.items())))
    a = ModelCard("DSRNet", config, created="2026-01-01T00:00:00+00:00")
    b = ModelCard("DSRNet", reordered, created="2026-01-01T00:00:00+00:00")
    assert list(config) != list(reordered)
    assert a.to_json() == b.to_json()
    data = json.loads(a.to_json())
    assert list(data) == sorted(data) and list(data["config"]) == sorted(config)


def test_card_defaults_and_unknown_fields_from_a_newer_writer() -> None:
    """A card text with extra keys loads; missing optional fields take their defaults."""
    card = ModelCard.from_json(json.dumps({"architecture": "DSRNet", "config": {"scale": 4}, "future": 1}))
    assert card.scale == 4 and card.variant == "custom"
    assert card.normalisation == NORMALISATION and card.normalisation is not NORMALISATION
    assert card.training == {} and card.metrics == {} and card.commit == "unknown"


def test_saved_file_is_float32_on_cpu_and_tagged_with_the_format(tmp_path: Path) -> None:
    """Weights are stored as float32 whatever the model's dtype, with the format tag beside the card."""
    model = tiny().double()
    path = save_model(tmp_path / "m.safetensors", model, card_for(model))
    with safe_open(str(path), framework="pt") as handle:
        assert handle.metadata()["format"] == "dsr_ros.weights/1"
        dtypes = {handle.get_tensor(k).dtype for k in handle.keys()}
    assert dtypes == {torch.float32}
    loaded, _ = load_model(path)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value.float())


# --- unreadable files: the messages name the file and the fault -------------------------------------

def test_missing_file_message_names_the_path(tmp_path: Path) -> None:
    """Both the header read and the card read say which file is missing."""
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(WeightsError) as err:
        read_card(missing)
    assert str(err.value) == f"weight file not found: {missing}"
    with pytest.raises(WeightsError) as err:
        load_model(missing)
    assert str(err.value) == f"weight file not found: {missing}"


def test_corrupt_file_message_names_the_path(tmp_path: Path) -> None:
    """A file safetensors cannot parse is reported with its path, both by read_card and load_model."""
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x07" * 40)
    for read in (read_card, load_model):
        with pytest.raises(WeightsError) as err:
            read(bad)
        assert str(err.value).startswith(f"{bad} is not a readable safetensors weight file (truncated or corrupt?): ")


def test_card_that_is_not_json_is_reported_as_unreadable(tmp_path: Path) -> None:
    """Metadata whose card is not JSON fails with the path and 'unreadable model card'."""
    path = with_card(tmp_path / "m.safetensors", tiny(), "{not json")
    with pytest.raises(WeightsError) as err:
        read_card(path)
    assert str(err.value).startswith(f"{path} has an unreadable model card: ")


def test_read_card_does_not_need_the_network(tmp_path: Path) -> None:
    """read_card returns the card as written, for a file whose tensors match no network."""
    path = tmp_path / "plain.safetensors"
    card = ModelCard("Other", {"scale": 3}, metrics={"rmse": 0.25})
    save_file({"w": torch.ones(3)}, str(path), metadata={"model_card": card.to_json()})
    assert read_card(path) == card


# --- the card's network ------------------------------------------------------------------------------

def test_architecture_is_checked_again_when_the_caller_accepts_any(tmp_path: Path) -> None:
    """expected_architecture=None skips the caller's check, but only a DSRNet can be built."""
    model = tiny()
    card = card_for(model)
    card.architecture = "DENet"
    path = save_model(tmp_path / "m.safetensors", model, card)
    with pytest.raises(WeightsError) as err:
        load_model(path, expected_architecture=None)
    assert str(err.value) == "architecture mismatch: expected DSRNet, found 'DENet'"
    with pytest.raises(WeightsError) as err:
        load_model(path, expected_architecture="SPNet")
    assert str(err.value) == f"{path}: architecture mismatch: expected SPNet, found DENet"


def test_non_integer_sizes_in_the_card_are_refused_by_name(tmp_path: Path) -> None:
    """A float where an integer size belongs is refused, the message naming the four integer fields."""
    model = tiny()
    card = card_for(model)
    card.config = {**card.config, "features": 4.0}
    path = save_model(tmp_path / "m.safetensors", model, card)
    with pytest.raises(WeightsError) as err:
        load_model(path)
    assert str(err.value) == (f"model card config is invalid for DSRNet: {read_card(path).config} "
                              "(scale, features, shallow, units, cascade and rgb_guide must be integers)")


def test_normalisation_mismatch_names_both_modes(tmp_path: Path) -> None:
    """A card from another normalisation is refused naming the expected and the found mode."""
    model = tiny()
    path = save_model(tmp_path / "m.safetensors", model, card_for(model, normalisation={"mode": "linear"}))
    with pytest.raises(WeightsError) as err:
        load_model(path)
    assert str(err.value) == (f"{path}: normalisation mismatch: expected 'log_median', found 'linear' "
                              "(a model from an older dsr_ros; retrain it)")


def test_a_network_of_exactly_the_parameter_cap_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cap is inclusive: a card asking for exactly MAX_PARAMETERS loads, one more is refused."""
    model = tiny()
    path = save_model(tmp_path / "m.safetensors", model, card_for(model))
    size = parameter_count(model.config)
    monkeypatch.setattr(weights, "MAX_PARAMETERS", size)
    loaded, _ = load_model(path)
    assert sum(p.numel() for p in loaded.state_dict().values()) == size
    monkeypatch.setattr(weights, "MAX_PARAMETERS", size - 1)
    with pytest.raises(WeightsError, match=f"^{re.escape(str(path))}: the model card asks for"):
        load_model(path)


def test_oversized_card_message_rounds_its_size_to_millions(tmp_path: Path) -> None:
    """The refusal gives the card's size and the cap in millions, rounded to the nearest."""
    # 2155 features, 4 shallow, 1 unit: just over 522.5 M parameters, so the rounding is visible (523, not 522)
    config = {"scale": 2, "features": 2155, "shallow": 4, "units": 1, "variant": "lite"}
    size = parameter_count(DSRNetConfig(**config))
    assert 500_000 <= size % 1_000_000 < 501_000
    path = tmp_path / "huge.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata={"model_card": ModelCard("DSRNet", config).to_json()})
    with pytest.raises(WeightsError) as err:
        load_model(path)
    assert str(err.value) == (f"{path}: the model card asks for {size // 1_000_000 + 1} M parameters, more than the "
                              f"50 M a dsr_ros model may have: {read_card(path).config}")


def test_tensor_name_mismatch_lists_counts_and_two_examples(tmp_path: Path) -> None:
    """Missing and unexpected tensors are counted, with the first two of each (sorted) as examples."""
    model = tiny()
    state = dict(model.state_dict())
    names = sorted(state)
    for name in names[:3]:
        del state[name]
    state.update({"zz.a": torch.zeros(1), "zz.b": torch.zeros(1), "zz.c": torch.zeros(1)})
    path = tmp_path / "m.safetensors"
    save_file(state, str(path), metadata={"model_card": card_for(model).to_json()})
    with pytest.raises(WeightsError) as err:
        load_model(path)
    assert str(err.value) == (f"{path}: tensors do not match the card's DSRNet {read_card(path).config}: "
                              f"3 missing (e.g. {names[:2]}), 3 unexpected (e.g. ['zz.a', 'zz.b'])")


# --- where shipped models are found ------------------------------------------------------------------

@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Model folders of a checkout, a package, sys.prefix and two ROS prefixes, all present."""
    package = tmp_path / "src" / "dsr_ros"
    folders = {
        "checkout": tmp_path / "src" / "models",
        "package": package / "models",
        "prefix": tmp_path / "venv" / "share" / "dsr_ros" / "models",
        "ros_a": tmp_path / "ros_a" / "share" / "dsr_ros" / "models",
        "ros_b": tmp_path / "ros_b" / "share" / "dsr_ros" / "models",
    }
    for folder in folders.values():
        folder.mkdir(parents=True)
    (tmp_path / "ros_empty").mkdir()  # a ROS prefix without dsr_ros in it
    monkeypatch.setattr(weights, "PACKAGE_DIR", package)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    # the working directory holds share/dsr_ros/models too: an empty AMENT_PREFIX_PATH entry must not find it
    (tmp_path / "cwd" / "share" / "dsr_ros" / "models").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "cwd")
    return folders


def test_models_dirs_in_search_order(layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Checkout, package, sys.prefix, then each ROS prefix in order; empty entries and repeats skipped."""
    prefixes = ["", str(tmp_path / "ros_a"), str(tmp_path / "ros_empty"), "", str(tmp_path / "ros_b"),
                str(tmp_path / "ros_a")]
    monkeypatch.setenv("AMENT_PREFIX_PATH", os.pathsep.join(prefixes))
    assert weights.models_dirs() == [layout[k] for k in ("checkout", "package", "prefix", "ros_a", "ros_b")]


def test_models_dirs_without_ros_and_with_absent_folders(layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without AMENT_PREFIX_PATH only the three Python locations count, and only those that exist."""
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    assert weights.models_dirs() == [layout[k] for k in ("checkout", "package", "prefix")]
    layout["package"].rmdir()
    assert weights.models_dirs() == [layout[k] for k in ("checkout", "prefix")]


def test_shipped_models_first_folder_wins_per_name(layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """A file name found in several folders is taken from the first; other files are ignored."""
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "ros_a"))
    for key, names in {"checkout": ["dsrnet_lite_x4.safetensors"],
                       "prefix": ["dsrnet_lite_x4.safetensors", "dsrnet_lite_x2.safetensors", "notes.txt"],
                       "ros_a": ["dsrnet_base_x8.safetensors", "dsrnet_lite_x2.safetensors"]}.items():
        for name in names:
            (layout[key] / name).write_bytes(b"")
    found = weights.shipped_models()
    assert found == [layout["checkout"] / "dsrnet_lite_x4.safetensors", layout["prefix"] / "dsrnet_lite_x2.safetensors",
                     layout["ros_a"] / "dsrnet_base_x8.safetensors"]
    assert weights.shipped_model_path(8, "base") == layout["ros_a"] / "dsrnet_base_x8.safetensors"
    assert weights.shipped_model_path(2) == layout["prefix"] / "dsrnet_lite_x2.safetensors"
    with pytest.raises(WeightsError) as err:
        weights.shipped_model_path(16)
    assert str(err.value) == ("no shipped model dsrnet_lite_x16.safetensors (scale x16, variant lite); shipped: "
                              "dsrnet_lite_x4.safetensors, dsrnet_lite_x2.safetensors, dsrnet_base_x8.safetensors")


def test_no_shipped_models_at_all_says_none(layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """With every model folder empty the error says 'shipped: none' and names the requested variant."""
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    with pytest.raises(WeightsError) as err:
        weights.shipped_model_path(4, "base")
    assert str(err.value) == "no shipped model dsrnet_base_x4.safetensors (scale x4, variant base); shipped: none"
