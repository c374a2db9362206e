"""`dsr export`: `--onnx OUT.onnx` for onnxruntime/trtexec, `--safetensors OUT` for a trained run's DSRNet.

`dsr export --safetensors models/x.safetensors --config RECIPE [--checkpoint PATH]` writes the
run's DSRNet alone (no DENet/SPNet teachers) with its model card.

ONNX files have input `lr` (float32 N×1×h×w normalised depth) and output `hr`
(N×1×(s·h)×(s·w)); batch, height and width are dynamic. Opset 18 by default. For TensorRT
via trtexec: `trtexec --onnx=m.onnx --saveEngine=m.plan --fp16 --minShapes=lr:1x1x60x80
--optShapes=lr:1x1x120x160 --maxShapes=lr:1x1x240x320`.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dsr_ros.cli.common import CliError, add_model_arguments, model_from_args
from dsr_ros.engine.onnx_export import DEFAULT_OPSET
from dsr_ros.net import DSRNet


@dataclass(frozen=True)
class ExportFormat:
    """One `--NAME OUT` mode of `dsr export`: its help text and the function writing the file."""

    help: str
    write: Callable[[DSRNet, Path, argparse.Namespace], Path]


def _write_onnx(model: DSRNet, out: Path, args: argparse.Namespace) -> Path:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401 - torch's ONNX exporter needs it

        from dsr_ros.engine.onnx_export import export_onnx
    except ImportError as exc:
        raise CliError(f"ONNX export needs {exc.name}: pip install 'dsr_ros[onnx]'") from None
    return export_onnx(model, out, opset=args.opset)


#: Extension point: another module (e.g. training's `--safetensors OUT`) adds an entry before `register` runs.
FORMATS: dict[str, ExportFormat] = {
    "onnx": ExportFormat("write ONNX (dynamic batch/height/width, input 'lr', output 'hr')", _write_onnx),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dsr export` to the `dsr` command."""
    parser = subparsers.add_parser("export", help="export a model (ONNX for onnxruntime/trtexec)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_mutually_exclusive_group(required=True)
    for name, fmt in FORMATS.items():
        modes.add_argument(f"--{name}", metavar="OUT", type=Path, help=fmt.help)
    modes.add_argument("--safetensors", metavar="OUT", type=Path, help="write a training run's DSRNet alone (needs --config)")
    parser.add_argument("--config", help="--safetensors: the run's recipe YAML")
    parser.add_argument("--checkpoint", help="--safetensors: checkpoint to read (default: the run folder's)")
    add_model_arguments(parser, "export a freshly initialised network of the variant (for latency work only)",
                        scale_required=False)
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    parser.set_defaults(func=run)


def _run_safetensors(args: argparse.Namespace) -> int:
    from dsr_ros.train.checkpoint import CheckpointError
    from dsr_ros.train.export import export_run
    from dsr_ros.train.recipe import RecipeError, load_recipe

    if not args.config:
        raise CliError("--safetensors needs --config RECIPE (the training run to export)")
    try:
        path = export_run(load_recipe(args.config), args.safetensors, args.checkpoint)
    except (RecipeError, CheckpointError) as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {path} (DSRNet only, from {args.checkpoint or args.config})")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.safetensors is not None:
        return _run_safetensors(args)
    model, source = model_from_args(args)
    for name, fmt in FORMATS.items():
        out = getattr(args, name, None)
        if out is not None:
            path = fmt.write(model, out, args)
            print(f"wrote {path} ({name}, ×{model.scale}, weights: {source})")
    return 0
