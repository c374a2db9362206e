"""A training run's log: CSV rows in `log.csv`, the same scalars as TensorBoard events.

Rank 0 alone creates one. On resume, CSV rows and TensorBoard events written after the
checkpoint's step (by the run that was killed) are dropped, so each step is logged once.
"""
from __future__ import annotations

import csv
import logging
from pathlib import Path

LOG = "log.csv"
TENSORBOARD = "tensorboard"

log = logging.getLogger(__name__)


class RunLog:
    """Append-only CSV log with a fixed header, mirrored to TensorBoard when it is installed."""

    def __init__(self, out_dir: Path, columns: list[str], start: int, tensorboard: bool = True) -> None:
        self.path = Path(out_dir) / LOG
        self.columns = columns
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._keep_rows_up_to(start)
        self.writer = _summary_writer(self.path.parent / TENSORBOARD, start) if tensorboard else None

    def _keep_rows_up_to(self, start: int) -> None:
        header = ",".join(self.columns)
        if start == 0 or not self.path.exists():
            self.path.write_text(header + "\n")
            return
        rows = self.path.read_text().splitlines()[1:]
        kept = [r for r in rows if r.split(",", 1)[0].isdigit() and int(r.split(",", 1)[0]) <= start]
        self.path.write_text("\n".join([header, *kept]) + "\n")

    def row(self, values: list) -> None:
        """One CSV row, in the order of `columns`."""
        if len(values) != len(self.columns):
            raise ValueError(f"log row has {len(values)} values for {len(self.columns)} columns {self.columns}")
        with self.path.open("a", newline="") as handle:
            csv.writer(handle).writerow(values)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """TensorBoard scalars at `step` (tags like 'loss/dsr_l1'); nothing without TensorBoard."""
        if self.writer is not None:
            for tag, value in values.items():
                self.writer.add_scalar(tag, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _summary_writer(folder: Path, start: int):
    """torch's SummaryWriter (needs the `tensorboard` package, in the `train` extra) or None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed (pip install 'dsr_ros[train]'): logging to %s only", LOG)
        return None
    # steps up to `start` were logged before the checkpoint; later ones are the killed run's
    return SummaryWriter(str(folder), purge_step=start + 1 if start else None)
