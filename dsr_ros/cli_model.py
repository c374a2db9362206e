"""Command-line model selection shared by `dsr export`, `dsr compile` and `dsr profile`."""
from __future__ import annotations

import argparse

from dsr_ros.cli_errors import CliError
from dsr_ros.net import VARIANTS, DSRNet, DSRNetConfig
from dsr_ros.weights import WeightsError, load_model, shipped_model_path


def add_model_arguments(parser: argparse.ArgumentParser, untrained_help: str, scale_required: bool = True) -> None:
    """--scale, --variant, --model PATH and --untrained."""
    parser.add_argument("--scale", type=int, required=scale_required, choices=(2, 4, 8, 16), help="upsampling factor")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="lite", help="network size (default: lite)")
    parser.add_argument("--model", metavar="PATH", help="weight file (default: the shipped model for scale/variant)")
    parser.add_argument("--untrained", action="store_true", help=untrained_help)


def model_from_args(args: argparse.Namespace) -> tuple[DSRNet, str]:
    """The DSRNet the arguments name, and a one-line description of where its weights came from."""
    if args.untrained:
        if args.model:
            raise CliError("--untrained and --model exclude each other")
        return DSRNet(DSRNetConfig.from_variant(args.variant, args.scale)).eval(), f"untrained {args.variant}"
    try:
        path = args.model or shipped_model_path(args.scale, args.variant)
        model, _card = load_model(path, expected_scale=args.scale)
    except WeightsError as exc:
        raise CliError(f"{exc} (pass --model PATH, or --untrained for a same-shape untrained net)") from None
    return model, str(path)
