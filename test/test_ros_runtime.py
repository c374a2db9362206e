"""Node runtime pieces without ROS: newest-frame worker, log throttling, CameraInfo pairing, diagnostics."""
import subprocess
import sys
import threading
import time

from ros_helpers import header, image_msg, scene_mm, tiny_core

from dsr_ros.ros.diagnostics import NodeStats
from dsr_ros.ros.pairing import InfoCache, stamp_ns
from dsr_ros.ros.throttle import Throttle
from dsr_ros.ros.worker import LatestWorker


def test_worker_processes_newest_frame_and_counts_drops():
    started, release, seen = threading.Event(), threading.Event(), []

    def handler(item):
        seen.append(item)
        started.set()
        release.wait(5)

    worker = LatestWorker(handler)
    worker.start()
    assert worker.submit(0)
    assert started.wait(5)  # frame 0 is being processed (slow inference)
    results = [worker.submit(i) for i in range(1, 6)]  # camera keeps publishing
    assert results == [True, False, False, False, False]
    release.set()
    worker.stop()
    assert seen[0] == 0 and worker.dropped == 4
    assert seen[-1] == 5 or len(seen) == 1  # the newest frame wins (unless stop came first)


def test_worker_stop_without_items_returns():
    worker = LatestWorker(lambda item: None)
    worker.start()
    assert worker.stop(timeout=5) is True
    assert not worker._thread.is_alive()


def test_worker_stop_reports_a_frame_that_outlives_the_timeout():
    started, release = threading.Event(), threading.Event()

    def handler(item):
        started.set()
        release.wait(5)

    worker = LatestWorker(handler)
    worker.start()
    worker.submit("slow frame")
    assert started.wait(5)
    assert worker.stop(timeout=0.05) is False  # still inside the frame: the node must not finalise under it
    release.set()
    assert worker.stop(timeout=5) is True


def test_worker_survives_a_failing_frame():
    errors, seen, done = [], [], threading.Event()

    def handler(item):
        if item == "bad":
            raise RuntimeError("publisher gone")
        seen.append(item)
        done.set()

    worker = LatestWorker(handler, on_error=errors.append)
    worker.start()
    worker.submit("bad")
    while worker.handled < 1:
        threading.Event().wait(0.01)
    worker.submit("good")
    assert done.wait(5)
    worker.stop()
    assert seen == ["good"] and str(errors[0]) == "publisher gone"


def test_throttle_one_line_per_key_per_period_counting_held_back():
    now = [0.0]
    throttle = Throttle(5.0, clock=lambda: now[0])
    assert throttle.check("encoding") == 0
    assert throttle.check("encoding") is None
    assert throttle.check("size") == 0  # other reasons are not hidden by this one
    now[0] = 4.9
    assert throttle.check("encoding") is None
    now[0] = 5.1
    assert throttle.check("encoding") == 2


def test_info_cache_exact_then_nearest_within_tolerance_and_bounded():
    cache = InfoCache(capacity=3, tolerance_s=5e-9)
    assert cache.match(5) is None
    for stamp in (10, 20, 30, 40):
        cache.add(stamp, f"info{stamp}")
    assert len(cache) == 3 and cache.match(10) is None  # 10 was evicted and 20 is beyond the tolerance
    assert cache.match(30) == "info30"
    assert cache.match(33) == "info30" and cache.match(36) == "info40" and cache.match(25) in {"info20", "info30"}
    assert cache.match(46) is None and cache.match(99) is None  # stale intrinsics are not re-used
    assert stamp_ns(header(2, 5).stamp) == 2_000_000_005


def test_info_cache_waits_for_an_info_in_flight_but_not_for_one_that_cannot_come():
    cache = InfoCache(tolerance_s=0.0)
    assert cache.wait_match(100, timeout_s=1.0) is None  # nothing ever arrived: no waiting
    cache.add(50, "info50")
    timer = threading.Timer(0.05, cache.add, args=(100, "info100"))
    timer.start()
    start = time.monotonic()
    assert cache.wait_match(100, timeout_s=5.0) == "info100"
    assert time.monotonic() - start < 4.0
    cache.add(300, "info300")
    start = time.monotonic()
    assert cache.wait_match(200, timeout_s=5.0) is None  # a later info arrived: 200's is lost
    assert time.monotonic() - start < 1.0


def test_stats_values_and_levels():
    now = [100.0]
    stats = NodeStats(clock=lambda: now[0])
    assert stats.level()[0] == "WARN"
    core = tiny_core(2)
    for i in range(3):
        stats.on_received()
        stats.on_result(core.process(image_msg(scene_mm(8, 6)), None), publish_ms=0.5, total_ms=3.0)
        now[0] += 0.1
    stats.on_received()
    stats.on_result(core.process(image_msg(scene_mm(8, 6) * 0), None))
    stats.on_dropped()
    values = dict(stats.values())
    assert values["frames_received"] == "4" and values["frames_published"] == "3"
    assert values["frames_dropped"] == "1" and values["skipped_all_invalid"] == "1"
    assert float(values["frame_rate_hz"]) == 10.0
    assert {"infer_p50_ms", "infer_p99_ms", "decode_p99_ms", "encode_p50_ms", "publish_p50_ms", "total_p99_ms"} <= set(values)
    assert stats.level()[0] == "OK"
    now[0] += 10
    assert stats.level() == ("WARN", "no depth frame for 10.0 s")


def test_ros_modules_import_without_rclpy_rosbags_or_torch():
    code = (
        "import sys\n"
        "import dsr_ros.ros.node, dsr_ros.ros.bag, dsr_ros.ros.core, dsr_ros.ros.params, dsr_ros.ros.diagnostics\n"
        "bad = [m for m in ('torch', 'rclpy', 'rosbags', 'sensor_msgs') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "assert callable(dsr_ros.ros.node.main)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
