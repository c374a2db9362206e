"""`dsr demo`: the shipped x4 model on the bundled sample scene, as a picture and a table."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from dsr_ros.cli.common import CliError, add_runtime_arguments

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_depth.png"


def _figure(path: Path, panels: dict[str, np.ndarray], error: np.ndarray, title: str) -> None:
    """LR | bicubic | DSRNet | ground truth | error map, shared colour range and colour bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth = panels["ground truth"]
    lo, hi = np.nanpercentile(truth, [1, 99])
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4 * (len(panels) + 1), 3.6), constrained_layout=True)
    for ax, (name, image) in zip(axes, panels.items()):
        shown = ax.imshow(image, cmap="turbo", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(f"{name} {image.shape[1]}x{image.shape[0]}")
        ax.axis("off")
    fig.colorbar(shown, ax=axes[len(panels) - 1], fraction=0.046, label="depth (m)")
    err = axes[-1].imshow(error * 1000.0, cmap="magma", vmin=0, vmax=np.nanpercentile(error * 1000.0, 99))
    axes[-1].set_title("|DSRNet - truth|")
    axes[-1].axis("off")
    fig.colorbar(err, ax=axes[-1], fraction=0.046, label="error (mm)")
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    from dsr_ros.depth import to_metres
    from dsr_ros.train.degrade import EVAL_DEGRADATIONS, degrade
    from dsr_ros.train.evaluate import METHODS, classical_upsample, rmse_mm
    from dsr_ros.upsampler import Upsampler
    from dsr_ros.weights import WeightsError

    try:
        upsampler = Upsampler.from_pretrained(scale=4, device=args.device, backend=args.backend)
    except (WeightsError, ValueError) as exc:
        raise CliError(str(exc)) from None
    truth = to_metres(cv2.imread(str(SAMPLE), cv2.IMREAD_UNCHANGED))
    s = upsampler.scale
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"sample scene {truth.shape[1]}x{truth.shape[0]}, model {upsampler.model_card.variant} x{s} "
          f"({upsampler.engine.name} on {upsampler.engine.device}); RMSE in mm")
    print("| degradation | bicubic | bilinear | DSRNet |\n|---|---|---|---|")
    for kind in EVAL_DEGRADATIONS:
        lr_mm = np.rint(np.nan_to_num(degrade(truth, s, kind)) * 1000).astype(np.uint16)
        lr = to_metres(lr_mm)
        upsampler.upsample(lr_mm)  # warm-up
        times, sr_mm = [], None
        for _ in range(args.repeat):
            start = time.perf_counter()
            sr_mm = upsampler.upsample(lr_mm)
            times.append((time.perf_counter() - start) * 1000.0)
        outputs = {"bicubic": classical_upsample(lr, s, cv2.INTER_CUBIC), "bilinear": classical_upsample(lr, s, cv2.INTER_LINEAR),
                   "model": to_metres(sr_mm)}
        row = [np.sqrt(np.divide(*rmse_mm(outputs[m], truth))) for m in METHODS]
        print(f"| {kind} | " + " | ".join(f"{v:.1f}" for v in row) + " |")
        if kind == "bicubic":
            median_ms = float(np.median(times))
            panels = {"LR input": lr, "bicubic": outputs["bicubic"], "DSRNet": outputs["model"], "ground truth": truth}
            _figure(out_dir / "demo.png", panels, np.abs(outputs["model"] - truth),
                    f"x{s}: bicubic RMSE {row[0]:.0f} mm, DSRNet RMSE {row[2]:.0f} mm, {median_ms:.0f} ms/frame")
    print(f"per-frame time (median of {args.repeat}, {lr_mm.shape[1]}x{lr_mm.shape[0]} -> "
          f"{lr_mm.shape[1] * s}x{lr_mm.shape[0] * s}): {median_ms:.1f} ms")
    print(f"wrote {out_dir / 'demo.png'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the shipped x4 model on the bundled sample scene and write a picture")
    p.add_argument("--out", default="demo_output", help="folder for demo.png")
    add_runtime_arguments(p)
    p.add_argument("--repeat", type=int, default=5, help="timed runs per degradation")
    p.set_defaults(func=run)
