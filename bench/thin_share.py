"""Where the squared error sits: near structures narrower than a few LR pixels, against everything else.

For each model and degradation, the share of pixels on thin structures (`evaluate.thin_structures`,
narrower than 9 px, grown by 2 px), the RMSE of bicubic and the model there, and the share of each
method's squared error they hold. Folder scenes (e.g. ../shared/scenes) or v2 generator frames.

    python bench/thin_share.py --model models/dsrnet_lite_x4.safetensors --folder ../shared/scenes
    python bench/thin_share.py --model models/dsrnet_lite_x4.safetensors --generated 12 --thin-items 0
"""
from __future__ import annotations

import argparse
import glob
from pathlib import Path

import cv2
import numpy as np

THIN_PX, GROW_PX = 9, 2


def folder_scenes(folder: str) -> list[np.ndarray]:
    """HR depth in metres (NaN invalid) from a folder's depth/*.png (uint16 mm, 0 invalid)."""
    maps = []
    for path in sorted(glob.glob(str(Path(folder) / "depth" / "*.png"))):
        d = cv2.imread(path, cv2.IMREAD_UNCHANGED).astype(np.float32) / 1000.0
        maps.append(np.where(d > 0, d, np.nan).astype(np.float32))
    return maps


def measure(model: str, scenes: list[np.ndarray], kinds: list[str]) -> list[str]:
    """Markdown rows: degradation, thin share, bicubic and model RMSE on thin / elsewhere, SSE shares."""
    from dsr_ros.train.degrade import degrade
    from dsr_ros.train.evaluate import classical_upsample, thin_structures
    from dsr_ros.upsampler import Upsampler

    up = Upsampler.from_file(model, backend="torch")
    rows = []
    for kind in kinds:
        sums = {(m, r): [0.0, 0] for m in ("bicubic", "model") for r in ("thin", "rest")}
        for i, hr in enumerate(scenes):
            hr = hr[: hr.shape[0] - hr.shape[0] % up.scale, : hr.shape[1] - hr.shape[1] % up.scale]
            lr = degrade(hr, up.scale, kind, np.random.default_rng(i))
            preds = {"bicubic": classical_upsample(lr, up.scale, cv2.INTER_CUBIC), "model": up.upsample(lr)}
            scored = np.isfinite(hr) & np.isfinite(preds["bicubic"]) & np.isfinite(preds["model"])
            grow = np.ones((2 * GROW_PX + 1,) * 2, np.uint8)
            thin = cv2.dilate(thin_structures(hr, THIN_PX).astype(np.uint8), grow) > 0
            for m, p in preds.items():
                err = ((p - hr) * 1000.0) ** 2
                for region, mask in (("thin", scored & thin), ("rest", scored & ~thin)):
                    sums[(m, region)][0] += float(err[mask].sum())
                    sums[(m, region)][1] += int(mask.sum())
        n = sums[("bicubic", "thin")][1] + sums[("bicubic", "rest")][1]

        def rmse(m: str, r: str) -> float:
            return float(np.sqrt(sums[(m, r)][0] / max(sums[(m, r)][1], 1)))

        def share(m: str) -> float:
            return 100.0 * sums[(m, "thin")][0] / max(sums[(m, "thin")][0] + sums[(m, "rest")][0], 1e-9)

        rows.append(f"| {kind} | {100.0 * sums[('bicubic', 'thin')][1] / n:.1f} % | {rmse('bicubic', 'thin'):.1f} / "
                    f"{rmse('model', 'thin'):.1f} ({rmse('model', 'thin') / rmse('bicubic', 'thin'):.2f}) | "
                    f"{rmse('bicubic', 'rest'):.1f} / {rmse('model', 'rest'):.1f} "
                    f"({rmse('model', 'rest') / rmse('bicubic', 'rest'):.2f}) | {share('bicubic'):.0f} % / {share('model'):.0f} % |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="weight file")
    parser.add_argument("--folder", help="folder of rgb/ + depth/ (uint16 mm)")
    parser.add_argument("--generated", type=int, default=0, help="else: this many 480x640 v2 frames (seeds 2000000...)")
    parser.add_argument("--thin-items", type=int, default=0, help="thin dressing of the generated frames")
    parser.add_argument("--kinds", nargs="+", default=["bicubic", "bicubic_aliased", "nearest", "stereo", "tof"])
    args = parser.parse_args()
    if args.folder:
        scenes = folder_scenes(args.folder)
    else:
        from dsr_ros.train.scenes3d import scene3d_for_seed

        scenes = [scene3d_for_seed(2_000_000 + s, 480, 640, args.thin_items).depth for s in range(args.generated)]
    if not scenes:
        raise SystemExit("no scenes: give --folder with depth/*.png or --generated N")
    print(f"{args.model} on {len(scenes)} scenes; RMSE mm bicubic / model (model ÷ bicubic)")
    print(f"| degradation | thin pixels | thin (< {THIN_PX} px, ±{GROW_PX}) | elsewhere | squared error on thin: bicubic / model |")
    print("|---|---|---|---|---|")
    print("\n".join(measure(args.model, scenes, args.kinds)))


if __name__ == "__main__":
    main()
