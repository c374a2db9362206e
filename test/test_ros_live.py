"""The colcon-installed `upsample_node` as a real process, driven over Fast DDS on loopback by real rclpy peers."""
from __future__ import annotations

import signal
import time

import numpy as np
import pytest
from live_helpers import colcon_build

from dsr_ros.ros.live_peer import LivePeer, camera_info, depth_image, ros_header
from dsr_ros.ros.pairing import stamp_ns

NS = "/live"
W, H = 40, 30  # input frames; the shipped ×2 model makes them 80x60


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return colcon_build(tmp_path_factory.mktemp("colcon_ws"), symlink=False)


@pytest.fixture(scope="module")
def node(workspace):
    process = workspace.start(NS, scale=2, diagnostics_period=0.2, warn_period=0.5, camera_info_tolerance=0.005,
                              not_a_parameter=3)
    process.wait_ready()
    yield process
    assert process.stop(signal.SIGINT) == 0, process.output()


@pytest.fixture(scope="module")
def peer(node):
    live = LivePeer(NS)
    live.wait_for_node()
    yield live
    live.close()


_stamps = iter(range(1_700_000_000, 1_800_000_000, 7))


def next_header():
    """A header with a stamp not used before in this module (seconds apart, so tolerances never blur them)."""
    return ros_header(next(_stamps) * 1_000_000_000 + 123)


def scene(encoding: str = "16UC1") -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    mm = (1500 + 20 * xx + 5 * yy).astype(np.float64)
    mm[10:14, 12:16] = 0.0  # a 4x4 hole in the sensor data
    return (mm / 1000.0).astype(np.float32) if encoding == "32FC1" else mm.astype(np.uint16)


def send(peer: LivePeer, depth=None, encoding="16UC1", info=True, info_offset_ns=0, info_size=(W, H)):
    """Publish a frame (and its CameraInfo, stamped `info_offset_ns` away) and return its stamp in nanoseconds."""
    depth = scene(encoding) if depth is None else depth
    header = next_header()
    cam = camera_info(*info_size, ros_header(stamp_ns(header.stamp) + info_offset_ns)) if info else None
    peer.publish(depth_image(depth, encoding, header), cam)
    return stamp_ns(header.stamp)


def output_for(peer: LivePeer, stamp: int, timeout_s: float = 20.0):
    return peer.wait_for(peer.images, where=lambda m: stamp_ns(m.header.stamp) == stamp, timeout_s=timeout_s)[0]


@pytest.mark.parametrize("encoding", ["16UC1", "mono16", "32FC1"])
def test_encodings_over_the_wire(peer, encoding):
    stamp = send(peer, encoding=encoding)
    out = output_for(peer, stamp)
    assert (out.width, out.height, out.encoding, out.header.frame_id) == (2 * W, 2 * H, encoding,
                                                                          "camera_depth_optical_frame")
    dtype = np.dtype("<f4") if encoding == "32FC1" else np.dtype("<u2")
    pixels = np.frombuffer(bytes(out.data), dtype).reshape(2 * H, 2 * W).astype(np.float64)
    metres = pixels if encoding == "32FC1" else pixels / 1000.0
    hole = metres[22:26, 26:30]  # the 4x4 input hole, upsampled, stays invalid
    assert np.all((hole == 0) | np.isnan(hole))
    valid = metres[:8, :]
    assert np.all((valid > 1.4) & (valid < 2.5)), "units changed on the way"
    info = peer.wait_for(peer.infos, where=lambda m: stamp_ns(m.header.stamp) == stamp)[0]
    assert (info.width, info.height) == (2 * W, 2 * H)
    assert info.k[0] == pytest.approx(200.0) and info.k[2] == pytest.approx((W - 1) / 2 * 2 + 0.5)


def test_reliable_publisher_also_connects(node):
    reliable = LivePeer(NS, pub_reliability="reliable", name="dsr_live_reliable")
    try:
        reliable.wait_for_node()
        stamp = send(reliable)
        assert output_for(reliable, stamp).width == 2 * W
    finally:
        reliable.close()


def test_malformed_frames_are_counted_and_the_node_keeps_serving(peer):
    good = depth_image(scene(), "16UC1", next_header())
    wrong_encoding = depth_image(scene(), "16UC1", next_header())
    wrong_encoding.encoding = "rgb8"
    short = depth_image(scene(), "16UC1", next_header())
    short.data = bytes(short.data)[:-10]
    absurd = depth_image(scene(), "16UC1", next_header())
    absurd.height = 1_000_000
    for msg in (wrong_encoding, short, absurd):
        peer.publish(msg)
        time.sleep(0.15)  # one at a time: the newest-frame worker would otherwise drop some unseen
    peer.publish(good)
    output_for(peer, stamp_ns(good.header.stamp))

    def counted(status):
        return all(int(status.get(f"skipped_{r}", 0)) >= 1 for r in ("encoding", "data_length", "size"))
    status = _wait_status(peer, counted)
    for key in ("frame_rate_hz", "frames_dropped", "frames_received", "total_p50_ms", "total_p99_ms",
                "infer_p50_ms", "infer_p99_ms", "frames_without_camera_info"):
        assert key in status, key


def _wait_status(peer: LivePeer, condition, timeout_s: float = 10.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = peer.node_status(f"{NS}/upsample_node")
        if status is not None and condition(status):
            return status
        time.sleep(0.1)
    raise AssertionError(f"diagnostics never satisfied the condition: {peer.node_status(f'{NS}/upsample_node')}")


def test_camera_info_pairing_delayed_mismatched_and_other_size(peer, node):
    # delayed: the image goes first, its CameraInfo (same stamp) 20 ms later; the node waits for it
    header = next_header()
    peer.publish(depth_image(scene(), "16UC1", header))
    time.sleep(0.02)
    peer.pub_info.publish(camera_info(W, H, header))
    stamp = stamp_ns(header.stamp)
    assert peer.wait_for(peer.infos, where=lambda m: stamp_ns(m.header.stamp) == stamp)
    # mismatched: a CameraInfo 1 s older is stale, so the depth goes out without camera_info
    before = len(peer.infos.snapshot())
    stale = send(peer, info_offset_ns=-1_000_000_000)
    output_for(peer, stale)
    time.sleep(0.3)
    assert not [m for m in peer.infos.snapshot()[before:] if stamp_ns(m.header.stamp) == stale]
    # another resolution: depth still published, CameraInfo withheld, and the log says why
    other = send(peer, info_size=(640, 480))
    output_for(peer, other)
    time.sleep(0.3)
    assert not [m for m in peer.infos.snapshot() if stamp_ns(m.header.stamp) == other]
    _wait_log(node, "640x480")


def _wait_log(node, text: str, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while text not in node.output():
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{node.output()}"
        time.sleep(0.05)
    return node.output()


def test_without_any_camera_info_depth_flows_and_one_warning_says_what_to_remap(workspace):
    process = workspace.start("/noinfo", scale=2, warn_period=60.0)
    process.wait_ready()
    live = LivePeer("/noinfo", name="dsr_live_noinfo")
    try:
        live.wait_for_node()
        stamps = []
        for _ in range(14):
            stamps.append(send(live, info=False))
            time.sleep(0.06)
        output_for(live, stamps[-1])
        assert not live.infos.snapshot()
        log = _wait_log(process, "remap depth/camera_info")
        assert log.count("no CameraInfo") == 1  # rate-limited
    finally:
        live.close()
        assert process.stop() == 0


def test_undeclared_parameter_is_warned_about(node):
    assert "parameter 'not_a_parameter' is set but upsample_node has no such parameter" in node.output()


def test_dynamic_parameter_changes_and_read_only_is_refused(peer):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    client = peer.node.create_client(SetParameters, f"{NS}/upsample_node/set_parameters")
    assert client.wait_for_service(timeout_sec=10.0)

    def set_param(name, value: ParameterValue):
        future = client.call_async(SetParameters.Request(parameters=[Parameter(name=name, value=value)]))
        deadline = time.monotonic() + 10.0
        while not future.done():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return future.result().results[0]

    on = set_param("publish_points", ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=True))
    assert on.successful, on.reason
    stamp = send(peer)
    cloud = peer.wait_for(peer.points, where=lambda m: stamp_ns(m.header.stamp) == stamp)[0]
    assert (cloud.width, cloud.height) == (2 * W, 2 * H)
    off = set_param("publish_points", ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=False))
    assert off.successful
    refused = set_param("scale", ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=8))
    assert not refused.successful and "scale" in refused.reason
    bad = set_param("output_encoding", ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="rgb8"))
    assert not bad.successful and "output_encoding" in bad.reason


def served_once(workspace, namespace: str, depth: np.ndarray, **params) -> np.ndarray:
    """Start a ×2 node with `params`, send it one 16UC1 frame, return what it publishes (mm, int); it must exit 0."""
    process = workspace.start(namespace, **params)
    process.wait_ready()
    live = LivePeer(namespace)
    try:
        live.wait_for_node()
        out = output_for(live, send(live, depth))
        return np.frombuffer(bytes(out.data), np.dtype("<u2")).reshape(2 * H, 2 * W).astype(int)
    finally:
        live.close()
        assert process.stop(signal.SIGINT) == 0, process.output()


def test_self_ensemble_parameter_serves_the_upsamplers_mirrored_average(workspace):
    from dsr_ros.upsampler import Upsampler

    depth = scene()
    depth[20:26, 5:12] = 900  # a near box: edges where the mirrored copies disagree
    expected = Upsampler.from_pretrained(2, backend="torch", self_ensemble=2).upsample(depth).astype(int)
    alone = Upsampler.from_pretrained(2, backend="torch").upsample(depth).astype(int)
    assert np.abs(expected - alone).max() > 100 and (np.abs(expected - alone) > 5).sum() > 100
    served = served_once(workspace, "/ensemble", depth, scale=2, backend="torch", self_ensemble=2)
    assert np.abs(served - expected).max() <= 1  # thread counts may round a millimetre differently


def test_input_kind_parameter_tells_the_model_how_its_input_was_made(workspace, tmp_path):
    import torch

    from dsr_ros.net import DSRNet, DSRNetConfig
    from dsr_ros.upsampler import Upsampler
    from dsr_ros.weights import card_for, save_model

    torch.manual_seed(0)
    net = DSRNet(DSRNetConfig(scale=2, features=4, shallow=4, units=1, input_kinds=("stereo", "tof")))
    with torch.no_grad():
        net.kind.table.weight.normal_(0.0, 0.5)  # told "tof", the output moves
    path = save_model(tmp_path / "kinds.safetensors", net, card_for(net))
    depth = scene()
    expected = Upsampler.from_file(path, backend="torch", input_kind="tof").upsample(depth).astype(int)
    untold = Upsampler.from_file(path, backend="torch").upsample(depth).astype(int)
    assert np.abs(expected - untold).max() > 20
    served = served_once(workspace, "/told", depth, model=str(path), backend="torch", input_kind="tof")
    assert np.abs(served - expected).max() <= 1


def test_told_its_input_kind_the_node_serves_the_shipped_specialist(workspace):
    from dsr_ros.train.degrade import degrade
    from dsr_ros.train.scenes3d import scene3d_for_seed
    from dsr_ros.upsampler import Upsampler
    from dsr_ros.weights import shipped_model_path, shipped_specialists

    specialist = shipped_specialists(2)["bicubic_aliased"]
    lr = degrade(scene3d_for_seed(1_000_053, 2 * H, 2 * W).depth, 2, "bicubic_aliased")  # a view with depth edges
    depth = np.nan_to_num(lr * 1000).astype(np.uint16)
    expected = Upsampler.from_file(specialist, backend="torch").upsample(depth).astype(int)
    general = Upsampler.from_file(shipped_model_path(2), backend="torch", input_kind="bicubic_aliased")
    assert np.abs(expected - general.upsample(depth).astype(int)).max() > 20  # the two networks tell apart here
    served = served_once(workspace, "/special", depth, scale=2, backend="torch", input_kind="bicubic_aliased")
    assert np.abs(served - expected).max() <= 1


@pytest.mark.parametrize("params, name", [
    ({"scale": 3}, "scale"),
    ({"backend": "nope"}, "backend"),
    ({"self_ensemble": 3}, "self_ensemble"),
    ({"input_kind": "sonar"}, "input_kind"),
    ({"model": "__NOT_WEIGHTS__"}, "model"),
])
def test_bad_configuration_exits_2_with_one_line_naming_the_parameter(workspace, tmp_path, params, name):
    if params.get("model") == "__NOT_WEIGHTS__":
        fake = tmp_path / "weights.safetensors"
        fake.write_bytes(b"this is not a weight file" * 10)
        params = {"model": str(fake)}
    process = workspace.start("/bad", **params)
    status = process.wait(120.0)
    output = process.output()
    assert status == 2, output
    fatal = [line for line in output.splitlines() if "FATAL" in line]
    assert len(fatal) == 1 and f"'{name}'" in fatal[0], output
    assert "Traceback" not in output


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("size", [(480, 640), (960, 1280)])
def test_signal_while_a_frame_is_being_processed_exits_0_cleanly(workspace, sig, size):
    """×2 to 1280x960 is mid-frame at the signal; to 2560x1920 it also outlives the node's 2 s join
    (the frame is abandoned: exit without finalising torch under it, never SIGABRT)."""
    process = workspace.start("/sig", scale=2)
    process.wait_ready()
    live = LivePeer("/sig", name="dsr_live_signal")
    try:
        live.wait_for_node()
        big = np.full(size, 2000, np.uint16)
        big[: size[0] // 2] = 1500  # an edge, so the frame is not constant
        send(live, depth=big, info=False)
        time.sleep(0.3)
        start = time.monotonic()
        status = process.stop(sig, timeout_s=15.0)
        assert status == 0, process.output()
        assert time.monotonic() - start < 10.0, process.output()
        assert "Traceback" not in process.output()
    finally:
        live.close()
