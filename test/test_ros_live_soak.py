"""A short soak of the live node: a minute of frames over DDS, bounded memory growth, no crash (never a timing)."""
from __future__ import annotations

import pytest
from live_helpers import colcon_build

from dsr_ros.profiling.live import FramePlayer, memory_growth_mib, soak
from dsr_ros.ros.live_peer import LivePeer

NS = "/soak"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    workspace = colcon_build(tmp_path_factory.mktemp("colcon_soak_ws"), symlink=False)
    node = workspace.start(NS, scale=2, publish_points=True)
    node.wait_ready()
    peer = LivePeer(NS, name="dsr_soak_peer")
    peer.wait_for_node()
    yield node, peer
    peer.close()
    assert node.stop() == 0, node.output()


def test_one_minute_soak_keeps_memory_bounded_and_the_node_alive(served):
    node, peer = served
    run, samples = soak(peer, node, FramePlayer(30, 40), rate_hz=20.0, duration_s=60.0, sample_every_s=2.0)
    assert all(s.alive for s in samples) and node.process.poll() is None
    assert run.received >= run.sent // 4, run.metrics()  # served throughout (a loaded CI core may drop some)
    assert samples[-1].received > samples[len(samples) // 2].received  # still serving in the second half
    growth = memory_growth_mib(samples)
    assert growth < 25.0, [round(s.rss_mib, 1) for s in samples]
