"""Two-stage trainer: both stages run, roles are logged, teacher rules, resume is exact, NaN stops, export."""
import dataclasses
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from dsr_ros.train import distill
from dsr_ros.train.checkpoint import load_checkpoint
from dsr_ros.train.recipe import RecipeError, load_recipe, recipe_from_dict
from dsr_ros.train.trainer import TrainingError

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "config" / "train" / "smoke.yaml"


def _tiny(tmp_path: Path, steps: int = 6, stage1: int = 2) -> "distill.Recipe":
    r = load_recipe(SMOKE)
    r.data = dataclasses.replace(r.data, patch=16, batch_size=2)
    r.train = dataclasses.replace(r.train, steps=steps, checkpoint_every=2, log_every=1, threads=1)
    r.distill = dataclasses.replace(r.distill, stage1_steps=stage1, round_steps=2, heldout_batch=1, affinity_pool=4)
    r.output = dataclasses.replace(r.output, dir=str(tmp_path / "run"))
    return r


def test_both_stages_run_and_log_roles(tmp_path):
    r = _tiny(tmp_path)
    result = distill.train_two_stage(r, progress=False)
    roles = result.card.training["roles"]
    assert [x["round"] for x in roles] == [0, 1] and all(x["teacher"] in ("dsr", "de") for x in roles)
    for x in roles:
        assert x["teacher"] == ("dsr" if x["mae_dsr"] <= x["mae_de"] else "de")
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert len(rows) == 7 and rows[1].startswith("1,1,,") and rows[-1].startswith("6,2,")
    assert "distill=" in rows[-1] and "struc=" in rows[-1]
    assert load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")["step"] == 6


def test_resume_after_kill_matches_uninterrupted(tmp_path):
    straight = distill.train_two_stage(_tiny(tmp_path / "a"), progress=False)
    distill.train_two_stage(_tiny(tmp_path / "b"), progress=False, stop_at=3)  # "killed" inside stage 2's round 0
    resumed = distill.train_two_stage(_tiny(tmp_path / "b"), resume=True, progress=False)
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert straight.card.training["roles"] == resumed.card.training["roles"]
    a = load_checkpoint(tmp_path / "a" / "run" / "checkpoint.safetensors")
    b = load_checkpoint(tmp_path / "b" / "run" / "checkpoint.safetensors")
    for name in ("de", "sp"):
        for key, value in a[name]["model"].items():
            assert torch.equal(value, b[name]["model"][key]), (name, key)


def test_nan_loss_names_step_and_term(tmp_path, monkeypatch):
    r = _tiny(tmp_path)
    real = distill.losses.structure_loss
    monkeypatch.setattr(distill.losses, "structure_loss", lambda s, d: real(s, d) * float("nan"))
    with pytest.raises(TrainingError, match=r"step 2: term 'struc'"):
        distill.train_two_stage(r, progress=False)


@pytest.mark.parametrize("mode", ["frozen", "task"])
def test_stage2_teacher_update_rule(tmp_path, mode):
    r = _tiny(tmp_path)
    r.distill = dataclasses.replace(r.distill, teacher_update=mode)
    torch.manual_seed(0)
    nets = distill.build_nets(r)
    nets.parallel(distill.World(), torch.device("cpu"))
    before = {n: [p.detach().clone() for p in nets.module(n).parameters()] for n in distill.NAMES}
    batch = distill.batch_source(r)(r.train.seed, 0, 2)
    terms = distill.stage2_step(nets, batch, 0, "dsr", r)
    changed = {n: any(not torch.equal(a, b) for a, b in zip(before[n], nets.module(n).parameters())) for n in distill.NAMES}
    assert changed["de"] and changed["sp"]  # the student and SPNet always learn
    assert changed["dsr"] == (mode == "task")  # the teacher learns only under teacher_update: task
    assert ("dsr_task" in terms) == (mode == "task") and "de_task" in terms


def test_recipe_validates_distill_section():
    with pytest.raises(RecipeError, match="stage1_steps"):
        recipe_from_dict({"train": {"steps": 5}, "distill": {"enabled": True, "stage1_steps": 5}})
    with pytest.raises(RecipeError, match="unknown key"):
        recipe_from_dict({"distill": {"rho3": 1}})
    with pytest.raises(RecipeError, match="teacher_update"):
        recipe_from_dict({"distill": {"teacher_update": "thawed"}})


def test_export_writes_the_distilled_dsrnet_alone(tmp_path):
    import yaml

    from dsr_ros.cli import main
    from dsr_ros.upsampler import Upsampler
    from dsr_ros.weights import load_model

    r = _tiny(tmp_path)
    result = distill.train_two_stage(r, progress=False)
    recipe_path = tmp_path / "recipe.yaml"
    data = r.to_dict()
    data.pop("path")
    recipe_path.write_text(yaml.safe_dump(data))
    out = tmp_path / "models" / "distilled.safetensors"
    assert main(["export", "--safetensors", str(out), "--config", str(recipe_path)]) == 0
    model, card = load_model(out, expected_scale=4)
    assert all(not k.startswith(("de.", "sp.")) for k in load_file(str(out)))
    for key, value in result.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    assert card.training["exported_from"]["step"] == 6
    assert Upsampler.from_file(out).upsample(torch.rand(5, 7).numpy().astype("float32") + 1).shape == (20, 28)
    assert main(["export", "--safetensors", str(out)]) == 2


def test_role_summary_counts_rounds_and_gives_median_errors():
    roles = [{"teacher": "dsr", "mae_dsr": 0.01, "mae_de": 0.2}, {"teacher": "de", "mae_dsr": 0.3, "mae_de": 0.1},
             {"teacher": "dsr", "mae_dsr": 0.02, "mae_de": 0.4}]
    assert distill.role_summary(roles) == ("stage 2: DSRNet taught 2 of 3 rounds, DENet 1; "
                                           "median held-back MAE DSRNet 0.0200, DENet 0.2000")
    assert distill.role_summary([]) == "stage 2: no rounds yet"
