"""What the `dsr` subcommands share: the one CLI error, and model and runtime arguments."""
from __future__ import annotations

import argparse

from dsr_ros.camera import SCALES
from dsr_ros.engine import BACKENDS, DEVICES, is_device
from dsr_ros.net import VARIANTS, DSRNetConfig, build_dsrnet
from dsr_ros.net.dsrnet import FeatureNet
from dsr_ros.weights import WeightsError, load_model, read_card, shipped_model_path


class CliError(Exception):
    """A user-facing error: bad argument, unreadable file, missing model; `dsr` prints it as one line, exit 2."""


def device(value: str) -> str:
    """argparse type for --device: the node's own device check, so both reject the same values."""
    if not is_device(value):
        raise argparse.ArgumentTypeError(f"must be {DEVICES}, got {value!r}")
    return value


def add_device_argument(parser: argparse.ArgumentParser, default: str = "cpu", help: str = "cpu, cuda, cuda:N or auto") -> None:
    """--device, checked like the node's `device` parameter."""
    parser.add_argument("--device", type=device, default=default, help=help)


def add_model_arguments(parser: argparse.ArgumentParser, untrained_help: str | None = None,
                        scale_required: bool = True) -> None:
    """--scale, --variant, --model PATH (and --untrained where latency work wants it)."""
    parser.add_argument("--scale", type=int, required=scale_required, choices=SCALES,
                        help="upsampling factor (picks the shipped model, default 4; checked against --model)")
    if untrained_help:  # an untrained `base` network is only good for timing; only `lite` has weights
        parser.add_argument("--variant", choices=sorted(VARIANTS), default="lite",
                            help="network size (default: lite; base only with --untrained: no weights ship)")
    else:
        parser.add_argument("--variant", choices=["lite"], default="lite", help="network size (lite: the shipped models)")
    parser.add_argument("--model", metavar="PATH", help="weight file (default: the shipped model for scale/variant)")
    if untrained_help:
        parser.add_argument("--untrained", action="store_true", help=untrained_help)


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """--threads, the node's `threads` parameter: 0 picks half the usable cores, at most 4."""
    parser.add_argument("--threads", type=int, default=0, metavar="N",
                        help="CPU threads (default 0: half the usable cores, at most 4; see dsr_ros/threads.py)")


def add_self_ensemble_argument(parser: argparse.ArgumentParser) -> None:
    """--self-ensemble, the node's `self_ensemble` parameter: mirrored copies averaged per frame."""
    from dsr_ros.self_ensemble import SELF_ENSEMBLES

    parser.add_argument("--self-ensemble", type=int, default=1, choices=SELF_ENSEMBLES, metavar="N",
                        help="average the network over N mirrored copies of each frame (1 off, 2 left-right, "
                             "4 also up-down): lower RMSE at edges, not under decimated input; N or more times "
                             "the inference (default 1)")


def add_input_kind_argument(parser: argparse.ArgumentParser) -> None:
    """--input-kind, the node's `input_kind` parameter: how the LR depth was made, for a model trained to be told."""
    from dsr_ros.ros.params import INPUT_KINDS, SPECS

    parser.add_argument("--input-kind", default="unknown", choices=INPUT_KINDS, metavar="KIND",
                        help=f"{SPECS['input_kind'].description} (default unknown; one of {', '.join(INPUT_KINDS)})")


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    """--device, --backend and --threads for commands that run an Upsampler."""
    add_device_argument(parser)
    parser.add_argument("--backend", default="auto", choices=BACKENDS, help="inference back end")
    add_threads_argument(parser)


def apply_threads_argument(args: argparse.Namespace) -> int:
    """Apply --threads to torch and OpenCV (a CliError for a negative count); returns the count used."""
    from dsr_ros.threads import apply_threads

    try:
        return apply_threads(args.threads)
    except ValueError as exc:
        raise CliError(f"--threads: {exc}") from None


def upsampler_from_args(args: argparse.Namespace):
    """The Upsampler the arguments name: --model PATH, else the shipped model for --scale (default 4)."""
    from dsr_ros.engine import EngineUnavailable
    from dsr_ros.upsampler import Upsampler

    apply_threads_argument(args)
    try:
        if args.model:
            return Upsampler.from_file(args.model, device=args.device, backend=args.backend, expected_scale=args.scale,
                                       self_ensemble=args.self_ensemble)
        return Upsampler.from_pretrained(scale=args.scale or 4, device=args.device, variant=args.variant,
                                         backend=args.backend, self_ensemble=args.self_ensemble)
    except (WeightsError, EngineUnavailable, ValueError) as exc:
        raise CliError(str(exc)) from None


def told_upsampler_from_args(args: argparse.Namespace):
    """upsampler_from_args, told --input-kind (a CliError when the model's card does not list that kind)."""
    upsampler = upsampler_from_args(args)
    try:
        upsampler.input_kind = args.input_kind
    except ValueError as exc:
        raise CliError(f"--input-kind: {exc}") from None
    return upsampler


def model_scale(args: argparse.Namespace) -> int:
    """--scale, else the scale of --model's card, else 4 (the shipped default)."""
    if args.scale is not None:
        return args.scale
    if args.model and not getattr(args, "untrained", False):
        try:
            return read_card(args.model).scale
        except WeightsError as exc:
            raise CliError(str(exc)) from None
    return 4


def model_from_args(args: argparse.Namespace) -> tuple[FeatureNet, str]:
    """The DSRNet the arguments name, and a one-line description of where its weights came from."""
    scale = model_scale(args)
    if args.untrained:
        if args.model:
            raise CliError("--untrained and --model exclude each other")
        return build_dsrnet(DSRNetConfig.from_variant(args.variant, scale)).eval(), f"untrained {args.variant}"
    try:
        path = args.model or shipped_model_path(scale, args.variant)
        model, _card = load_model(path, expected_scale=scale)
    except WeightsError as exc:
        raise CliError(f"{exc} (pass --model PATH, or --untrained for a same-shape untrained net)") from None
    return model, str(path)
