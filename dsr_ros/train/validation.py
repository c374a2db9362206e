"""The validation curve: the model's RMSE on a folder of RGB-D pairs every N steps of a run.

Validation scenes are for choosing and reporting only, never for training: they come from the
command line (`dsr train --validate-on FOLDER`), not from a recipe, and only their RMSE is kept.
Rows go to `validation.csv` in the run folder (resumed runs keep the rows up to their checkpoint), drawn into
`validation.png` beside it (dsr_ros.train.curve_plot),
and into the model card as `training.validation_curve`.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from dsr_ros.train.datasets import Sample
from dsr_ros.train.datasets.sources import open_dataset
from dsr_ros.train.evaluate import evaluate
from dsr_ros.upsampler import Upsampler

CSV = "validation.csv"
DEGRADATIONS = ("bicubic", "bicubic_aliased")


@dataclass
class Validation:
    """HR depth maps (metres) to score every `every` steps, and where they came from."""

    scenes: list[Sample]
    every: int
    source: str

    @classmethod
    def from_folder(cls, path: str | Path, every: int) -> Validation:
        """All pairs of a `folder` data set (rgb/*.png + depth/*.png); the colour is for RGB-guided models."""
        dataset = open_dataset("folder", path)
        return cls([dataset[i] for i in range(len(dataset))], every, str(path))

    def score(self, upsampler: Upsampler) -> dict[str, float]:
        """{degradation: model RMSE in mm, 'bicubic ' + degradation: bicubic's} on every scene."""
        table = evaluate(upsampler, self.scenes, DEGRADATIONS)
        return {**{k: row["model"] for k, row in table.items()}, **{f"bicubic {k}": row["bicubic"] for k, row in table.items()}}


def read_curve(out_dir: Path, up_to: int | None = None) -> list[dict]:
    """Rows of validation.csv (step and RMSE per degradation), optionally only up to a step."""
    path = Path(out_dir) / CSV
    if not path.exists():
        return []
    with path.open() as handle:
        rows = [{k: (int(v) if k == "step" else float(v)) for k, v in row.items()} for row in csv.DictReader(handle)]
    return [r for r in rows if up_to is None or r["step"] <= up_to]


def write_row(out_dir: Path, row: dict) -> None:
    """Add one row, dropping any from a killed run at this step or later."""
    path = Path(out_dir) / CSV
    kept = read_curve(out_dir, up_to=row["step"] - 1)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerows([*kept, row])
