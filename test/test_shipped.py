"""The shipped models: they load, beat bicubic on held-out scenes, and drive the demo and README."""
import re
from pathlib import Path

import pytest

from dsr_ros.cli import main
from dsr_ros.train.evaluate import evaluate, heldout_scenes
from dsr_ros.upsampler import Upsampler
from dsr_ros.weights import read_card, shipped_model_path

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("scale", [4, 8])
def test_shipped_model_card_is_complete(scale):
    card = read_card(shipped_model_path(scale))
    assert card.architecture == "DSRNet" and card.scale == scale and card.variant == "lite"
    assert card.training["command"].startswith("dsr train --config config/train/")
    assert (ROOT / card.training["recipe"]["path"]).is_file()
    ablation = card.metrics["heldout_synthetic"]
    assert set(ablation) == {"bicubic", "without_ct", "with_ct"}
    assert min(ablation["without_ct"], ablation["with_ct"]) < ablation["bicubic"]
    assert set(card.metrics["heldout_synthetic_by_degradation"]) == {"bicubic", "bicubic_aliased"}
    assert shipped_model_path(scale).stat().st_size < 5_000_000


@pytest.mark.parametrize("scale,degradations", [(4, ("bicubic", "bicubic_aliased")), (8, ("bicubic",))])
def test_shipped_model_beats_bicubic_on_heldout_scenes(scale, degradations):
    """x8 is checked under the papers' anti-aliased protocol only: under point-sampled bicubic it
    is level with bicubic (1.06x over the 24-scene set), a known weakness stated in the README."""
    up = Upsampler.from_pretrained(scale=scale, backend="torch")
    table = evaluate(up, heldout_scenes(4, 192, seed=1_000_000), degradations=degradations)
    for kind, row in table.items():
        assert row["model"] < 0.9 * row["bicubic"], f"x{scale} {kind}: {row}"


def test_demo_writes_picture_and_table(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert "per-frame time" in out and "| bicubic_aliased |" in out


def test_readme_python_example_runs_as_written(capsys):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Python API\n\n```python\n(.*?)```", text, re.S).group(1)
    exec(compile(block, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("(480, 640) uint16 4 lite")
    assert lines[1] == "(1, 480, 640)"
