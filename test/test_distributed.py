"""torchrun with two gloo processes: DDP keeps the ranks' weights identical, for both trainers."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent

WORKER = """
import dataclasses, sys
from pathlib import Path
import torch.distributed as dist
from safetensors.torch import save_file
sys.path.insert(0, {test_dir!r})
import test_distill
from dsr_ros.train import distill, trainer
r = test_distill._tiny(Path({out!r}))
if {trainer!r} == "supervised":
    r.distill = dataclasses.replace(r.distill, enabled=False)
    result = trainer.train(r, progress=False)
else:
    r.distill = dataclasses.replace(r.distill, teacher_update={mode!r})
    result = distill.train_two_stage(r, progress=False)
weights = {{k: v.contiguous() for k, v in result.model.state_dict().items()}}
save_file(weights, f"{out}/rank{{dist.get_rank()}}.safetensors")
"""


@pytest.mark.parametrize(("trainer", "mode"), [("supervised", ""), ("two_stage", "frozen"), ("two_stage", "task")])
def test_two_gloo_ranks_hold_identical_weights(tmp_path, trainer, mode):
    (tmp_path / "worker.py").write_text(WORKER.format(test_dir=str(ROOT / "test"), out=str(tmp_path),
                                                      trainer=trainer, mode=mode))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(tmp_path / "worker.py")], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    w0, w1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert w0.keys() == w1.keys()
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert (tmp_path / "run" / "checkpoint.safetensors").exists()  # rank 0 wrote it
    assert (tmp_path / "run" / "log.csv").read_text().count("\n") == 7  # once, by rank 0: header + 6 steps


def test_each_rank_sees_its_own_data_so_ddp_is_what_keeps_them_equal(tmp_path):
    """Without averaging the ranks would drift apart: their batches differ."""
    sys.path.insert(0, str(ROOT / "test"))
    import test_distill

    from dsr_ros.train.data import batch_source

    r = test_distill._tiny(tmp_path)
    source = batch_source(r)
    rank0, rank1 = source(r.train.seed, 0, 1), source(r.train.seed, 1, 1)
    assert not torch.equal(rank0.hr, rank1.hr)
