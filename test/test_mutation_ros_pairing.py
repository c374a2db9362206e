"""dsr_ros.ros.pairing for `make mutation`: stamp arithmetic, tolerance boundaries, eviction order, waiting."""
import threading
import time
from types import SimpleNamespace

from dsr_ros.ros.pairing import DEFAULT_TOLERANCE_S, InfoCache, stamp_ns


def test_stamp_ns_combines_seconds_and_nanoseconds():
    assert stamp_ns(SimpleNamespace(sec=3, nanosec=7)) == 3_000_000_007
    assert stamp_ns(SimpleNamespace(sec=0, nanosec=999_999_999)) == 999_999_999


def test_tolerance_is_rounded_to_nanoseconds_and_defaults_to_15_ms():
    assert InfoCache().tolerance_ns == 15_000_000 == round(DEFAULT_TOLERANCE_S * 1e9)
    assert InfoCache().capacity == 16
    assert InfoCache(tolerance_s=1e-9 * 2.6).tolerance_ns == 3
    assert InfoCache(tolerance_s=1.0).tolerance_ns == 1_000_000_000  # whole seconds are exact, not off by one
    assert InfoCache(tolerance_s=2.0).tolerance_ns == 2_000_000_000


def test_nearest_is_matched_up_to_and_including_the_tolerance_on_both_sides():
    cache = InfoCache(tolerance_s=10e-9)
    cache.add(100, "a")
    assert cache.match(110) == "a" and cache.match(90) == "a"
    assert cache.match(111) is None and cache.match(89) is None


def test_nearest_of_two_neighbours_wins_from_either_side():
    cache = InfoCache(tolerance_s=1.0)
    for stamp in (100, 200, 300):
        cache.add(stamp, stamp)
    assert cache.match(140) == 100 and cache.match(160) == 200
    assert cache.match(240) == 200 and cache.match(260) == 300
    assert cache.match(50) == 100 and cache.match(1000) == 300
    assert InfoCache().match(5) is None  # nothing cached yet


def test_eviction_drops_the_oldest_stamp_not_the_oldest_insertion():
    cache = InfoCache(capacity=2, tolerance_s=0.0)
    cache.add(300, "c")
    cache.add(100, "a")
    cache.add(200, "b")  # three items, capacity two: stamp 100 goes although 300 was added first
    assert len(cache) == 2
    assert cache.match(100) is None and cache.match(200) == "b" and cache.match(300) == "c"


def test_same_stamp_replaces_without_growing_and_unbounded_keeps_all():
    cache = InfoCache(capacity=2, tolerance_s=0.0)
    cache.add(1, "old")
    cache.add(1, "new")
    cache.add(2, "two")
    assert len(cache) == 2 and cache.match(1) == "new" and cache.match(2) == "two"
    unbounded = InfoCache(capacity=None)
    for stamp in range(50):
        unbounded.add(stamp, stamp)
    assert len(unbounded) == 50


def test_wait_match_returns_an_info_that_arrives_during_the_wait():
    cache = InfoCache(tolerance_s=0.0)
    cache.add(100, "old")
    timer = threading.Timer(0.05, cache.add, args=(200, "late"))
    timer.start()
    try:
        assert cache.wait_match(200, timeout_s=5.0) == "late"
    finally:
        timer.cancel()


def test_wait_match_gives_up_at_once_when_a_later_info_already_arrived():
    cache = InfoCache(tolerance_s=10e-9)
    cache.add(100, "a")
    cache.add(300, "c")
    start = time.monotonic()
    assert cache.wait_match(200, timeout_s=2.0) is None
    assert time.monotonic() - start < 1.0


def test_wait_match_without_any_info_returns_immediately():
    start = time.monotonic()
    assert InfoCache().wait_match(5, timeout_s=2.0) is None
    assert time.monotonic() - start < 1.0


def test_wait_match_times_out_and_finds_exact_matches_at_once():
    cache = InfoCache(tolerance_s=0.0)
    cache.add(100, "a")
    start = time.monotonic()
    assert cache.wait_match(150, timeout_s=0.2) is None  # earlier info only: the right one may still come
    assert 0.15 <= time.monotonic() - start < 2.0
    assert cache.wait_match(100, timeout_s=0.0) == "a"
