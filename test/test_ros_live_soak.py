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


def test_memory_growth_sees_a_leak_through_allocator_swings():
    from dsr_ros.profiling.live import SoakSample

    def samples(leak_per_sample: float) -> list[SoakSample]:
        swing = [0.0, 30.0, 5.0, 25.0, 10.0]  # RSS swings by tens of MiB without growing
        return [SoakSample(elapsed_s=i, rss_mib=300 + swing[i % 5] + leak_per_sample * i, received=i, alive=True)
                for i in range(100)]

    assert abs(memory_growth_mib(samples(0.0))) < 5.0
    assert memory_growth_mib(samples(1.0)) > 50.0  # 1 MiB a sample: ~64 MiB between the two windows
