"""compressedDepth over real DDS, and the package built with `colcon build --symlink-install` as docs/robots.md says."""
from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest
from compressed_depth_writer import compressed_depth_payload
from live_helpers import colcon_build

from dsr_ros.ros.live_peer import LivePeer, compressed_image, ros_header
from dsr_ros.ros.pairing import stamp_ns

NS = "/compressed"


@pytest.fixture(scope="module")
def symlink_workspace(tmp_path_factory):
    return colcon_build(tmp_path_factory.mktemp("colcon_symlink_ws"), symlink=True)


def test_symlink_install_runs_the_checkout_itself(symlink_workspace):
    models = symlink_workspace.install / "dsr_ros" / "share" / "dsr_ros" / "models"
    assert all(p.is_symlink() for p in models.glob("*.safetensors")) and any(models.glob("*.safetensors"))
    dsr = symlink_workspace.install / "dsr_ros" / "lib" / "dsr_ros" / "dsr"
    shown = subprocess.run([str(dsr), "--help"], env=symlink_workspace.env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "upsample" in shown.stdout, shown.stderr


@pytest.fixture(scope="module")
def compressed_peer(symlink_workspace):
    process = symlink_workspace.start(NS, scale=2, input_transport="compressedDepth", warn_period=0.2)
    process.wait_ready()
    peer = LivePeer(NS, compressed=True, name="dsr_live_compressed")
    flat = compressed_depth_payload(np.full((12, 16), 1500, np.uint16))
    peer.wait_for_node(probe=lambda header: compressed_image(*flat, header))
    yield peer, process
    peer.close()
    assert process.stop() == 0, process.output()


CASES = [("16UC1", "png"), ("16UC1", "rvl"), ("32FC1", "png"), ("32FC1", "rvl")]


@pytest.mark.parametrize("encoding, codec", CASES)
def test_compressed_depth_in_upsampled_out(compressed_peer, encoding, codec):
    peer, _ = compressed_peer
    yy, xx = np.mgrid[0:30, 0:40]
    mm = (1200 + 15 * xx + 8 * yy).astype(np.uint16)
    mm[5:8, 5:8] = 0
    depth = mm.astype(np.float32) / 1000.0 if encoding == "32FC1" else mm
    fmt, data = compressed_depth_payload(depth, encoding, codec)
    header = ros_header(1_750_000_000_000_000_000 + CASES.index((encoding, codec)) * 1_000_000_000)
    peer.publish(compressed_image(fmt, data, header))
    stamp = stamp_ns(header.stamp)
    out = peer.wait_for(peer.images, where=lambda m: stamp_ns(m.header.stamp) == stamp, timeout_s=20.0)[0]
    assert (out.width, out.height, out.encoding) == (80, 60, encoding)
    dtype = np.dtype("<f4") if encoding == "32FC1" else np.dtype("<u2")
    metres = np.frombuffer(bytes(out.data), dtype).reshape(60, 80).astype(np.float64)
    metres = metres if encoding == "32FC1" else metres / 1000.0
    assert np.all((metres[11:15, 11:15] == 0) | np.isnan(metres[11:15, 11:15]))
    assert np.nanmax(np.abs(metres[30:, 40:] - np.repeat(np.repeat(mm[15:, 20:], 2, 0), 2, 1) / 1000.0)) < 0.05


def test_undecodable_compressed_frame_is_skipped_with_its_reason(compressed_peer):
    peer, process = compressed_peer
    peer.publish(compressed_image("16UC1; compressedDepth jpeg", b"\0" * 40, ros_header(1_760_000_000_000_000_000)))
    deadline = time.monotonic() + 10.0
    while "unsupported compressedDepth format" not in process.output():
        assert time.monotonic() < deadline, process.output()
        time.sleep(0.05)
