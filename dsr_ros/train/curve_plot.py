"""Pictures of validation curves: RMSE ÷ bicubic against training step, one panel per degradation.

A long background run is easier to judge from a line than from a CSV: the trainer redraws
`validation.png` beside `validation.csv` after every point, and `bench/model_tables.py --plot`
draws the shipped cards' curves the same way. Dividing by bicubic's RMSE on the same scenes
puts every scale on one axis, where 1.0 is interpolation and the issue's targets are lines.
"""
from __future__ import annotations

from pathlib import Path

from dsr_ros.atomic import write_atomic
from dsr_ros.train.validation import DEGRADATIONS

TITLES = {"bicubic": "anti-aliased input", "bicubic_aliased": "point-sampled input"}
PNG = "validation.png"
LEGEND_COLUMNS = 2
LEGEND_ROW_INCHES = 0.22


def _legend_rows(entries: int) -> int:
    """Lines the legend below the panels takes for this many entries."""
    return -(-entries // LEGEND_COLUMNS)


def ratio_series(rows: list[dict], degradation: str) -> tuple[list[int], list[float]]:
    """(steps, model RMSE ÷ bicubic RMSE) of one degradation's column in validation rows."""
    steps = [int(r["step"]) for r in rows]
    return steps, [r[degradation] / r[f"bicubic {degradation}"] for r in rows]


def plot_curves(curves: dict[str, list[dict]], path: Path, title: str = "validation curve",
                styles: dict[str, dict] | None = None) -> Path:
    """Draw each labelled curve (rows of validation.csv or a card's `training.validation.curve`) into a PNG.

    `styles` gives matplotlib line options per label (colour by scale, dash by kind, say); the legend sits below.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height = 4 + LEGEND_ROW_INCHES * _legend_rows(len(curves) + 1)  # the legend below holds the curves and bicubic
    fig, axes = plt.subplots(1, len(DEGRADATIONS), figsize=(6 * len(DEGRADATIONS), height), sharey=True)
    for ax, degradation in zip(axes, DEGRADATIONS):
        for label, rows in curves.items():
            if rows:
                style = {"marker": "o", "markersize": 3, **(styles or {}).get(label, {})}
                ax.plot(*ratio_series(rows, degradation), label=label, **style)
        ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="bicubic")
        ax.set(title=TITLES[degradation], xlabel="training step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("RMSE ÷ bicubic RMSE (lower is better)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=LEGEND_COLUMNS, fontsize="small", frameon=False)
    fig.suptitle(title)
    legend_inches = LEGEND_ROW_INCHES * _legend_rows(len(labels)) + 0.1
    fig.tight_layout(rect=(0, legend_inches / fig.get_figheight(), 1, 1))
    path = Path(path)
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))  # a viewer never sees half a file
    plt.close(fig)
    return path
