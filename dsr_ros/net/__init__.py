"""Networks (pure torch, no I/O): DSRNet, and the training-time teachers."""
from dsr_ros.net.cascade import CascadeDSRNet, build_dsrnet
from dsr_ros.net.denet import DENet, DENetConfig
from dsr_ros.net.dsrnet import VARIANTS, DSRNet, DSRNetConfig, DSRNetOutput
from dsr_ros.net.spnet import SPNet

__all__ = ["VARIANTS", "CascadeDSRNet", "DENet", "DENetConfig", "DSRNet", "DSRNetConfig", "DSRNetOutput", "SPNet", "build_dsrnet"]
