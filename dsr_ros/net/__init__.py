"""Networks (pure torch, no I/O): DSRNet, and the training-time teachers."""
from dsr_ros.net.dsrnet import VARIANTS, DSRNet, DSRNetConfig, DSRNetOutput

__all__ = ["VARIANTS", "DSRNet", "DSRNetConfig", "DSRNetOutput"]
